import Foundation
import SpyglassAgent
import SpyglassLab
import SpyglassTesting
import Testing

/// DNS and HTTP read from the wire by the real agent, against real peers in namespaces: dnsmasq and dig; a small
/// HTTP/1.1 server and curl. Exact series and counts of the dns and httpV2 families.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct L7EndToEndTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")
        .path

    func withAgent<T>(_ interfaces: [String], metrics: String, _ body: (Agent) throws -> T) async throws -> T {
        var c = AgentConfig()
        c.interfaces = interfaces
        c.metricsServer = "127.0.0.1:0"
        c.hubbleMetrics = metrics
        return try await withStartedAgent(c, body)
    }

    func startDNS(_ lab: NetworkLab, _ pod: Pod) throws -> LabProcess {
        let p = try lab.spawn(
            in: pod,
            [
                "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--listen-address=\(pod.ipv4)",
                "--port=53", "--local=/empire.local/", "--log-facility=-",
                "--host-record=deathstar.empire.local,10.199.30.10", "--host-record=tcp.empire.local,10.199.30.11",
                "--host-record=v6.empire.local,fd00::10", "--cname=alias.empire.local,deathstar.empire.local"
            ], timeout: .seconds(120))
        // Wait until it answers (bounded).
        for _ in 0..<50 {
            let r = try lab.run(
                inNamespace: pod.namespace,
                ["dig", "@\(pod.ipv4)", "+short", "+tries=1", "+time=1", "deathstar.empire.local"])
            if r.stdout.contains("10.199.30.10") { return p }
            Thread.sleep(forTimeInterval: 0.1)
        }
        Issue.record("dnsmasq did not come up: \(p.stderr)")
        return p
    }

    func dig(_ lab: NetworkLab, _ client: Pod, _ server: Pod, _ args: [String]) throws -> String {
        let r = try lab.run(in: client, ["dig", "@\(server.ipv4)", "+tries=1", "+time=2"] + args)
        #expect(r.exitStatus == 0, "\(r)")
        return r.stdout
    }

    @Test func dnsFamiliesFromRealQueries() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.30.2/24")
            let dns = try lab.addPod(name: "dns", ipv4: "10.199.30.3/24")
            let server = try startDNS(lab, dns)
            defer { _ = server.terminate() }
            try await withAgent([client.hostInterface], metrics: "dns:query flow") { agent in
                #expect(try dig(lab, client, dns, ["deathstar.empire.local", "A"]).contains("10.199.30.10"))
                #expect(try dig(lab, client, dns, ["v6.empire.local", "AAAA"]).contains("fd00::10"))
                #expect(try dig(lab, client, dns, ["alias.empire.local", "A"]).contains("deathstar.empire.local"))
                #expect(try dig(lab, client, dns, ["nosuch.empire.local", "A"]).contains("NXDOMAIN"))
                #expect(try dig(lab, client, dns, ["rebel.base.example", "A"]).contains("REFUSED"))
                #expect(try dig(lab, client, dns, ["+tcp", "tcp.empire.local", "A"]).contains("10.199.30.11"))

                let q = "hubble_dns_queries_total", r = "hubble_dns_responses_total",
                    t = "hubble_dns_response_types_total"
                let expected: [(String, [String: String], Int)] = [
                    (q, ["rcode": "", "qtypes": "A", "ips_returned": "0", "query": "deathstar.empire.local."], 1),
                    (
                        r,
                        ["rcode": "No Error", "qtypes": "A", "ips_returned": "1", "query": "deathstar.empire.local."], 1
                    ),
                    (t, ["type": "A", "qtypes": "A", "query": "deathstar.empire.local."], 1),
                    (q, ["rcode": "", "qtypes": "AAAA", "ips_returned": "0", "query": "v6.empire.local."], 1),
                    (r, ["rcode": "No Error", "qtypes": "AAAA", "ips_returned": "1", "query": "v6.empire.local."], 1),
                    (t, ["type": "AAAA", "qtypes": "AAAA", "query": "v6.empire.local."], 1),
                    (r, ["rcode": "No Error", "qtypes": "A", "ips_returned": "1", "query": "alias.empire.local."], 1),
                    (t, ["type": "CNAME", "qtypes": "A", "query": "alias.empire.local."], 1),
                    (t, ["type": "A", "qtypes": "A", "query": "alias.empire.local."], 1),
                    (
                        r,
                        [
                            "rcode": "Non-Existent Domain", "qtypes": "A", "ips_returned": "0",
                            "query": "nosuch.empire.local."
                        ], 1
                    ),
                    (
                        r,
                        ["rcode": "Query Refused", "qtypes": "A", "ips_returned": "0", "query": "rebel.base.example."],
                        1
                    ),
                    (q, ["rcode": "", "qtypes": "A", "ips_returned": "0", "query": "tcp.empire.local."], 1),
                    (r, ["rcode": "No Error", "qtypes": "A", "ips_returned": "1", "query": "tcp.empire.local."], 1)
                ]
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { Int(m.value($0.0, $0.1)) >= $0.2 }
                }
                for (name, labels, count) in expected {
                    #expect(Int(m.value(name, labels)) == count, "\(name) \(labels): \(m.series(name))")
                }
                #expect(Int(m.value(q)) == 6, "six queries: \(m.series(q))")
                #expect(Int(m.value(r)) == 6, "six responses: \(m.series(r))")
                #expect(
                    m.value("hubble_flows_processed_total", ["type": "L7", "subtype": "DNS", "protocol": "DNS"]) == 12)
            }
        }
    }

    @Test func ignoreAAAASkipsOnlyPureAAAA() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.32.2/24")
            let dns = try lab.addPod(name: "dns", ipv4: "10.199.32.3/24")
            let server = try startDNS(lab, dns)
            defer { _ = server.terminate() }
            try await withAgent([client.hostInterface], metrics: "dns:ignoreAAAA") { agent in
                _ = try dig(lab, client, dns, ["v6.empire.local", "AAAA"])
                _ = try dig(lab, client, dns, ["deathstar.empire.local", "A"])
                let m = try scrapeMetrics(agent.serverPort) { $0.value("hubble_dns_responses_total") >= 1 }
                Thread.sleep(forTimeInterval: 0.5)
                let n = PrometheusText(try curlGet("http://127.0.0.1:\(agent.serverPort)/metrics"))
                #expect(n.value("hubble_dns_responses_total", ["qtypes": "A"]) == 1)
                #expect(
                    n.value("hubble_dns_responses_total", ["qtypes": "AAAA"]) == 0,
                    "\(m.series("hubble_dns_responses_total"))")
                #expect(
                    n.series("hubble_dns_responses_total").allSatisfy { $0.labels["query"] == nil },
                    "no query label without the option")
            }
        }
    }

    @Test func httpFamiliesFromRealRequests() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.31.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.31.3/24")
            let server = try await startHTTPServer(lab, in: web)
            defer { _ = server.terminate() }
            let trace = "4bf92f3577b34da6a3ce929d0e0e4736"
            let metrics = "httpV2:exemplars=true;labelsContext=source_ip,destination_ip flow"
            try await withAgent([client.hostInterface, web.hostInterface], metrics: metrics) { agent in
                let base = "http://\(web.ipv4):8080"
                let t0 = Date()
                // One keep-alive connection: three GETs; then a POST with a traceparent.
                try runLandingExchange(lab, from: client, base: base, traceparent: "00-\(trace)-00f067aa0ba902b7-01")
                let elapsed = Date().timeIntervalSince(t0)

                let name = "hubble_http_requests_total"
                var expected: [([String: String], Int)] = []
                for reporter in ["client", "server"] {
                    expected += [
                        (["method": "GET", "status": "200", "protocol": "HTTP/1.1", "reporter": reporter], 1),
                        (["method": "GET", "status": "404", "protocol": "HTTP/1.1", "reporter": reporter], 1),
                        (["method": "GET", "status": "500", "protocol": "HTTP/1.1", "reporter": reporter], 1),
                        (["method": "POST", "status": "200", "protocol": "HTTP/1.1", "reporter": reporter], 1)
                    ]
                }
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { Int(m.value(name, $0.0)) >= $0.1 }
                }
                for (labels, count) in expected {
                    #expect(Int(m.value(name, labels)) == count, "\(labels): \(m.series(name))")
                }
                #expect(Int(m.value(name)) == 8)
                // Source/destination from the request's point of view (httpV2 inversion).
                #expect(m.value(name, ["source_ip": client.ipv4, "destination_ip": web.ipv4]) == 8)
                // One histogram observation per response; latencies positive and below the client's total time.
                for reporter in ["client", "server"] {
                    let count = m.value("hubble_http_request_duration_seconds_count", ["reporter": reporter])
                    let sum = m.value("hubble_http_request_duration_seconds_sum", ["reporter": reporter])
                    #expect(count == 4)
                    #expect(sum > 0 && sum < elapsed, "latency sum \(sum) s, client time \(elapsed) s")
                }
                // The exemplar carries the request's trace ID, in OpenMetrics only.
                let om = try curlGet(
                    "http://127.0.0.1:\(agent.serverPort)/metrics",
                    headers: ["Accept: application/openmetrics-text; version=1.0.0"])
                #expect(
                    om.contains("# {traceID=\"\(trace)\"}"),
                    "no exemplar in: \(om.split(separator: "\n").filter { $0.contains("http_requests") })")
                #expect(om.hasSuffix("# EOF\n"))
                #expect(
                    m.value("hubble_flows_processed_total", ["type": "L7", "subtype": "HTTP", "protocol": "HTTP"]) == 16
                )
            }
        }
    }

    /// `--http-detect` (on by default): HTTP on a port that is not an HTTP port is read from the segments that start
    /// a request or status line — the kernel reports those — with bodies skipped as gaps. Same exchange as above,
    /// on port 9091.
    @Test func httpDetectedOnAnotherPort() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.38.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.38.3/24")
            let server = try await startHTTPServer(lab, in: web, port: 9091)
            defer { _ = server.terminate() }
            var c = AgentConfig()
            #expect(!c.datapath.httpPorts.contains(9091) && c.datapath.httpDetect)
            c.interfaces = [client.hostInterface, web.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.hubbleMetrics = "httpV2"
            try await withStartedAgent(c) { agent in
                let base = "http://\(web.ipv4):9091"
                try runLandingExchange(lab, from: client, base: base)
                let name = "hubble_http_requests_total"
                var expected: [([String: String], Int)] = []
                for reporter in ["client", "server"] {
                    expected += [
                        (["method": "GET", "status": "200", "reporter": reporter], 1),
                        (["method": "GET", "status": "404", "reporter": reporter], 1),
                        (["method": "GET", "status": "500", "reporter": reporter], 1),
                        (["method": "POST", "status": "200", "reporter": reporter], 1)
                    ]
                }
                // The assembler's own counters are copied out once a second: wait for them too.
                let m = try scrapeMetrics(agent.serverPort) { m in
                    expected.allSatisfy { Int(m.value(name, $0.0)) >= $0.1 }
                        && m.value("spyglass_l7_http_detected_total") >= 16
                }
                for (labels, count) in expected {
                    #expect(Int(m.value(name, labels)) == count, "\(labels): \(m.series(name))")
                }
                #expect(Int(m.value(name)) == 8)
                for reporter in ["client", "server"] {
                    #expect(m.value("hubble_http_request_duration_seconds_count", ["reporter": reporter]) == 4)
                }
                // Four requests and four responses, each seen on both veths.
                #expect(
                    m.value("spyglass_l7_http_detected_total") == 16, "\(m.series("spyglass_l7_http_detected_total"))")
                #expect(m.value("spyglass_l7_malformed_total", ["protocol": "http"]) == 0)
            }
        }
    }

    // MARK: - Hostile pods

    static let attacks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Scripts/l7attacks.py"
    ).path

    /// Issue 18's poisoning: a pod sends DNS responses from its port 53 that nobody asked for, claiming
    /// `evil.example` for the web pod's address; the client's HTTP flows to that address must not carry the name.
    /// The control: a real query answered by dnsmasq names the same address, so the check can see names.
    @Test func unsolicitedDNSResponsesDoNotNameFlows() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.34.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.34.3/24")
            let dns = try lab.addPod(name: "dns", ipv4: "10.199.34.4/24")
            let attacker = try lab.addPod(name: "attacker", ipv4: "10.199.34.5/24")
            let server = try lab.spawn(
                in: web, ["python3", "-c", DemoScripts.httpServer, web.ipv4, "8080"], timeout: .seconds(120))
            defer { _ = server.terminate() }
            let resolver = try lab.spawn(
                in: dns,
                [
                    "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                    "--listen-address=\(dns.ipv4)",
                    "--port=53", "--local=/empire.local/", "--log-facility=-",
                    "--host-record=web.empire.local,\(web.ipv4)"
                ], timeout: .seconds(120))
            defer { _ = resolver.terminate() }
            let up = try await lab.run(
                inNamespace: client.namespace,
                [
                    "bash", "-c",
                    "for i in $(seq 1 50); do curl -s -o /dev/null http://\(web.ipv4):8080/ok && dig @\(dns.ipv4) +short +tries=1 +time=1 web.empire.local | grep -q . && exit 0; sleep 0.1; done; exit 1"
                ], timeout: .seconds(15))
            try #require(up.succeeded, "servers did not come up: \(server.stderr) \(resolver.stderr)")

            let metrics = "flow:destinationContext=dns;labelsContext=destination_ip"
            try await withAgent([client.hostInterface], metrics: metrics) { agent in
                let spoof = try lab.run(
                    in: attacker,
                    [
                        "python3", Self.attacks, "spoof-dns", attacker.ipv4, client.ipv4, "33333",
                        "evil.example", web.ipv4, "3"
                    ])
                #expect(spoof.succeeded, "\(spoof)")
                let rejected = "spyglass_l7_dns_names_rejected_total"
                _ = try scrapeMetrics(agent.serverPort) { $0.value(rejected, ["reason": "unsolicited"]) >= 3 }
                for _ in 0..<3 {
                    #expect(
                        try lab.run(in: client, ["curl", "-s", "-o", "/dev/null", "http://\(web.ipv4):8080/ok"])
                            .succeeded)
                }
                let name = "hubble_flows_processed_total"
                let toWeb = ["destination_ip": web.ipv4]
                let m = try scrapeMetrics(agent.serverPort) { $0.value(name, toWeb) >= 6 }
                #expect(m.value(name, toWeb) >= 6, "three connections' packets to the web pod: \(m.series(name))")
                #expect(m.value(rejected, ["reason": "unsolicited"]) == 3)
                let poisoned = m.series(name).filter { ($0.labels["destination"] ?? "").contains("evil") }
                #expect(poisoned.isEmpty, "flows named by unsolicited responses: \(poisoned)")

                // Control: an answered query names the address, and later flows carry the name.
                #expect(try dig(lab, client, dns, ["web.empire.local", "A"]).contains(web.ipv4))
                #expect(
                    try lab.run(in: client, ["curl", "-s", "-o", "/dev/null", "http://\(web.ipv4):8080/ok"]).succeeded)
                let named = ["destination": "web.empire.local.", "destination_ip": web.ipv4]
                let n = try scrapeMetrics(agent.serverPort) { $0.value(name, named) >= 2 }
                #expect(n.value(name, named) >= 2, "\(n.series(name))")
                #expect(n.series(name).allSatisfy { !($0.labels["destination"] ?? "").contains("evil") })
            }
        }
    }

    /// Issue 18's blinding: forged segments with a keep-alive connection's own 4-tuple — far out of the window,
    /// with an inflated IPv4 length, a few KiB ahead, an out-of-window RST — sent from a raw socket in the client's
    /// namespace between its first and second request. All three requests must still be read and paired, and the
    /// forgeries counted.
    @Test func forgedSegmentsDoNotBlindHTTP() async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.35.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.35.3/24")
            let server = try await startHTTPServer(lab, in: web)
            defer { _ = server.terminate() }
            try await withAgent([client.hostInterface], metrics: "httpV2") { agent in
                let r = try lab.run(
                    in: client, ["python3", Self.attacks, "forge-http", web.ipv4, "8080"], timeout: .seconds(20))
                #expect(r.succeeded && r.stdout.contains("200 200 200"), "\(r)")
                let name = "hubble_http_requests_total"
                let ok = ["method": "GET", "status": "200", "reporter": "client"]
                let malformed = "spyglass_l7_malformed_total"
                // The L7 counters are published by the pipeline's housekeeping (about once a second).
                let m = try scrapeMetrics(agent.serverPort) {
                    $0.value(name, ok) >= 3 && $0.value(malformed, ["protocol": "http", "reason": "bad_ip_length"]) >= 1
                }
                #expect(m.value(name, ok) == 3, "\(m.series(name))")
                #expect(m.value(name) == 3, "no request from the forged bytes: \(m.series(name))")
                // The RST carries no payload: the datapath does not hand it to L7 (unit tests cover forged RSTs).
                #expect(
                    m.value(malformed, ["protocol": "http", "reason": "out_of_window"]) >= 1, "\(m.series(malformed))")
                #expect(
                    m.value(malformed, ["protocol": "http", "reason": "bad_ip_length"]) == 1, "\(m.series(malformed))")
            }
        }
    }
}
