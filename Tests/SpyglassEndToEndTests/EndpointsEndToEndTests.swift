import Foundation
import SpyglassAgent
import SpyglassTesting
import Testing

/// Endpoint enrichment from a static file for real traffic: labels and workloads appear in labelsContext and in
/// `sourceContext=workload|ip`; removing an entry from the file removes its series after the grace period.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct EndpointsEndToEndTests {

    static func file(client: Pod, server: Pod, withServer: Bool) -> String {
        var text = """
            endpoints:
              - addresses: [\(client.ipv4)]
                namespace: default
                pod: tiefighter
                workload: tiefighter
                kind: Deployment
                labels: {org: empire, class: tiefighter}

            """
        if withServer {
            text += """
                  - addresses: [\(server.ipv4)]
                    namespace: default
                    pod: deathstar-6fb5694d4d-4jr2k
                    workload: deathstar
                    kind: Deployment
                    labels: {org: empire, class: deathstar, app.kubernetes.io/name: deathstar}

                """
        }
        return text
    }

    @Test func fileLabelsReachMetricsAndDepartedEntriesLeave() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-ep-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/endpoints.yaml"

        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.50.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.50.3/24")
            try Self.file(client: client, server: server, withServer: true).write(
                toFile: path, atomically: true, encoding: .utf8)

            var c = AgentConfig()
            c.interfaces = [client.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.endpoints.endpointsFile = path
            c.endpoints.fileCheckInterval = .milliseconds(200)
            c.endpoints.departureGrace = .seconds(1)
            c.hubbleMetrics =
                "icmp:sourceContext=workload|ip;destinationContext=workload|ip;labelsContext=source_namespace,source_workload,source_pod,source_app,destination_namespace,destination_workload,destination_app,traffic_direction"
            let agent = try Agent(config: c)
            try await agent.start()
            do {
                let p = try await lab.run(in: client, ["ping", "-c", "2", "-i", "0.2", "-W", "1", server.ipv4])
                #expect(p.succeeded, "\(p)")
                let name = "hubble_icmp_total"
                let request: [String: String] = [
                    "type": "EchoRequest", "source": "default/tiefighter", "destination": "default/deathstar",
                    "source_namespace": "default", "source_workload": "tiefighter", "source_pod": "tiefighter",
                    "destination_namespace": "default", "destination_workload": "deathstar",
                    "destination_app": "deathstar", "traffic_direction": "egress"
                ]
                let m = try scrapeMetrics(agent.serverPort) { $0.value(name, request) >= 1 }
                #expect(m.value(name, request) == 1, "\(m.series(name))")
                #expect(
                    m.value(
                        name, ["type": "EchoReply", "source": "default/deathstar", "destination": "default/tiefighter"])
                        >= 1,
                    "\(m.series(name))")

                // The server's entry leaves the file: after the grace period its series are gone.
                try Self.file(client: client, server: server, withServer: false).write(
                    toFile: path, atomically: true, encoding: .utf8)
                var gone = false
                for _ in 0..<60 where !gone {
                    try await Task.sleep(for: .milliseconds(100))
                    let n = PrometheusText(try curlGet("http://127.0.0.1:\(agent.serverPort)/metrics"))
                    gone = n.series(name).allSatisfy {
                        $0.labels["destination"] != "default/deathstar" && $0.labels["source"] != "default/deathstar"
                    }
                }
                #expect(gone, "series naming the departed endpoint are removed after the grace period")
                // New traffic to the address now falls back to `ip` (the address belongs to nothing known).
                _ = try await lab.run(in: client, ["ping", "-c", "1", "-W", "1", server.ipv4])
                let after = try scrapeMetrics(agent.serverPort) {
                    $0.value(name, ["type": "EchoRequest", "destination": server.ipv4]) >= 1
                }
                #expect(
                    after.value(name, ["type": "EchoRequest", "destination": server.ipv4, "destination_workload": ""])
                        == 1)
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }
}
