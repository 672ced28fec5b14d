import Foundation
import SpyglassAgent
import SpyglassDatapath
import SpyglassFlow
import SpyglassTesting
import Testing

/// Drops only where the network drops: on a node-shaped lab (several pods, an HTTP server, IPv6 on new interfaces,
/// ping as root, curl, scrapes of the agent's own /metrics, an nftables drop) `hubble_drop_total` counts exactly the
/// nftables drops, while `spyglass_drops_total{reason,class}` still counts the healthy frees with their class.
/// Drops elsewhere on the host cannot blur the counts: the drop metric carries the IPs and only this lab's are read.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct DropClassEndToEndTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
        .path

    /// hubble_drop_total series whose source or destination is one of `addresses`.
    static func drops(_ m: PrometheusText, involving addresses: Set<String>) -> [PrometheusText.Sample] {
        m.series("hubble_drop_total").filter {
            addresses.contains($0.labels["source_ip"] ?? "") || addresses.contains($0.labels["destination_ip"] ?? "")
        }
    }

    /// Link-local and multicast IPv6 (router solicitations, MLD reports, neighbour discovery).
    static func isLinkScope(_ ip: String) -> Bool { ip.hasPrefix("fe80:") || ip.hasPrefix("ff02:") }

    @Test func healthyTrafficAddsNoDropsAndThePolicyDropCountsExactly() async throws {
        try await withLab { lab in
            // The agent starts before the IPv6 pods exist, so their interfaces' router solicitations and MLD
            // reports happen while it watches.
            let anchor = try lab.addPod(name: "anchor", ipv4: "10.199.50.9/24")
            var c = AgentConfig()
            c.interfaces = [anchor.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.hubbleMetrics = "drop:labelsContext=source_ip,destination_ip flow"
            try await withStartedAgent(c) { agent in
                let web = try lab.addPod(name: "web", ipv4: "10.199.50.2/24", ipv6: "fd00:199:50::2/64")
                let client = try lab.addPod(name: "client", ipv4: "10.199.50.3/24", ipv6: "fd00:199:50::3/64")
                let other = try lab.addPod(name: "other", ipv4: "10.199.50.4/24", ipv6: "fd00:199:50::4/64")
                let blocked = try lab.addPod(name: "blocked", ipv4: "10.199.50.5/24")
                let pods = [anchor, web, client, other, blocked]
                let ours = Set(pods.flatMap { [$0.ipv4] + ($0.ipv6.map { [$0] } ?? []) })
                // The policy: `blocked` may not reach web:81.
                try lab.nft(
                    in: web,
                    """
                    table inet spyglass_test {
                      chain input {
                        type filter hook input priority 0; policy accept;
                        ip saddr \(blocked.ipv4) tcp dport 81 drop
                      }
                    }
                    """)
                let server = try lab.spawn(
                    in: web, ["python3", "-c", DemoScripts.httpServer, web.ipv4, "8080"], timeout: .seconds(60))
                defer { _ = server.terminate() }
                // Ready when listening (a connection attempt before that would be a real NO_SOCKET drop).
                let up = try lab.run(
                    inNamespace: web.namespace,
                    [
                        "bash", "-c",
                        "for i in $(seq 1 50); do ss -Hltn 'sport = :8080' | grep -q . && exit 0; sleep 0.1; done; exit 1"
                    ], timeout: .seconds(10))
                try #require(up.succeeded, "\(up)")

                // Healthy traffic: ping as root (v4 and v6), HTTP from two pods, scrapes of the agent itself.
                for (from, to) in [(client, web), (other, web), (client, other)] {
                    let p4 = try lab.run(in: from, ["ping", "-c", "4", "-i", "0.2", "-W", "1", to.ipv4])
                    #expect(p4.succeeded, "\(p4)")
                    let p6 = try lab.run(in: from, ["ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", to.ipv6 ?? ""])
                    #expect(p6.succeeded, "\(p6)")
                }
                for from in [client, other] {
                    for i in 0..<5 {
                        let r = try lab.run(
                            in: from,
                            [
                                "curl", "-s", "-o", "/dev/null",
                                "http://\(web.ipv4):8080/\(i % 2 == 0 ? "ok" : "missing")"
                            ])
                        #expect(r.succeeded, "\(r)")
                    }
                }
                for _ in 0..<5 { _ = try curlGet("http://127.0.0.1:\(agent.serverPort)/metrics") }
                // The one unhealthy thing: 4 SYNs from `blocked` to web:81 (a raw socket: no retransmissions).
                let denied = 4
                let syn = try lab.run(
                    in: blocked,
                    ["python3", Self.scripts + "/packets.py", "syn", blocked.ipv4, web.ipv4, "81", "\(denied)"])
                #expect(syn.succeeded, "\(syn)")

                let policy: [String: String] = [
                    "reason": "POLICY_DENIED", "protocol": "TCP", "source_ip": blocked.ipv4, "destination_ip": web.ipv4
                ]
                let m = try scrapeMetrics(agent.serverPort) { m in
                    m.value("hubble_drop_total", policy) >= Double(denied)
                        && m.value("spyglass_drops_total", ["reason": "NO_SOCKET", "class": "benign"]) >= 12
                }
                // Exactly the policy drops, and nothing else of this lab's addresses.
                #expect(m.value("hubble_drop_total", policy) == Double(denied), "\(m.series("hubble_drop_total"))")
                let mine = Self.drops(m, involving: ours)
                #expect(mine.reduce(0) { $0 + $1.value } == Double(denied), "drops of healthy lab traffic: \(mine)")
                // Link-scope IPv6 control traffic (router solicitations, MLD) adds nothing either.
                let linkScope = m.series("hubble_drop_total").filter {
                    [$0.labels["source_ip"] ?? "", $0.labels["destination_ip"] ?? ""].contains(where: Self.isLinkScope)
                }
                #expect(linkScope.isEmpty, "drops of link-scope traffic: \(linkScope)")
                // Nor do the scrapes (QUEUE_PURGE on loopback) or any other non-drop, anywhere on the host (other
                // processes may make real loopback drops, e.g. a connection to a closed port: those stay counted).
                let notDrops = Set(DropClassification.rules.filter { $0.value.dropClass != .drop }.keys)
                let leaked = m.series("hubble_drop_total").filter { notDrops.contains($0.labels["reason"] ?? "") }
                #expect(leaked.isEmpty, "non-drops reported as drops: \(leaked)")
                // Everything is still counted, with its class: ping's echo replies (12 v4 + 9 v6, received by its raw
                // socket, then freed as NO_SOCKET) are benign; closed sockets are socket lifecycle.
                #expect(m.value("spyglass_drops_total", ["reason": "NO_SOCKET", "class": "benign"]) >= 12)
                #expect(
                    m.value("spyglass_drops_total", ["reason": "NETFILTER_DROP", "class": "drop"]) >= Double(denied))
                #expect(
                    m.value("spyglass_drops_total", ["class": "socket"]) >= 1, "\(m.series("spyglass_drops_total"))")
                #expect(m.value("spyglass_drops_total", ["reason": "QUEUE_PURGE", "class": "drop"]) == 0)
                #expect(m.value("spyglass_drops_total", ["reason": "NOT_SPECIFIED", "class": "drop"]) == 0)
            }
        }
    }

    /// `--drop-reasons-extra` widens the reported set: ping's echo replies stay benign, but a reason named there
    /// becomes a drop flow. (TCP_CLOSE-like lifecycle frees are not made deterministically, so a closed UDP port's
    /// NO_SOCKET is widened away and back: the default reports it, `--drop-classes benign` alone does not.)
    @Test func classesAndExtraReasonsChooseWhatIsReported() async throws {
        try await withLab { lab in
            let a = try lab.addPod(name: "sender", ipv4: "10.199.51.2/24")
            let b = try lab.addPod(name: "sink", ipv4: "10.199.51.3/24")
            let send =
                "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(5): s.sendto(b'x',(sys.argv[1],7300))"
            for (classes, extra, expected) in [(["benign"], [String](), 0.0), (["benign"], ["NO_SOCKET"], 5.0)] {
                var c = AgentConfig()
                c.interfaces = [a.hostInterface]
                c.metricsServer = "127.0.0.1:0"
                c.hubbleMetrics = "drop:labelsContext=source_ip,destination_ip"
                c.drops.report = DropReportSet(
                    classes: Set(classes.compactMap { DropClass(rawValue: $0) }), extraReasons: Set(extra))
                try await withStartedAgent(c) { agent in
                    let r = try lab.run(in: a, ["python3", "-c", send, b.ipv4])
                    #expect(r.succeeded, "\(r)")
                    let udp: [String: String] = [
                        "reason": "NO_SOCKET", "protocol": "UDP", "source_ip": a.ipv4, "destination_ip": b.ipv4
                    ]
                    let m = try scrapeMetrics(agent.serverPort) {
                        $0.value("spyglass_drops_total", ["reason": "NO_SOCKET", "class": "drop"]) >= 5
                            && $0.value("hubble_drop_total", udp) >= expected
                    }
                    #expect(
                        m.value("hubble_drop_total", udp) == expected,
                        "classes \(classes) extra \(extra): \(m.series("hubble_drop_total"))")
                }
            }
        }
    }

    /// A reason name this kernel does not have stops start-up, naming the flag.
    @Test func anUnknownExtraReasonIsRejected() async throws {
        try await withLab { lab in
            let a = try lab.addPod(name: "solo", ipv4: "10.199.53.2/24")
            var c = AgentConfig()
            c.interfaces = [a.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.drops.report = DropReportSet(extraReasons: ["QUEUE_PURGE", "NO_SUCH_REASON"])
            do {
                _ = try Agent(config: c)
                Issue.record("an unknown --drop-reasons-extra name must stop start-up")
            } catch {
                #expect(
                    "\(error)".contains("--drop-reasons-extra") && "\(error)".contains("NO_SUCH_REASON"), "\(error)")
            }
        }
    }
}
