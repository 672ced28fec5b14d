import Foundation

/// Minimal reader of Prometheus text exposition for assertions: sample lines → (name, labels, value).
public struct PrometheusText: Sendable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }
    public let samples: [Sample]

    public init(_ text: String) {
        var out: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            var name = ""
            var labels: [String: String] = [:]
            var rest = Substring(line)
            if let brace = rest.firstIndex(of: "{") {
                name = String(rest[..<brace])
                rest = rest[rest.index(after: brace)...]
                // key="value",key="value"}
                while let eq = rest.firstIndex(of: "=") {
                    let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    rest = rest[rest.index(eq, offsetBy: 2)...]
                    var value = ""
                    var escaped = false
                    var idx = rest.startIndex
                    while idx < rest.endIndex {
                        let c = rest[idx]
                        if escaped {
                            value.append(c == "n" ? "\n" : c); escaped = false
                        } else if c == "\\" {
                            escaped = true
                        } else if c == "\"" {
                            break
                        } else {
                            value.append(c)
                        }
                        idx = rest.index(after: idx)
                    }
                    labels[key] = value
                    rest = idx < rest.endIndex ? rest[rest.index(after: idx)...] : ""
                    if rest.hasPrefix("}") { rest = rest.dropFirst(); break }
                }
            } else {
                let parts = rest.split(separator: " ", maxSplits: 1)
                name = String(parts.first ?? "")
                rest = parts.count > 1 ? parts[1] : ""
            }
            let valueText = rest.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
            if let v = Double(valueText) { out.append(Sample(name: name, labels: labels, value: v)) }
        }
        samples = out
    }

    /// Sum of the samples of `name` whose labels include every pair of `matching`.
    public func value(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    public func series(_ name: String) -> [Sample] { samples.filter { $0.name == name } }
}

/// Fetches a URL with curl (tests only). Returns the body, or throws with curl's message.
public func curlGet(_ url: String, headers: [String] = [], timeout: Int = 5) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-sS", "--max-time", "\(timeout)"] + headers.flatMap { ["-H", $0] } + [url]
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw NSError(
            domain: "curl", code: Int(p.terminationStatus),
            userInfo: [NSLocalizedDescriptionKey: String(decoding: errData, as: UTF8.self)])
    }
    return String(decoding: data, as: UTF8.self)
}
