import SpyglassFlow
import SpyglassTesting
import Testing

@Suite("L7 assembler: DNS, names, bounds")
struct L7AssemblerDNSTests {
    typealias W = DNSWire
    let obs = Observer()

    func udp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let eth = Frames.eth()
        let l3 = src.contains(":") ? eth.ipv6(src: src, dst: dst) : eth.ipv4(src: src, dst: dst)
        return l3.udp(sport: sport, dport: dport).payload(payload).build()
    }

    /// One exchange between two local pods crosses the client's veth and the server's: counted once, at the
    /// client's; from a remote client, at the server's veth; passing through the node, at the device.
    @Test func aQueryIsReportedOncePerNode() throws {
        let q = udp("10.0.0.1", "10.0.0.53", 40000, 53, W.query(id: 9, "once.test", type: 1))
        let r = udp("10.0.0.53", "10.0.0.1", 53, 40000, W.aResponse(id: 9, "once.test", ips: [[10, 1, 1, 1]]))
        let a = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.9.9.9")!]))
        var local: [Flow] = []
        local += obs.feed(a, q, obs: Obs.fromEndpoint, ifindex: 2, timeNs: 1_000)
        local += obs.feed(a, q, obs: Obs.toEndpoint, ifindex: 3, timeNs: 2_000)
        local += obs.feed(a, r, obs: Obs.fromEndpoint, ifindex: 3, timeNs: 3_000)
        local += obs.feed(a, r, obs: Obs.toEndpoint, ifindex: 2, timeNs: 4_000)
        #expect(local.map { $0.l7?.type } == [.request, .response], "\(local)")
        #expect(local.allSatisfy { $0.interface?.index == 2 && $0.trafficDirection == .egress })
        #expect(local.last?.l7?.latencyNs == 3_000)
        // A retransmitted query at the client's veth is still the client's.
        #expect(obs.feed(a, q, obs: Obs.fromEndpoint, ifindex: 2, timeNs: 5_000).count == 1)

        let b = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.9.9.9")!]))
        var remote: [Flow] = []
        remote += obs.feed(b, q, obs: Obs.fromNetwork, ifindex: 4, timeNs: 1_000)
        remote += obs.feed(b, q, obs: Obs.toEndpoint, ifindex: 3, timeNs: 2_000)
        remote += obs.feed(b, r, obs: Obs.fromEndpoint, ifindex: 3, timeNs: 3_000)
        remote += obs.feed(b, r, obs: Obs.toNetwork, ifindex: 4, timeNs: 4_000)
        #expect(remote.map { $0.l7?.type } == [.request, .response], "\(remote)")
        #expect(remote.allSatisfy { $0.interface?.index == 3 && $0.trafficDirection == .ingress })

        let c = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.9.9.9")!]))
        var transit: [Flow] = []
        transit += obs.feed(c, q, obs: Obs.fromNetwork, ifindex: 4, timeNs: 1_000)
        transit += obs.feed(c, q, obs: Obs.toNetwork, ifindex: 5, timeNs: 2_000)
        transit += obs.feed(c, r, obs: Obs.fromNetwork, ifindex: 5, timeNs: 3_000)
        transit += obs.feed(c, r, obs: Obs.toNetwork, ifindex: 4, timeNs: 4_000)
        #expect(transit.map { $0.l7?.type } == [.request, .response], "\(transit)")
        #expect(transit.allSatisfy { $0.interface?.index == 5 })
    }

    @Test func queryAndResponseBecomeRequestAndResponseFlows() throws {
        let a = L7Assembler()
        let q = obs.feed(
            a, udp("10.0.0.1", "10.96.0.10", 33333, 53, W.query(id: 0x77, "Example.com", type: 1)),
            obs: Obs.fromEndpoint, timeNs: 10_000)
        try #require(q.count == 1)
        #expect(q[0].type == .l7 && q[0].eventType == CiliumEventType(type: 129, subType: 0))
        #expect(q[0].l7?.type == .request && q[0].isReply == false && q[0].trafficDirection == .egress)
        #expect(q[0].dns == DNS(query: "example.com.", observationSource: "proxy", rcode: 0, qtypes: ["A"]))
        #expect(q[0].l4 == .udp(UDP(sourcePort: 33333, destinationPort: 53)))
        #expect(q[0].flowProtocol == "DNS")

        var answer = W.header(id: 0x77, flags: 0x8180, qd: 1, an: 3) + W.question("example.com")
        answer += W.record(owner: W.ptr(12), type: 5, ttl: 600, rdata: W.name("edge.cdn.test"))
        answer += W.record(owner: W.name("edge.cdn.test"), type: 1, ttl: 60, rdata: [93, 184, 216, 34])
        answer += W.record(owner: W.name("edge.cdn.test"), type: 1, ttl: 45, rdata: [93, 184, 216, 35])
        let r = obs.feed(a, udp("10.96.0.10", "10.0.0.1", 53, 33333, answer), obs: Obs.toEndpoint, timeNs: 2_510_000)
        try #require(r.count == 1)
        #expect(r[0].l7?.type == .response && r[0].isReply == true && r[0].trafficDirection == .egress)
        #expect(r[0].l7?.latencyNs == 2_500_000)
        #expect(r[0].ip?.source == addr("10.96.0.10"))
        #expect(
            r[0].dns
                == DNS(
                    query: "example.com.", ips: ["93.184.216.34", "93.184.216.35"], ttl: 45, cnames: ["edge.cdn.test."],
                    observationSource: "proxy", rcode: 0, qtypes: ["A"], rrtypes: ["CNAME", "A", "A"]))
        #expect(a.stats.dnsQueries == 1 && a.stats.dnsResponses == 1 && a.stats.entries[.dnsPending] == 0)

        // Names memory: later flows to and from those IPs carry the query name.
        var flow = obs.packet(
            Frames.eth().ipv4(src: "10.0.0.1", dst: "93.184.216.34").tcp(sport: 5000, dport: 443, flags: [.syn]).build()
        ).flow
        a.annotateNames(&flow)
        #expect(flow.destinationNames == ["example.com."] && flow.sourceNames == [])
        var back = obs.packet(
            Frames.eth().ipv4(src: "93.184.216.35", dst: "10.0.0.1").tcp(sport: 443, dport: 5000, flags: [.syn, .ack])
                .build()
        ).flow
        a.annotateNames(&back)
        #expect(back.sourceNames == ["example.com."] && back.destinationNames == [])
        #expect(a.stats.entries[.names] == 2)
    }

    @Test func rcodesIPv6AndUnmatched() throws {
        let a = L7Assembler()
        _ = obs.feed(a, udp("fd00::1", "fd00::53", 4000, 53, W.query(id: 1, "gone.test", type: 28)), obs: Obs.toNetwork)
        let nx = W.header(id: 1, flags: 0x8183, qd: 1, an: 0) + W.question("gone.test", type: 28)
        let r = obs.feed(a, udp("fd00::53", "fd00::1", 53, 4000, nx), obs: Obs.fromNetwork)
        #expect(
            r.first?.dns == DNS(query: "gone.test.", ttl: 0, observationSource: "proxy", rcode: 3, qtypes: ["AAAA"]))
        #expect(r.first?.ip?.ipVersion == .ipv6 && r.first?.trafficDirection == .egress)

        // REFUSED without a query seen: unmatched, latency 0, direction from the observation point.
        let refused = W.header(id: 2, flags: 0x8105, qd: 1, an: 0) + W.question("x.test")
        let u = obs.feed(a, udp("10.96.0.10", "10.0.0.1", 53, 4001, refused), obs: Obs.toEndpoint)
        #expect(u.first?.dns?.rcode == 5 && u.first?.l7?.latencyNs == 0 && u.first?.trafficDirection == .egress)
        #expect(a.stats.dnsUnmatchedResponses == 1)

        // Same id, other name: not this query's answer.
        _ = obs.feed(a, udp("10.0.0.1", "10.96.0.10", 4002, 53, W.query(id: 3, "one.test")), timeNs: 1)
        let wrong = obs.feed(
            a, udp("10.96.0.10", "10.0.0.1", 53, 4002, W.aResponse(id: 3, "two.test", ips: [[1, 1, 1, 1]])),
            obs: Obs.toEndpoint, timeNs: 5)
        #expect(wrong.first?.l7?.latencyNs == 0)
        #expect(a.stats.entries[.dnsPending] == 1)
        // A query on a non-DNS port and a response *to* port 53 are ignored.
        #expect(obs.feed(a, udp("10.0.0.1", "10.0.0.2", 4003, 5353, W.query("m.local"))).isEmpty)
        #expect(obs.feed(a, udp("10.0.0.1", "10.0.0.2", 4003, 53, W.aResponse("m.local", ips: []))).isEmpty)
        // Malformed payloads are counted.
        #expect(obs.feed(a, udp("10.0.0.1", "10.0.0.2", 4004, 53, [1, 2, 3])).isEmpty)
        #expect(
            obs.feed(
                a,
                udp(
                    "10.0.0.1", "10.0.0.2", 4004, 53, W.header(id: 9, flags: 0, qd: 1, an: 0) + W.ptr(12) + [0, 1, 0, 1]
                )
            ).isEmpty)
        #expect(a.stats.malformed(.dns, "short_header") == 1 && a.stats.malformed(.dns, "pointer_loop") == 1)
        #expect(obs.feed(a, udp("10.0.0.1", "10.0.0.2", 4004, 53, W.header(id: 9, flags: 0, qd: 0, an: 0))).isEmpty)
        #expect(a.stats.malformed(.dns, "no_question") == 1)
    }

    @Test func snapshotCutResponseIsPartial() throws {
        let a = L7Assembler()
        _ = obs.feed(a, udp("10.0.0.1", "10.0.0.53", 4000, 53, W.query(id: 5, "many.test")))
        let big = W.aResponse(id: 5, "many.test", ips: (0..<60).map { [10, 1, 0, UInt8($0)] })
        #expect(big.count > 700)
        let r = obs.feed(
            a, udp("10.0.0.53", "10.0.0.1", 53, 4000, big), obs: Obs.toEndpoint, snapLen: 14 + 20 + 8 + 512)
        let ips = try #require(r.first?.dns?.ips)
        #expect(ips.count == (512 - 12 - 15) / 16)
        #expect(ips.first == "10.1.0.0")
        #expect(a.stats.dnsPartial == 1 && a.stats.dnsUnmatchedResponses == 0)
    }

    @Test func dnsOverTCPAcrossSegments() throws {
        let a = L7Assembler()
        var tcp = TCPConversation(serverPort: 53)
        let q = W.query(id: 0x42, "tcp.test")
        let framed = W.u16(UInt16(q.count)) + q
        #expect(obs.feed(a, tcp.fromClient(Array(framed[..<5]))).isEmpty)
        let req = obs.feed(a, tcp.fromClient(Array(framed[5...])), timeNs: 2_000_000_000)
        #expect(req.first?.dns?.query == "tcp.test.")
        let resp = W.aResponse(id: 0x42, "tcp.test", ips: [[1, 2, 3, 4]])
        let rf = W.u16(UInt16(resp.count)) + resp
        #expect(obs.feed(a, tcp.fromServer(Array(rf[..<1])), obs: Obs.toEndpoint).isEmpty)
        let r = obs.feed(a, tcp.fromServer(Array(rf[1...])), obs: Obs.toEndpoint, timeNs: 2_000_300_000)
        #expect(r.first?.dns?.ips == ["1.2.3.4"] && r.first?.l7?.latencyNs == 300_000)
        #expect(r.first?.l4 == .tcp(TCP(sourcePort: 53, destinationPort: 40000)))
        _ = obs.feed(a, tcp.fromClient([], flags: [.rst]))
        #expect(a.stats.entries[.dnsTCPStreams] == 0 && a.stats.entries[.reassemblyBytes] == 0)
    }

    @Test func namesMemoryExpiresAndClamps() throws {
        let a = L7Assembler(config: L7Config(limits: L7Limits(minNameTTL: .seconds(10), maxNameTTL: .seconds(100))))
        let t0: UInt64 = 1_000_000_000
        _ = obs.feed(a, udp("10.0.0.1", "10.0.0.53", 4000, 53, W.query(id: 1, "short.test")), timeNs: t0)
        _ = obs.feed(
            a, udp("10.0.0.53", "10.0.0.1", 53, 4000, W.aResponse(id: 1, "short.test", ips: [[10, 9, 9, 9]], ttl: 1)),
            obs: Obs.toEndpoint, timeNs: t0)
        _ = obs.feed(a, udp("10.0.0.1", "10.0.0.53", 4001, 53, W.query(id: 2, "long.test")), timeNs: t0)
        _ = obs.feed(
            a,
            udp("10.0.0.53", "10.0.0.1", 53, 4001, W.aResponse(id: 2, "long.test", ips: [[10, 9, 9, 9]], ttl: 100_000)),
            obs: Obs.toEndpoint, timeNs: t0)
        var f = obs.packet(Frames.eth().ipv4(src: "10.0.0.1", dst: "10.9.9.9").udp(sport: 1, dport: 2).build()).flow
        a.annotateNames(&f)
        #expect(f.destinationNames == ["long.test.", "short.test."])
        a.expire(nowNs: t0 + 11_000_000_000)  // past the 10 s floor of the 1 s TTL
        f.destinationNames = []
        a.annotateNames(&f)
        #expect(f.destinationNames == ["long.test."])
        a.expire(nowNs: t0 + 101_000_000_000)  // past the 100 s ceiling
        f.destinationNames = []
        a.annotateNames(&f)
        #expect(f.destinationNames == [] && a.stats.entries[.names] == 0)
    }

    @Test func floodOfUnansweredQueriesStaysAtTheLimit() throws {
        let a = L7Assembler(config: L7Config(limits: L7Limits(maxPendingDNSQueries: 100, dnsQueryTimeout: .seconds(5))))
        for i in 0..<10_000 {
            let q = udp(
                "10.0.0.1", "10.0.0.53", UInt16(1024 + i % 60000), 53, W.query(id: UInt16(i & 0xffff), "q\(i).test"))
            let (flow, snap) = obs.packet(q, timeNs: UInt64(i) * 1_000)
            _ = a.process(flow: flow, frame: snap, monotonicNs: UInt64(i) * 1_000)
            if i % 1000 == 0 { #expect(a.stats.entries[.dnsPending]! <= 100) }
        }
        #expect(a.stats.entries[.dnsPending] == 100)
        #expect(a.stats.unansweredDNS == 9_900)
        #expect(a.stats.evictions[.dnsPending] == 9_900)
        a.expire(nowNs: 100_000_000_000)
        #expect(a.stats.entries[.dnsPending] == 0 && a.stats.unansweredDNS == 10_000)
    }

    @Test func floodOfHalfOpenConnectionsStaysAtTheLimits() throws {
        let limits = L7Limits(
            maxHTTPConnections: 50, maxPendingRequestsPerConnection: 4, maxPendingHTTPRequests: 120,
            maxHTTPHeaderBytes: 1024, connectionIdleTimeout: .seconds(30), maxReassemblyBytes: 20_000)
        let a = L7Assembler(config: L7Config(limits: limits))
        for i in 0..<1_000 {
            var c = TCPConversation(clientPort: UInt16(10_000 + i))
            // Two whole requests (never answered) and the beginning of a third head (buffered).
            _ = obs.feed(
                a, c.fromClient("GET /\(i) HTTP/1.1\r\nHost: h\r\n\r\nGET /again HTTP/1.1\r\nHost: h\r\n\r\n"),
                timeNs: UInt64(i) * 1_000_000)
            _ = obs.feed(
                a, c.fromClient("GET /third HTTP/1.1\r\nHost: h\r\nX-Pad: " + String(repeating: "x", count: 400)),
                timeNs: UInt64(i) * 1_000_000 + 1)
            let s = a.stats
            #expect(s.entries[.httpConnections]! <= 50)
            #expect(s.entries[.httpPending]! <= 120)
            #expect(s.entries[.reassemblyBytes]! <= 20_000)
        }
        let s = a.stats
        #expect(s.entries[.httpConnections] == 50)
        #expect(s.httpRequests >= 2_000)
        #expect(s.reassemblyBudgetExceeded > 0)
        // Every request is pending or counted unanswered.
        #expect(UInt64(s.entries[.httpPending]!) + s.unansweredHTTP == s.httpRequests)
        a.expire(nowNs: 10_000_000_000_000)
        let e = a.stats
        #expect(e.entries[.httpConnections] == 0 && e.entries[.httpPending] == 0 && e.entries[.reassemblyBytes] == 0)
        #expect(e.unansweredHTTP == e.httpRequests)
    }

    @Test func nonL7TrafficIsIgnoredCheaply() {
        let a = L7Assembler()
        var tcp = TCPConversation(serverPort: 443)
        #expect(obs.feed(a, tcp.fromClient("GET / HTTP/1.1\r\n\r\n")).isEmpty)
        let icmp = Frames.v4().icmpv4(.echoRequest(id: 1, sequence: 1)).build()
        #expect(obs.feed(a, icmp).isEmpty)
        // Drop events are not read.
        var e = EventBuilder.trace(frame: udp("10.0.0.1", "10.0.0.53", 4000, 53, W.query("d.test")))
        e.kind = SpyEventLayout.Kind.drop.rawValue
        let drop = try! obs.decoder.decode(e.build())
        #expect(a.process(flow: drop, frame: e.snapshot, monotonicNs: 1).isEmpty)
        #expect(
            a.stats
                == {
                    var s = L7Stats()
                    s.entries = [
                        .dnsPending: 0, .dnsClaims: 0, .dnsTCPStreams: 0, .httpConnections: 0, .httpPending: 0,
                        .names: 0, .reassemblyBytes: 0
                    ]
                    return s
                }())
    }
}
