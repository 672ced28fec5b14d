import Foundation
import SpyglassAgent
import SpyglassExport
import SpyglassTesting
import Testing

/// The real agent writes Hubble JSON lines for real traffic: every kind of flow appears, every line parses, and
/// rotation with gzip leaves valid backups with nothing split or lost.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct ExportEndToEndTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
        .path

    @Test func flowLogOfRealTrafficRotatesAndCompresses() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-export-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"

        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.40.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.40.3/24")
            let server = try lab.spawn(
                in: web, ["python3", "-c", DemoScripts.httpServer, web.ipv4, "8080"], timeout: .seconds(120))
            defer { _ = server.terminate() }
            let up = try await lab.run(
                inNamespace: web.namespace,
                [
                    "bash", "-c",
                    "for i in $(seq 1 50); do curl -s -o /dev/null http://\(web.ipv4):8080/ok && exit 0; sleep 0.1; done; exit 1"
                ], timeout: .seconds(10))
            try #require(up.succeeded)

            var c = AgentConfig()
            c.interfaces = [client.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.datapath.aggregation = .none
            c.drops.watchedInterfacesOnly = false
            // 1 MiB files and compressed backups: the traffic below rotates at least once.
            c.staticExport = StaticExporterConfig(
                filePath: path, fileMaxSizeMB: 1, fileMaxBackups: 50, fileCompress: true)
            let agent = try Agent(config: c)
            try await agent.start()
            do {
                // 10 keep-alive connections of 40 requests each (bounded).
                let urls = (0..<40).flatMap { i in
                    ["-o", "/dev/null", "http://\(web.ipv4):8080/\(i % 2 == 0 ? "ok" : "missing")"]
                }
                for _ in 0..<10 {
                    _ = try await lab.run(in: client, ["curl", "-s"] + urls, timeout: .seconds(20))
                }
                _ = try await lab.run(in: client, ["ping", "-c", "3", "-i", "0.2", "-W", "1", web.ipv4])
                _ = try await lab.run(
                    in: client,
                    [
                        "python3", "-c",
                        "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(5): s.sendto(b'x',('\(web.ipv4)',7003))"
                    ])
                try await Task.sleep(for: .milliseconds(500))
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()  // flushes and closes the flow log
        }

        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        let backups = names.filter { $0.hasPrefix("events-") && $0.hasSuffix(".log.gz") }
        #expect(names.contains("events.log"))
        #expect(!backups.isEmpty, "1 MiB of flows rotates at least once: \(names)")
        // Backups are valid gzip; read everything back in order: backups by name (UTC timestamps), then the current file.
        var text = ""
        for b in backups {
            let t = Process()
            t.executableURL = URL(fileURLWithPath: "/bin/gzip")
            t.arguments = ["-dc", dir + "/" + b]
            let out = Pipe()
            t.standardOutput = out
            try t.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            t.waitUntilExit()
            #expect(t.terminationStatus == 0, "gzip -d \(b)")
            text += String(decoding: data, as: UTF8.self)
        }
        text += try String(contentsOfFile: path, encoding: .utf8)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)

        var kinds = Set<String>()
        var lines = 0
        for line in text.split(separator: "\n") {
            lines += 1
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let flow = try #require(obj?["flow"] as? [String: Any], "line without flow: \(line.prefix(200))")
            #expect(obj?["node_name"] is String)
            #expect(obj?["time"] is String)
            let type = flow["Type"] as? String ?? ""
            if let l4 = flow["l4"] as? [String: Any] { kinds.formUnion(l4.keys.map { "\(type)/\($0)" }) }
            if let l7 = flow["l7"] as? [String: Any] {
                kinds.formUnion(
                    l7.keys.filter { $0 == "http" || $0 == "dns" }.map { "L7/\($0)/\(l7["type"] as? String ?? "")" })
            }
            if flow["verdict"] as? String == "DROPPED" { kinds.insert("DROPPED") }
        }
        #expect(lines > 500)
        for k in ["L3_L4/TCP", "L3_L4/UDP", "L3_L4/ICMPv4", "L7/http/REQUEST", "L7/http/RESPONSE"] {
            #expect(kinds.contains(k), "\(k) missing from \(kinds)")
        }
    }
}
