import Foundation
import SpyglassAgent
import SpyglassDatapath
import SpyglassTesting
import Testing

/// Drops with the kernel's own reasons (skb:kfree_skb), produced for real in namespaces and asserted exactly by
/// reason and count. The drop metric carries source and destination IPs (labelsContext) so that drops elsewhere on
/// the host cannot blur the counts.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct DropEndToEndTests {
    static let script: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Scripts/packets.py").path
    static let metrics = "drop:labelsContext=source_ip,destination_ip flow icmp"

    func withAgent<T>(_ lab: NetworkLab, _ iface: String, rate: UInt32 = 1000, _ body: (Agent) throws -> T) async throws
        -> T
    {
        var c = AgentConfig()
        c.interfaces = [iface]
        c.metricsServer = "127.0.0.1:0"
        c.hubbleMetrics = Self.metrics
        c.drops.ratePerReason = rate
        return try await withStartedAgent(c, body)
    }

    func drops(_ m: PrometheusText, _ reason: String, _ proto: String, from: Pod, to: Pod) -> Int {
        Int(
            m.value(
                "hubble_drop_total",
                ["reason": reason, "protocol": proto, "source_ip": from.ipv4, "destination_ip": to.ipv4]))
    }

    func craft(_ lab: NetworkLab, _ pod: Pod, _ kind: String, to: Pod, port: Int, count: Int) throws {
        let r = try lab.run(
            in: pod, ["python3", Self.script, kind, pod.ipv4, to.ipv4, "\(port)", "\(count)"], timeout: .seconds(60))
        #expect(r.succeeded, "\(r)")
    }

    @Test func closedPortsChecksumsAndPolicyDropsHaveTheirReasons() async throws {
        try await withLab { lab in
            let xwing = try lab.addPod(name: "xwing", ipv4: "10.199.20.2/24")
            let deathstar = try lab.addPod(name: "deathstar", ipv4: "10.199.20.3/24")
            // The demo's policy: xwing may not reach deathstar:80 (an nftables drop rule in deathstar).
            let rules = """
                table inet spyglass_test {
                  chain input {
                    type filter hook input priority 0; policy accept;
                    ip saddr \(xwing.ipv4) tcp dport 80 drop
                  }
                }
                """
            try lab.nft(in: deathstar, rules)

            try await withAgent(lab, xwing.hostInterface) { agent in
                try craft(lab, xwing, "syn", to: deathstar, port: 7000, count: 5)  // closed TCP port
                try craft(lab, xwing, "syn", to: deathstar, port: 80, count: 4)  // policy
                try craft(lab, xwing, "tcp-badsum", to: deathstar, port: 7001, count: 3)
                try craft(lab, xwing, "udp-badsum", to: deathstar, port: 7002, count: 2)
                let udp =
                    "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(6): s.sendto(b'x',(sys.argv[1],7003))"
                let u = try lab.run(in: xwing, ["python3", "-c", udp, deathstar.ipv4])
                #expect(u.succeeded, "\(u)")

                let expected: [(String, String, Int)] = [
                    ("NO_SOCKET", "TCP", 5), ("POLICY_DENIED", "TCP", 4), ("TCP_CSUM", "TCP", 3),
                    ("UDP_CSUM", "UDP", 2), ("NO_SOCKET", "UDP", 6)
                ]
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { drops(m, $0.0, $0.1, from: xwing, to: deathstar) >= $0.2 }
                }
                for (reason, proto, count) in expected {
                    #expect(
                        drops(m, reason, proto, from: xwing, to: deathstar) == count,
                        "\(reason)/\(proto): \(m.series("hubble_drop_total"))")
                }
                // Drops also count in `flow` as type Drop.
                #expect(
                    m.value("hubble_flows_processed_total", ["type": "Drop", "verdict": "DROPPED", "subtype": ""]) >= 20
                )
                // The kernel's own reason name survives next to the Hubble one.
                #expect(m.value("spyglass_drops_total", ["reason": "NETFILTER_DROP", "class": "drop"]) >= 4)
            }
        }
    }

    @Test func ttlThatRunsOutOnARouter() async throws {
        let reasons = KernelDropReasons.load()
        // On this kernel ip_forward() drops an expiring TTL with IP_INHDR (and sends ICMP Time Exceeded).
        let expectedReason = "IP_INHDR"
        try #require(reasons.names.values.contains(expectedReason), "this kernel has no \(expectedReason) drop reason")
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.21.2/24", gateway: "10.199.21.1")
            let router = try lab.addPod(name: "router", ipv4: "10.199.21.1/24")
            let far = try lab.addPod(name: "far", ipv4: "10.199.22.2/24", gateway: "10.199.22.1")
            for cmd in [
                ["ip", "addr", "add", "10.199.22.1/24", "dev", "eth0"],
                ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
                ["sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0"],
                ["sysctl", "-qw", "net.ipv4.conf.eth0.send_redirects=0"]
            ] {
                let r = try await lab.run(in: router, cmd)
                #expect(r.succeeded, "\(r)")
            }
            try await withAgent(lab, client.hostInterface) { agent in
                let send =
                    "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.IPPROTO_IP,socket.IP_TTL,1)\nfor i in range(3): s.sendto(b'x',(sys.argv[1],7100))"
                let r = try lab.run(in: client, ["python3", "-c", send, far.ipv4])
                #expect(r.succeeded, "\(r)")
                let m = try scrapeMetrics(agent.serverPort) {
                    drops($0, expectedReason, "UDP", from: client, to: far) >= 3
                }
                #expect(drops(m, expectedReason, "UDP", from: client, to: far) == 3, "\(m.series("hubble_drop_total"))")
                // The router told the client, and the agent saw it arrive.
                // (The three ICMP errors share one state entry, so at aggregation medium they are one report.)
                #expect(m.value("hubble_icmp_total", ["family": "IPv4", "type": "TimeExceeded(TTLExceeded)"]) >= 1)
            }
        }
    }

    @Test func dropStormIsRateLimitedAndFullyAccounted() async throws {
        try await withLab { lab in
            let a = try lab.addPod(name: "attacker", ipv4: "10.199.23.2/24")
            let v = try lab.addPod(name: "victim", ipv4: "10.199.23.3/24")
            try await withAgent(lab, a.hostInterface, rate: 500) { agent in
                let before = PrometheusText(try curlGet("http://127.0.0.1:\(agent.serverPort)/metrics"))
                let storm = 100_000
                // The storm runs while the endpoint is scraped: it must stay responsive.
                let flood = try lab.spawn(
                    in: a, ["python3", Self.script, "syn", a.ipv4, v.ipv4, "7999", "\(storm)"], timeout: .seconds(120))
                var slowest = 0.0
                while flood.isRunning {
                    let t0 = Date()
                    _ = try curlGet("http://127.0.0.1:\(agent.serverPort)/metrics", timeout: 5)
                    slowest = max(slowest, Date().timeIntervalSince(t0))
                    Thread.sleep(forTimeInterval: 0.2)
                }
                #expect(flood.result.succeeded, "\(flood.result)")
                #expect(slowest < 2.0, "scrapes during the storm took up to \(slowest) s")
                // The kernel's and the agent's counters both start at zero with the agent, so the books are kept in
                // absolute numbers (a delta from a first scrape would miss drops in flight at that moment). Drops
                // arrive as flows a little after the kernel counts them: poll until the books balance (bounded).
                func delta(_ m: PrometheusText, _ name: String, _ labels: [String: String] = [:]) -> Int {
                    Int(m.value(name, labels))
                }
                // Over every reason: lost drop events are counted without their reason (a full ring buffer or queue
                // does not look inside), so per-reason books would not balance once another reason's drop is lost.
                // Only class `drop` is reported; socket-lifecycle and benign frees are counted, never flows.
                func books(_ m: PrometheusText) -> (seen: Int, reported: Int, suppressed: Int, lost: Int) {
                    (
                        delta(m, "spyglass_drops_total", ["class": "drop"]) - delta(m, "spyglass_drops_unparsed_total"),
                        delta(m, "hubble_drop_total"),
                        delta(m, "spyglass_drops_suppressed_total"),
                        // Drop events lost on the way (ring buffer full, pipeline queue full), told apart from traces.
                        delta(m, "spyglass_datapath_drop_ring_buffer_full_total")
                            + delta(m, "spyglass_event_queue_lost_total", ["kind": "drop"])
                    )
                }
                let m = try scrapeMetrics(agent.serverPort) { m in
                    let b = books(m)
                    return b.seen - Int(before.value("spyglass_drops_total", ["reason": "NO_SOCKET", "class": "drop"]))
                        >= 2 * storm
                        && b.seen == b.reported + b.suppressed + b.lost
                }
                let b = books(m)
                // Each SYN is dropped by the victim (no socket), and the victim's RST by the attacker (a raw socket
                // is no TCP socket either): two drops per SYN.
                #expect(
                    b.seen - Int(before.value("spyglass_drops_total", ["reason": "NO_SOCKET", "class": "drop"])) >= 2
                        * storm)
                #expect(b.suppressed > 0, "the rate limit must have suppressed part of the storm")
                // Nothing unaccounted: every drop the kernel saw is a flow, a suppressed drop or a counted loss.
                #expect(b.seen == b.reported + b.suppressed + b.lost, "\(b)")
            }
        }
    }

    /// A DNS query the kernel drops counts as Hubble counts a denied query: `rcode="Policy denied"`.
    @Test func droppedDNSQueriesCountAsPolicyDenied() async throws {
        try await withLab { lab in
            let xwing = try lab.addPod(name: "xwing", ipv4: "10.199.24.2/24")
            let dns = try lab.addPod(name: "dns", ipv4: "10.199.24.3/24")
            let rules = """
                table inet spyglass_test {
                  chain input {
                    type filter hook input priority 0; policy accept;
                    ip saddr \(xwing.ipv4) udp dport 53 drop
                  }
                }
                """
            try lab.nft(in: dns, rules)
            var c = AgentConfig()
            c.interfaces = [xwing.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.hubbleMetrics = "dns:query drop"
            try await withStartedAgent(c) { agent in
                for name in ["deathstar.default.svc.cluster.local", "alderaan.default.svc.cluster.local"] {
                    let r = try lab.run(in: xwing, ["dig", "@\(dns.ipv4)", "+tries=1", "+time=1", name])
                    #expect(!r.succeeded || r.stdout.contains("timed out"), "the query must not be answered: \(r)")
                }
                let q = "hubble_dns_queries_total"
                let m = try scrapeMetrics(agent.serverPort) { $0.value(q, ["rcode": "Policy denied"]) >= 2 }
                #expect(
                    m.value(
                        q, ["rcode": "Policy denied", "qtypes": "A", "query": "deathstar.default.svc.cluster.local."])
                        == 1, "\(m.series(q))")
                #expect(
                    m.value(
                        q, ["rcode": "Policy denied", "qtypes": "A", "query": "alderaan.default.svc.cluster.local."])
                        == 1)
                #expect(m.value("hubble_drop_total", ["reason": "POLICY_DENIED", "protocol": "UDP"]) >= 2)
            }
        }
    }
}
