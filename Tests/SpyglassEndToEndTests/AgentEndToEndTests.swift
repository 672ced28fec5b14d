import Foundation
import SpyglassAgent
import SpyglassDatapath
import SpyglassTesting
import Testing

/// The agent on a real veth in network namespaces: real TCP (curl against an HTTP server), UDP datagrams and pings;
/// `/metrics` is scraped and compared with exact expected counts. The kernel's own per-namespace SNMP counters
/// give the independent TCP segment counts at aggregation `none`.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct AgentEndToEndTests {
    static let udpDatagrams = 20
    static let pings = 3
    static let httpRequests = 3

    struct Traffic {
        var tcpOut = 0, tcpIn = 0
    }

    /// Client → server traffic: HTTP GETs, UDP datagrams from one socket, pings. Returns the client's TCP segment
    /// counts (kernel SNMP deltas).
    func generateTraffic(_ lab: NetworkLab, client: Pod, server: Pod) throws -> Traffic {
        let before = try lab.snmp(client)
        for _ in 0..<Self.httpRequests {
            let r = try lab.run(
                in: client,
                [
                    "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                    "http://\(server.ipv4):8080/"
                ], timeout: .seconds(10))
            #expect(r.stdout == "200", "curl: \(r)")
        }
        let udp = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(int(sys.argv[2])):
                s.sendto(b"spyglass", (sys.argv[1], 9999))
            """
        let u = try lab.run(
            in: client, ["python3", "-c", udp, server.ipv4, "\(Self.udpDatagrams)"], timeout: .seconds(10))
        #expect(u.succeeded, "udp sender: \(u)")
        let p = try lab.run(
            in: client, ["ping", "-c", "\(Self.pings)", "-i", "0.2", "-W", "1", server.ipv4], timeout: .seconds(10))
        #expect(p.succeeded, "ping: \(p)")
        let after = try lab.snmp(client)
        let d = after.delta(since: before)
        return Traffic(tcpOut: d["Tcp.OutSegs"] ?? -1, tcpIn: d["Tcp.InSegs"] ?? -1)
    }

    func startServers(_ lab: NetworkLab, server: Pod) throws -> [LabProcess] {
        let http = try lab.spawn(
            in: server, ["python3", "-m", "http.server", "8080", "--bind", server.ipv4], timeout: .seconds(120))
        let udp = try lab.spawn(
            in: server, ["python3", "-c", DemoScripts.udpSink, server.ipv4, "9999"], timeout: .seconds(120))
        // Wait until the HTTP server answers (bounded).
        let client = try lab.run(
            inNamespace: server.namespace,
            [
                "bash", "-c",
                "for i in $(seq 1 50); do curl -s -o /dev/null http://\(server.ipv4):8080/ && exit 0; sleep 0.1; done; exit 1"
            ], timeout: .seconds(10))
        #expect(client.succeeded, "HTTP server did not come up: \(client)")
        return [http, udp]
    }

    func agentConfig(_ iface: String, _ level: AggregationLevel) -> AgentConfig {
        var c = AgentConfig()
        c.interfaces = [iface]
        c.metricsServer = "127.0.0.1:0"
        c.datapath.aggregation = level
        c.nodeName = "e2e-node"
        return c
    }

    static func flows(_ proto: String, _ subtype: String) -> [String: String] {
        ["protocol": proto, "type": "Trace", "subtype": subtype, "verdict": "FORWARDED"]
    }

    @Test func exactCountsAtAggregationNone() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.7.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.7.3/24")
            let servers = try startServers(lab, server: server)
            defer { servers.forEach { _ = $0.terminate() } }
            try await withStartedAgent(agentConfig(client.hostInterface, .none)) { agent in

                let t = try generateTraffic(lab, client: client, server: server)
                #expect(t.tcpOut > 0 && t.tcpIn > 0)
                let name = "hubble_flows_processed_total"
                let expected: [([String: String], Int)] = [
                    (Self.flows("UDP", "from-endpoint"), Self.udpDatagrams),
                    (Self.flows("ICMPv4", "from-endpoint"), Self.pings),
                    (Self.flows("ICMPv4", "to-endpoint"), Self.pings),
                    (Self.flows("TCP", "from-endpoint"), t.tcpOut),
                    (Self.flows("TCP", "to-endpoint"), t.tcpIn)
                ]
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { Int(m.value(name, $0.0)) >= $0.1 }
                }
                for (labels, count) in expected {
                    #expect(Int(m.value(name, labels)) == count, "\(labels)")
                }
                // Nothing else was counted: no UDP back, no other protocol (ARP is not IP; IPv6 is off). The one
                // exception is IGMP: the kernel of the other pod sends membership reports on its own after its link
                // comes up, and the bridge floods them; they are real flows (protocol "IGMP") but not our traffic.
                // Drops (type "Drop") come from every namespace of the host and are tested elsewhere.
                let igmp = Int(m.value(name, ["protocol": "IGMP", "type": "Trace"]))
                #expect(
                    Int(m.value(name, ["type": "Trace"])) - igmp == expected.reduce(0) { $0 + $1.1 },
                    "all series: \(m.series(name))")
                #expect(m.value("hubble_lost_events_total") == 0)
                let s = agent.datapathStats
                #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull)
            }
        }
    }

    @Test func reducedCountsAtAggregationMedium() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.8.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.8.3/24")
            let servers = try startServers(lab, server: server)
            defer { servers.forEach { _ = $0.terminate() } }
            try await withStartedAgent(agentConfig(client.hostInterface, .medium)) { agent in

                _ = try generateTraffic(lab, client: client, server: server)
                let name = "hubble_flows_processed_total"
                // Per HTTP connection: client side SYN, ACK, PSH, FIN are each new in that direction (4 events);
                // server side SYN-ACK, PSH, FIN (3). The UDP datagrams share one socket: one event. Ping: one event per
                // direction. Everything happens well inside the 5 s interval.
                let expected: [([String: String], Int)] = [
                    (Self.flows("UDP", "from-endpoint"), 1),
                    (Self.flows("ICMPv4", "from-endpoint"), 1),
                    (Self.flows("ICMPv4", "to-endpoint"), 1),
                    (Self.flows("TCP", "from-endpoint"), 4 * Self.httpRequests),
                    (Self.flows("TCP", "to-endpoint"), 3 * Self.httpRequests)
                ]
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { Int(m.value(name, $0.0)) >= $0.1 }
                }
                for (labels, count) in expected {
                    #expect(Int(m.value(name, labels)) == count, "\(labels)")
                }
                let s = agent.datapathStats
                #expect(s.aggregated > 0)
                #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull)
            }
        }
    }

    @Test func vethsThatAppearWhileRunningAreAttached() async throws {
        try await withLab { lab in
            var config = agentConfig("\(lab.prefix)*", .none)
            config.interfaceRescanMs = 200
            try await withStartedAgent(config) { agent in
                #expect(agent.attachedInterfaces.isEmpty)
                let client = try lab.addPod(name: "client", ipv4: "10.199.11.2/24")
                let server = try lab.addPod(name: "server", ipv4: "10.199.11.3/24")
                var attached = false
                for _ in 0..<50 where !attached {
                    Thread.sleep(forTimeInterval: 0.1)
                    let names = Set(agent.attachedInterfaces.map(\.name))
                    attached = names.contains(client.hostInterface) && names.contains(server.hostInterface)
                }
                #expect(attached, "new veths matching the glob are attached within the rescan interval")
                let r = try lab.run(in: client, ["ping", "-c", "2", "-i", "0.2", "-W", "1", server.ipv4])
                #expect(r.succeeded, "\(r)")
                // Each echo is seen leaving the client (from-endpoint) and entering the server (to-endpoint), and
                // each reply the other way round.
                let m = try scrapeMetrics(agent.serverPort) { $0.value("hubble_icmp_total") >= 8 }
                #expect(m.value("hubble_flows_processed_total", Self.flows("ICMPv4", "from-endpoint")) == 4)
                #expect(m.value("hubble_flows_processed_total", Self.flows("ICMPv4", "to-endpoint")) == 4)
            }
        }
    }
}
