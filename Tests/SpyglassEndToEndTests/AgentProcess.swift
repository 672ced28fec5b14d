import Foundation
import SpyglassTesting
import Testing

/// The real `spyglass run` binary in the background, its log in a file; killed on `deinit` if still running.
final class AgentProcess {
    let process = Process()
    let logPath: String

    init(_ args: [String]) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: CommandLineTests.binary),
            "build the binary first: swift build --build-tests")
        logPath =
            FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-agent-\(UUID().uuidString).log")
            .path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["run"] + args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var pid: pid_t { process.processIdentifier }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The metrics port from the start-up log line ("… (port N)"), waiting up to `timeout`; nil if it never came.
    func waitForPort(timeout: TimeInterval = 15) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline && process.isRunning {
            if let range = log.range(of: #"\(port (\d+)\)"#, options: .regularExpression) {
                return Int(log[range].dropFirst("(port ".count).dropLast())
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return nil
    }

    /// Sends `signal` and waits up to `timeout` for the exit; returns the seconds it took, nil if it did not exit.
    func signal(_ signal: Int32, timeout: TimeInterval) -> TimeInterval? {
        let start = Date()
        kill(process.processIdentifier, signal)
        while process.isRunning && Date().timeIntervalSince(start) < timeout { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return Date().timeIntervalSince(start)
    }

    /// Waits up to `timeout` for the process to exit on its own; returns the seconds it took, nil if it did not.
    func waitForExit(timeout: TimeInterval) -> TimeInterval? {
        let start = Date()
        while process.isRunning && Date().timeIntervalSince(start) < timeout { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return Date().timeIntervalSince(start)
    }

    /// Resident memory of the agent in KiB (VmRSS), nil once it has exited.
    var residentKiB: Int? { SpyglassTesting.residentKiB(of: pid) }
}

/// `count` bytes fetched and the seconds it took, for a scrape whose latency matters.
func timedScrape(_ port: Int) throws -> (text: String, seconds: Double) {
    let start = Date()
    let text = try curlGet("http://127.0.0.1:\(port)/metrics")
    return (text, Date().timeIntervalSince(start))
}

/// Every line of a flow log, and whether each one parses as a JSON object.
func flowLogLines(_ path: String) -> [(line: Substring, object: [String: Any]?)] {
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    return text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
        (line, try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}
