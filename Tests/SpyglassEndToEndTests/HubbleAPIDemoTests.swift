import Foundation
import SpyglassTesting
import Testing

/// The "done when" for Hubble's API: `spyglass demo` serves it on a unix socket, and from another process
/// `spyglass observe` shows xwing's policy drops and tiefighter's landing requests, `observe -f` prints live compact
/// lines, and `spyglass status` answers.
@Suite(.serialized, .enabled(if: KernelTestGate.enabled, KernelTestGate.reason))
struct HubbleAPIDemoTests {
    static let binary = CommandLineTests.binary

    static func run(_ args: [String], timeout: TimeInterval = 20) -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-observe-\(UUID().uuidString)"
        ).path
        FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "") }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }

    @Test func demoServesTheAPIAndObserveShowsTheSeedsFlows() throws {
        let port = Int.random(in: 20000...29999)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-apidemo-\(UUID().uuidString.prefix(8))"
        ).path
        let socket = "\(work)/hubble.sock"
        defer { try? FileManager.default.removeItem(atPath: work) }
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: Self.binary)
        demo.arguments = [
            "demo", "--duration", "30s", "--traffic-period", "0.3", "--hubble-metrics-server", "127.0.0.1:\(port)",
            "--work-dir", work, "--hubble-socket-path", socket
        ]
        demo.standardOutput = FileHandle.nullDevice
        demo.standardError = FileHandle.nullDevice
        try demo.run()
        defer { if demo.isRunning { demo.terminate(); demo.waitUntilExit() } }
        let server = "unix://\(socket)"

        // xwing's SYNs, dropped by the policy, as JSON and as compact lines (other drops of xwing's, e.g. ICMP
        // replies to a closed socket, may come first).
        func isPolicySYN(_ d: [String: Any]) -> Bool {
            d["drop_reason_desc"] as? String == "POLICY_DENIED"
                && (d["Summary"] as? String)?.hasPrefix("TCP Flags: SYN") == true
        }
        var drops: [[String: Any]] = []
        let deadline = Date().addingTimeInterval(25)
        while Date() < deadline && !drops.contains(where: isPolicySYN) {
            Thread.sleep(forTimeInterval: 1)
            let r = Self.run([
                "observe", "--server", server, "--pod", "default/xwing", "--verdict", "DROPPED", "--last", "200", "-o",
                "json"
            ])
            drops = r.out.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
        try #require(drops.contains(where: isPolicySYN), "no policy drops of xwing through the API: \(drops)")
        for d in drops {
            #expect(d["verdict"] as? String == "DROPPED")
            let src = (d["source"] as? [String: Any])?["pod_name"] as? String,
                dst = (d["destination"] as? [String: Any])?["pod_name"] as? String
            #expect(src == "xwing" || dst == "xwing")
        }
        let compactDrops = Self.run([
            "observe", "--server", server, "--pod", "default/xwing", "--verdict", "DROPPED", "--last", "200"
        ]).out
        #expect(
            compactDrops.split(separator: "\n").contains {
                $0.contains("default/xwing:") && $0.hasSuffix("Policy denied DROPPED (TCP Flags: SYN)")
            },
            "\(compactDrops)")

        // tiefighter's landing requests, with Hubble's L7 summary.
        var landing = ""
        for _ in 0..<10 where !landing.contains("request-landing") {
            landing =
                Self.run([
                    "observe", "--server", server, "--pod", "default/tiefighter", "--protocol", "http", "--last", "50"
                ]).out
            if !landing.contains("request-landing") { Thread.sleep(forTimeInterval: 1) }
        }
        // The URL's host is what the request's Host header names (the demo's clients call a replica's address).
        #expect(
            landing.split(separator: "\n").contains {
                $0.contains("http-request FORWARDED (HTTP/1.1 POST http://") && $0.hasSuffix("/v1/request-landing)")
            },
            "\(landing)")
        for line in landing.split(separator: "\n") { #expect(line.contains("default/tiefighter"), "\(line)") }

        // observe -f prints live lines (bounded by its timeout), and status answers.
        let live = Self.run(["observe", "--server", server, "-f"], timeout: 3)
        #expect(live.out.split(separator: "\n").count > 3, "\(live.out)")
        let status = Self.run(["status", "--server", server])
        #expect(status.status == 0)
        #expect(status.out.contains("Healthcheck (via \(server)): Ok"), "\(status.out)")
        #expect(status.out.contains("Current/Max Flows:") && status.out.contains("/4,095"), "\(status.out)")

        demo.terminate()
        demo.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: socket), "the socket is removed on exit")
    }
}
