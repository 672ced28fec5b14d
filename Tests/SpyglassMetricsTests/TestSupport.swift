import Foundation
import SpyglassFlow

@testable import SpyglassMetrics

enum TestSupport {
    static let testsDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let goldenDir = testsDir.appendingPathComponent("Golden")
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func engine(
        _ spec: String, _ options: MetricsEngineOptions = MetricsEngineOptions(), flows: [Flow] = Fixtures.all
    )
        throws -> MetricsEngine
    {
        let (config, _) = try MetricsConfig.parse(spec)
        let e = MetricsEngine(config: config, options: options)
        for f in flows { e.process(f) }
        return e
    }

    static func text(_ e: MetricsEngine, _ format: ExpositionFormat) -> String {
        String(decoding: e.render(format), as: UTF8.self)
    }

    /// First differing line, for readable failures.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) {
            let x = i < la.count ? String(la[i]) : "<none>"
            let y = i < lb.count ? String(lb[i]) : "<none>"
            if x != y { return "line \(i + 1):\n  expected: \(x)\n  actual:   \(y)" }
        }
        return "identical"
    }

    /// Runs an external tool; nil when it cannot be started.
    static func run(_ path: String, _ args: [String], stdin: Data) -> (status: Int32, output: String)? {
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let inPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = outPipe
        do { try p.run() } catch { return nil }
        inPipe.fileHandleForWriting.write(stdin)
        try? inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }
}
