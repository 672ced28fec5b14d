import Foundation
import Logging
import SpyglassFlow
import Testing

@testable import SpyglassExport

enum TestDir {
    /// A fresh directory under the temporary directory.
    static func make(_ name: String) -> String {
        let p = NSTemporaryDirectory() + "spyglass-export-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

enum Shell {
    @discardableResult
    static func run(_ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

extension ExporterSpec {
    static func test(
        path: String, maxBytes: Int? = nil, maxBackups: Int = 5, compress: Bool = false, allow: String = "",
        deny: String = "",
        mask: [String] = [], queue: Int = 100_000
    ) throws -> ExporterSpec {
        let m = try FieldMask(paths: mask)
        return ExporterSpec(
            label: "static", filePath: path, maxSizeMB: 10, maxSizeBytes: maxBytes, maxBackups: maxBackups,
            compress: compress,
            filters: try FlowFilterSet(allow: FlowFilter.parseList(allow), deny: FlowFilter.parseList(deny)),
            mask: m.isEmpty ? nil : m, aggregate: nil, aggregationInterval: .zero, end: nil, fileMode: 0o600,
            queueCapacity: queue)
    }
}

/// Polls `condition` every 10 ms for up to `seconds`.
func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

let testLogger = Logger(label: "spyglass.export.tests")

/// The lines of a flow log and its backups, oldest first (backups by the time in their name, then the file).
func readAllLines(path: String) -> (lines: [String], files: [String]) {
    let names = BackupName(path: path)
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: names.directory)) ?? []
    let backups = entries.compactMap { e -> (String, String)? in
        guard let (ts, _) = names.timestampPart(of: e) else { return nil }
        return (ts, e)
    }.sorted { $0.0 < $1.0 }.map(\.1)
    var lines: [String] = []
    var files: [String] = []
    for b in backups + [URL(fileURLWithPath: path).lastPathComponent] {
        let full = names.directory + "/" + b
        guard FileManager.default.fileExists(atPath: full) else { continue }
        files.append(b)
        let text: String
        if b.hasSuffix(".gz") {
            text = Shell.run(["gzip", "-dc", full]).output
        } else {
            text = (try? String(contentsOfFile: full, encoding: .utf8)) ?? ""
        }
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(b) ends in the middle of a line")
        lines += text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
    return (lines, files)
}

/// A flow whose `uuid` numbers it, to check order and completeness.
func numbered(_ i: Int, base: Flow = Fx.tcp) -> Flow {
    var f = base
    f.uuid = "seq-\(i)"
    return f
}

func sequenceNumbers(_ lines: [String]) -> [Int] {
    lines.compactMap { line in
        guard let r = line.range(of: #""uuid":"seq-"#) else { return nil }
        return Int(line[r.upperBound...].prefix { $0.isNumber })
    }
}
