import Foundation
import SpyglassAgent
import SpyglassTesting
import Testing

/// The real agent inside a node namespace of a node-shaped lab (NodeLab): pods on veths, a DNS and HTTP server pod
/// next to the client, an HTTP server pod on the other node, for routed veths, a bridge CNI and a VXLAN overlay.
/// Exact counts: trace flows per observation point for each path of README "Monitor aggregation", DNS once per
/// query, HTTP client/server reports once per role, an nftables drop exactly and no drop from healthy traffic.
@Suite(.enabled(if: LabGate.enabled), .serialized)
struct NodeLabTests {
    static let metricsPort = 19965

    /// One row of README's path table: `ping` from `from` (a pod or a node namespace) to `to`, and the trace flows
    /// it must add per observation point on node 1 (two echoes: the second folds into the first's report).
    struct PathRow {
        var path: String
        var from: String
        var to: String
        var points: [String: Int]
        var count = 2
    }

    struct Scene {
        let nodes: NodeLab
        let client: NodeLab.NodePod  // node 1
        let dns: NodeLab.NodePod  // node 1: dnsmasq and an HTTP server
        let server: NodeLab.NodePod  // node 2: an HTTP server
        var processes: [LabProcess] = []
    }

    func buildScene(_ lab: NetworkLab, _ networking: NodeLab.Networking) async throws -> Scene {
        let nodes = try NodeLab(lab: lab, networking: networking)
        var scene = Scene(
            nodes: nodes, client: try nodes.addPod("cli", node: 1, host: 2),
            dns: try nodes.addPod("dns", node: 1, host: 3), server: try nodes.addPod("srv", node: 2, host: 2))
        scene.processes.append(
            try lab.spawn(
                inNamespace: scene.dns.namespace,
                [
                    "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                    "--listen-address=\(scene.dns.ipv4)",
                    "--port=53", "--local=/empire.local/", "--log-facility=-",
                    "--host-record=deathstar.empire.local,10.199.30.10"
                ], timeout: .seconds(150)))
        for pod in [scene.dns, scene.server] {
            scene.processes.append(
                try lab.spawn(
                    inNamespace: pod.namespace, ["python3", "-c", DemoScripts.httpServer, pod.ipv4, "8080"],
                    timeout: .seconds(150)))
        }
        // Everything answers before the agent starts (bounded waits), so no start-up traffic is counted.
        let ready = try await lab.run(
            inNamespace: scene.client.namespace,
            [
                "bash", "-c",
                """
                for i in $(seq 1 50); do
                  curl -s -o /dev/null http://\(scene.dns.ipv4):8080/ok && curl -s -o /dev/null http://\(scene.server.ipv4):8080/ok \
                    && dig @\(scene.dns.ipv4) +short +tries=1 +time=1 deathstar.empire.local | grep -q 10.199.30.10 && exit 0
                  sleep 0.1
                done; exit 1
                """
            ], timeout: .seconds(20))
        try #require(ready.succeeded, "the lab's servers did not come up (\(networking)): \(ready)")
        return scene
    }

    /// Starts `spyglass run` inside node 1's namespace; returns it once it serves metrics.
    func startAgent(_ lab: NetworkLab, _ scene: Scene, _ extra: [String]) throws -> LabProcess {
        try #require(
            FileManager.default.isExecutableFile(atPath: CommandLineTests.binary),
            "build first: swift build --build-tests")
        let agent = try lab.spawn(
            inNamespace: scene.nodes.nodes[0],
            [
                CommandLineTests.binary, "run", "--hubble-metrics-server", "127.0.0.1:\(Self.metricsPort)",
                "--hubble-metrics", "flow dns httpV2 drop:labelsContext=source_ip,destination_ip"
            ] + extra, timeout: .seconds(120))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !agent.stderr.contains("(port \(Self.metricsPort))") && agent.isRunning {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try #require(agent.stderr.contains("(port \(Self.metricsPort))"), "the agent did not start: \(agent.stderr)")
        return agent
    }

    func scrape(_ lab: NetworkLab, _ scene: Scene) throws -> PrometheusText {
        let r = try lab.run(
            inNamespace: scene.nodes.nodes[0],
            ["curl", "-s", "--max-time", "5", "http://127.0.0.1:\(Self.metricsPort)/metrics"])
        try #require(r.succeeded, "scrape: \(r)")
        return PrometheusText(r.stdout)
    }

    /// Trace flows per observation point (all protocols).
    func tracePoints(_ m: PrometheusText, protocol proto: String? = nil) -> [String: Int] {
        var out: [String: Int] = [:]
        for s in m.series("hubble_flows_processed_total") where s.labels["type"] == "Trace" {
            if let proto, s.labels["protocol"] != proto { continue }
            out[s.labels["subtype"] ?? "", default: 0] += Int(s.value)
        }
        return out
    }

    func delta(_ after: [String: Int], _ before: [String: Int]) -> [String: Int] {
        var d: [String: Int] = [:]
        for (k, v) in after where v != before[k, default: 0] { d[k] = v - before[k, default: 0] }
        return d
    }

    /// Runs each row's pings and checks the ICMP trace flows they add, row by row.
    func checkRows(_ lab: NetworkLab, _ scene: Scene, _ rows: [PathRow], _ label: String) throws {
        for row in rows {
            let before = tracePoints(try scrape(lab, scene), protocol: "ICMPv4")
            let r = try lab.run(
                inNamespace: row.from, ["ping", "-n", "-q", "-c", "\(row.count)", "-i", "0.2", "-W", "2", row.to])
            #expect(r.succeeded, "\(label) \(row.path): \(r)")
            var got: [String: Int] = [:]
            let deadline = Date().addingTimeInterval(3)
            repeat {
                got = delta(tracePoints(try scrape(lab, scene), protocol: "ICMPv4"), before)
                if got.values.reduce(0, +) >= row.points.values.reduce(0, +) { break }
                Thread.sleep(forTimeInterval: 0.1)
            } while Date() < deadline
            Thread.sleep(forTimeInterval: 0.3)  // nothing more may come
            got = delta(tracePoints(try scrape(lab, scene), protocol: "ICMPv4"), before)
            #expect(got == row.points, "\(label) \(row.path): ICMP trace flows by point \(got), expected \(row.points)")
        }
    }

    /// The rows of README's table at monitor aggregation medium, with every endpoint, device and tunnel watched.
    func mediumRows(_ scene: Scene, overlay: Bool) -> [PathRow] {
        let n = scene.nodes, out = overlay ? "to-overlay" : "to-network"
        return [
            PathRow(
                path: "pod → local pod", from: scene.client.namespace, to: scene.dns.ipv4, points: ["to-endpoint": 2]),
            PathRow(
                path: "pod → remote pod", from: scene.client.namespace, to: scene.server.ipv4,
                points: [out: 1, "to-endpoint": 1]),
            PathRow(
                path: "remote pod → pod", from: scene.server.namespace, to: scene.client.ipv4,
                points: [out: 1, "to-endpoint": 1]),
            PathRow(
                path: "pod → node", from: scene.client.namespace, to: n.nodeAddress(1),
                points: ["from-endpoint": 1, "to-endpoint": 1]),
            PathRow(
                path: "node → pod", from: n.nodes[0], to: scene.client.ipv4,
                points: ["to-endpoint": 1, "from-endpoint": 1]),
            PathRow(
                path: "node → remote node", from: n.nodes[0], to: n.nodeAddress(2),
                points: ["to-network": 1, "from-network": 1]),
            PathRow(
                path: "remote node → node", from: n.nodes[1], to: n.nodeAddress(1),
                points: ["to-network": 1, "from-network": 1])
        ]
    }

    /// DNS from the client to the DNS pod next to it, HTTP to the local and the remote server: each counted once
    /// per role, and no receive-side point for any of it.
    func checkL7(_ lab: NetworkLab, _ scene: Scene, _ label: String, receiveSideSuppressed: Bool = true) throws {
        let queries = 4, remote = 3, local = 2
        for _ in 0..<queries {
            let r = try lab.run(
                inNamespace: scene.client.namespace,
                ["dig", "@\(scene.dns.ipv4)", "+short", "+tries=1", "+time=2", "deathstar.empire.local"])
            #expect(r.stdout.contains("10.199.30.10"), "\(label): \(r)")
        }
        for (server, n) in [(scene.server, remote), (scene.dns, local)] {
            for i in 0..<n {
                let r = try lab.run(
                    inNamespace: scene.client.namespace,
                    ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "http://\(server.ipv4):8080/ok/\(i)"])
                #expect(r.succeeded, "\(label): \(r)")
            }
        }
        let h = "hubble_http_requests_total"
        var m = try scrape(lab, scene)
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline
            && (m.value("hubble_dns_responses_total") < Double(queries) || m.value(h) < Double(remote + 2 * local))
        {
            Thread.sleep(forTimeInterval: 0.1)
            m = try scrape(lab, scene)
        }
        Thread.sleep(forTimeInterval: 0.3)
        m = try scrape(lab, scene)
        #expect(
            Int(m.value("hubble_dns_queries_total")) == queries, "\(label): \(m.series("hubble_dns_queries_total"))")
        #expect(
            Int(m.value("hubble_dns_responses_total")) == queries, "\(label): \(m.series("hubble_dns_responses_total"))"
        )
        #expect(Int(m.value(h, ["reporter": "client"])) == remote + local, "\(label): \(m.series(h))")
        #expect(
            Int(m.value(h, ["reporter": "server"])) == local,
            "\(label): only the local server is reported: \(m.series(h))")
        #expect(Int(m.value(h)) == remote + 2 * local, "\(label): \(m.series(h))")
        for proto in ["TCP", "UDP"] where receiveSideSuppressed {
            let fromPoints = tracePoints(m, protocol: proto).filter { $0.key.hasPrefix("from-") }
            #expect(
                fromPoints.isEmpty,
                "\(label): \(proto) receive-side points counted while the sending side is watched: \(fromPoints)")
            #expect(tracePoints(m, protocol: proto)["to-endpoint", default: 0] > 0, "\(label): \(tracePoints(m))")
        }
    }

    /// Drops on the lab's addresses, by reason (hubble_drop_total carries source_ip and destination_ip here).
    func labDrops(_ m: PrometheusText) -> [String: Int] {
        var out: [String: Int] = [:]
        for s in m.series("hubble_drop_total") {
            let ips = [s.labels["source_ip"] ?? "", s.labels["destination_ip"] ?? ""]
            guard ips.contains(where: { $0.hasPrefix("10.230.") || $0.hasPrefix("10.231.") }) else { continue }
            out[
                "\(s.labels["reason"] ?? "") \(s.labels["source_ip"] ?? "")>\(s.labels["destination_ip"] ?? "")",
                default: 0] += Int(s.value)
        }
        return out
    }

    /// After all the healthy traffic above (pings, DNS, HTTP with sockets closed by curl, scrapes): an nftables drop
    /// in the DNS pod counts exactly, and nothing else on the lab's addresses is a drop.
    func checkDrops(_ lab: NetworkLab, _ scene: Scene, _ label: String) throws {
        let datagrams = 3
        let nft = try lab.run(
            inNamespace: scene.dns.namespace,
            [
                "nft",
                "add table inet spyglass_lab; add chain inet spyglass_lab in { type filter hook input priority 0; };"
                    + " add rule inet spyglass_lab in udp dport 7777 drop"
            ])
        try #require(nft.succeeded, "\(label): nft: \(nft)")
        let send = try lab.run(
            inNamespace: scene.client.namespace,
            [
                "python3", "-c",
                "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                    + "for i in range(\(datagrams)): s.sendto(b'x',(sys.argv[1],7777))", scene.dns.ipv4
            ])
        #expect(send.succeeded, "\(label): \(send)")
        let policy = "POLICY_DENIED \(scene.client.ipv4)>\(scene.dns.ipv4)"
        let deadline = Date().addingTimeInterval(5)
        var drops = labDrops(try scrape(lab, scene))
        while Date() < deadline && drops[policy, default: 0] < datagrams {
            Thread.sleep(forTimeInterval: 0.1)
            drops = labDrops(try scrape(lab, scene))
        }
        Thread.sleep(forTimeInterval: 0.3)  // nothing more may come
        drops = labDrops(try scrape(lab, scene))
        #expect(drops == [policy: datagrams], "\(label): hubble_drop_total on the lab's addresses \(drops)")
    }

    func run(_ networking: NodeLab.Networking, devices: [String] = []) async throws {
        try LabGate.require()
        try await withLab(prefix: NetworkLab.randomPrefix("spn")) { lab in
            let scene = try await buildScene(lab, networking)
            defer { for p in scene.processes { _ = p.terminate() } }
            let flowLog = lab.workDirectory + "/flows.log"
            let agent = try startAgent(
                lab, scene,
                ["--hubble-export-file-path", flowLog]
                    + (devices.isEmpty ? [] : ["--devices", devices.joined(separator: ",")]))
            defer { _ = agent.terminate() }
            let label = "\(networking)\(devices.isEmpty ? "" : " --devices \(devices.joined(separator: ","))")"
            let log = agent.stderr
            #expect(log.contains("interface eth0 (ifindex"), "\(label): \(log)")
            #expect(
                log.range(of: #"interface eth0 \(ifindex \d+, veth\): role device"#, options: .regularExpression)
                    != nil, "\(label): \(log)")
            #expect(log.range(of: #"interface lxccli|vethcli"#, options: .regularExpression) != nil, "\(label): \(log)")
            #expect(
                log.range(of: #"(lxc|veth)cli \(ifindex \d+, veth\): role endpoint"#, options: .regularExpression)
                    != nil, "\(label): \(log)")
            if networking == .bridge {
                #expect(
                    log.range(
                        of: #"cni0 \(ifindex \d+, bridge\): role bridge, not watched"#, options: .regularExpression)
                        != nil, "\(label): \(log)")
            }
            if networking == .vxlan {
                #expect(
                    log.range(of: #"vx0 \(ifindex \d+, vxlan\): role overlay"#, options: .regularExpression) != nil,
                    "\(label): \(log)")
            }
            let m = try scrape(lab, scene)
            let roles = Dictionary(
                m.series("spyglass_datapath_interfaces").map {
                    ($0.labels["interface"] ?? "", $0.labels["role"] ?? "")
                },
                uniquingKeysWith: { a, _ in a })
            var expectedRoles = [
                "eth0": "device", scene.client.hostInterface: "endpoint", scene.dns.hostInterface: "endpoint"
            ]
            if networking == .vxlan { expectedRoles["vx0"] = "overlay" }
            #expect(
                roles == expectedRoles,
                "\(label): spyglass_datapath_interfaces \(m.series("spyglass_datapath_interfaces"))")

            try checkRows(lab, scene, mediumRows(scene, overlay: networking == .vxlan), label)
            try checkL7(lab, scene, label)
            if networking == .vxlan {
                let skipped = try scrape(lab, scene).value("spyglass_datapath_tunnel_packets_skipped_total")
                #expect(skipped > 0, "\(label): the VXLAN packets on eth0 are not reported twice")
            }
            // Every packet the hooks ran on is accounted for, the suppressed ones included (retried: an ARP refresh
            // between two counters of one scrape would skew it by one).
            var balance: (Double, Double) = (0, -1)
            for _ in 0..<5 where balance.0 != balance.1 {
                let q = try scrape(lab, scene)
                let parts = [
                    "events", "aggregated_packets", "non_ip_packets", "receive_suppressed", "tunnel_packets_skipped",
                    "ring_buffer_full"
                ]
                balance = (
                    q.value("spyglass_datapath_packets_total"),
                    parts.map { q.value("spyglass_datapath_\($0)_total") }.reduce(0, +)
                )
                #expect(q.value("spyglass_datapath_receive_suppressed_total") > 0, "\(label)")
            }
            #expect(balance.0 == balance.1, "\(label): packets \(balance.0) != the sum of their fates \(balance.1)")
            try checkDrops(lab, scene, label)
            // Flow logs follow the same rule: the L7 records are exactly the flows the metrics counted.
            let stopped = agent.terminate(grace: .seconds(10))
            #expect(stopped.exitStatus == 0 || stopped.signal == SIGTERM, "\(label): \(stopped)")
            var l7: [String: Int] = [:]
            let text = (try? String(contentsOfFile: flowLog, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let flow = obj["flow"] as? [String: Any], let record = flow["l7"] as? [String: Any]
                else { continue }
                let kind = record["dns"] != nil ? "dns" : record["http"] != nil ? "http" : "?"
                l7[
                    "\(kind) \(record["type"] as? String ?? "") \(flow["traffic_direction"] as? String ?? "")",
                    default: 0] += 1
            }
            #expect(
                l7 == [
                    "dns REQUEST EGRESS": 4, "dns RESPONSE EGRESS": 4, "http REQUEST EGRESS": 5,
                    "http RESPONSE EGRESS": 5,
                    "http REQUEST INGRESS": 2, "http RESPONSE INGRESS": 2
                ], "\(label): L7 records of the flow log \(l7)")
        }
    }

    @Test func routedVeths() async throws { try await run(.routed) }
    @Test func bridgeCNI() async throws { try await run(.bridge) }
    @Test func vxlanOverlay() async throws { try await run(.vxlan) }
    @Test func routedWithDevicesFlag() async throws { try await run(.routed, devices: ["eth+"]) }

    /// `--monitor-aggregation none`: every hook reports every packet; and with no device watched the receive-side
    /// point stays at medium (the packet would vanish otherwise).
    @Test func noneAndNoDeviceWatched() async throws {
        try LabGate.require()
        try await withLab(prefix: NetworkLab.randomPrefix("spn")) { lab in
            let scene = try await buildScene(lab, .routed)
            defer { for p in scene.processes { _ = p.terminate() } }
            do {
                let agent = try startAgent(lab, scene, ["--monitor-aggregation", "none"])
                defer { _ = agent.terminate() }
                try checkRows(
                    lab, scene,
                    [
                        PathRow(
                            path: "none: pod → local pod", from: scene.client.namespace, to: scene.dns.ipv4,
                            points: ["from-endpoint": 2, "to-endpoint": 2], count: 1),
                        PathRow(
                            path: "none: pod → remote pod", from: scene.client.namespace, to: scene.server.ipv4,
                            points: ["from-endpoint": 1, "to-network": 1, "from-network": 1, "to-endpoint": 1], count: 1
                        )
                    ], "none")
                try checkL7(lab, scene, "none", receiveSideSuppressed: false)
            }
            do {
                let agent = try startAgent(
                    lab, scene, ["--interface", scene.client.hostInterface, "--interface", scene.dns.hostInterface])
                defer { _ = agent.terminate() }
                try checkRows(
                    lab, scene,
                    [
                        PathRow(
                            path: "no device: pod → local pod", from: scene.client.namespace, to: scene.dns.ipv4,
                            points: ["from-endpoint": 2, "to-endpoint": 2]),
                        PathRow(
                            path: "no device: pod → remote pod", from: scene.client.namespace, to: scene.server.ipv4,
                            points: ["from-endpoint": 1, "to-endpoint": 1])
                    ], "no device watched")
                try checkL7(lab, scene, "no device watched", receiveSideSuppressed: false)
            }
        }
    }
}
