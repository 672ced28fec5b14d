import FuzzSupport
import SpyglassFlow
import SpyglassMetrics

/// Exposition of hostile label values: pod names, namespaces and DNS names become label values of the `flow` family
/// (`sourceContext=pod`, `destinationContext=dns`), rendered as Prometheus text and as OpenMetrics.
///
/// Invariants: every rendered line follows the exposition grammar (metric name, `{name="value",…}` with only `\\`,
/// `\"` and `\n` escapes, a number), OpenMetrics ends with `# EOF`, and the unescaped label values are the strings
/// that went in.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzExpositionLabels(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var parts = Array(UnsafeBufferPointer(start: data, count: size)).split(
        separator: 0, omittingEmptySubsequences: false
    )
    .map { String(decoding: $0, as: UTF8.self) }
    func next() -> String { parts.isEmpty ? "x" : parts.removeFirst() }
    let namespace = next(), pod = next(), name = next()
    let (config, _) = try! MetricsConfig.parse("flow:sourceContext=pod;destinationContext=dns")
    let engine = MetricsEngine(config: config)
    var flow = Flow(verdict: .forwarded, source: Endpoint(namespace: namespace, podName: pod), type: .l3L4)
    flow.destinationNames = [name]
    engine.process(flow)
    for format in [ExpositionFormat.prometheusText, .openMetrics] {
        let text = String(decoding: engine.render(format), as: UTF8.self)
        let samples: [ExpositionLine.Sample]
        do { samples = try ExpositionLine.parse(text, openMetrics: format == .openMetrics) } catch {
            invariantFailed("\(format): \(error)")
        }
        let flows = samples.filter { $0.name.hasPrefix("hubble_flows_processed_total") }
        guard let s = flows.first else {
            invariantFailed("\(format): no hubble_flows_processed_total sample in \(text.debugDescription)")
        }
        if !pod.isEmpty && !namespace.isEmpty, s.labels["source"] != "\(namespace)/\(pod)" {
            invariantFailed(
                "\(format): source \(String(describing: s.labels["source"])) != \("\(namespace)/\(pod)".debugDescription)"
            )
        }
        if !name.isEmpty, s.labels["destination"] != name {
            invariantFailed(
                "\(format): destination \(String(describing: s.labels["destination"])) != \(name.debugDescription)")
        }
    }
    return 0
}

/// A strict reader of the exposition formats' sample lines (Prometheus text 0.0.4 and OpenMetrics 1.0).
enum ExpositionLine {
    struct Sample {
        var name: String
        var labels: [String: String]
    }
    struct Bad: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ text: String, openMetrics: Bool) throws -> [Sample] {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Bad(description: "no final newline") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        if openMetrics {
            guard lines.last == "# EOF" else { throw Bad(description: "OpenMetrics without # EOF") }
            lines = lines.dropLast()
        }
        var out: [Sample] = []
        for line in lines {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") || line.hasPrefix("# UNIT ") { continue }
            guard !line.hasPrefix("#") else { throw Bad(description: "comment line \(line.debugDescription)") }
            out.append(try sample(Array(line.utf8)))
        }
        return out
    }

    static func isNameByte(_ c: UInt8, first: Bool) -> Bool {
        (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f || c == 0x3a
            || (!first && c >= 0x30 && c <= 0x39)
    }

    static func sample(_ b: [UInt8]) throws -> Sample {
        var i = 0
        func fail(_ why: String) -> Bad {
            Bad(description: "\(why) at \(i) in \(String(decoding: b, as: UTF8.self).debugDescription)")
        }
        while i < b.count && isNameByte(b[i], first: i == 0) { i += 1 }
        guard i > 0 else { throw fail("no metric name") }
        let name = String(decoding: b[..<i], as: UTF8.self)
        var labels: [String: String] = [:]
        if i < b.count && b[i] == UInt8(ascii: "{") {
            i += 1
            while i < b.count && b[i] != UInt8(ascii: "}") {
                let start = i
                while i < b.count && isNameByte(b[i], first: i == start) && b[i] != 0x3a { i += 1 }
                guard i > start, i + 1 < b.count, b[i] == UInt8(ascii: "="), b[i + 1] == UInt8(ascii: "\"") else {
                    throw fail("bad label name")
                }
                let key = String(decoding: b[start..<i], as: UTF8.self)
                i += 2
                var value: [UInt8] = []
                while true {
                    guard i < b.count else { throw fail("unterminated label value") }
                    let c = b[i]
                    if c == UInt8(ascii: "\"") { break }
                    if c == 0x0a { throw fail("raw newline in label value") }
                    if c == UInt8(ascii: "\\") {
                        guard i + 1 < b.count else { throw fail("dangling escape") }
                        switch b[i + 1] {
                        case UInt8(ascii: "\\"): value.append(0x5c)
                        case UInt8(ascii: "\""): value.append(0x22)
                        case UInt8(ascii: "n"): value.append(0x0a)
                        default: throw fail("bad escape")
                        }
                        i += 2
                        continue
                    }
                    value.append(c)
                    i += 1
                }
                i += 1
                guard labels.updateValue(String(decoding: value, as: UTF8.self), forKey: key) == nil else {
                    throw fail("duplicate label \(key)")
                }
                if i < b.count && b[i] == UInt8(ascii: ",") { i += 1 }
            }
            guard i < b.count else { throw fail("unterminated label set") }
            i += 1
        }
        guard i < b.count, b[i] == 0x20 else { throw fail("no space before the value") }
        i += 1
        let rest = String(decoding: b[i...], as: UTF8.self)
        let value = rest.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
        guard Double(value) != nil || ["NaN", "+Inf", "-Inf"].contains(value) else {
            throw fail("bad value \(value.debugDescription)")
        }
        return Sample(name: name, labels: labels)
    }
}

@_cdecl("FuzzExpositionLabels_main")
public func FuzzExpositionLabelsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt
{
    runFuzzer(argc, argv) { data, size in fuzzExpositionLabels(data ?? emptyInput, size) }
}
