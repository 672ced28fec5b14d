import SpyglassFlow
import SpyglassTesting
import Testing

/// What a hostile pod can send at the L7 assembler: DNS responses nobody asked for, TCP segments forged into other
/// connections (far out of window, just ahead of the stream, with an inflated IP length). Each case checks that the
/// attack is counted and that the real traffic after it is still read.
@Suite("L7 assembler: hostile input")
struct L7HostileInputTests {
    typealias W = DNSWire
    typealias Exchange = L7AssemblerHTTPTests.Exchange
    let obs = Observer()

    func udp(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ payload: [UInt8]) -> [UInt8] {
        let eth = Frames.eth()
        let l3 = src.contains(":") ? eth.ipv6(src: src, dst: dst) : eth.ipv4(src: src, dst: dst)
        return l3.udp(sport: sport, dport: dport).payload(payload).build()
    }

    func names(_ a: L7Assembler, of ip: String) -> [String] {
        var f = obs.packet(
            Frames.eth().ipv4(src: "10.0.0.1", dst: ip).tcp(sport: 5000, dport: 80, flags: [.syn]).build()
        ).flow
        a.annotateNames(&f)
        return f.destinationNames
    }

    // MARK: - Names memory

    @Test func spoofedResponsesNeverNameAddresses() throws {
        let a = L7Assembler()
        let victim: [UInt8] = [10, 0, 0, 80]
        // Unsolicited: no query at all, from a pod's port 53.
        for id in [UInt16(1), 2, 3] {
            let r = obs.feed(
                a, udp("10.0.0.66", "10.0.0.1", 53, 4000, W.aResponse(id: id, "evil.example", ips: [victim])),
                obs: Obs.toEndpoint)
            #expect(r.count == 1, "the response is still a flow")
        }
        #expect(names(a, of: "10.0.0.80") == [])
        #expect(a.stats.namesRejected[L7Stats.unsolicited] == 3)

        // A real query is pending; responses that differ in server address, server port, client port or id do not
        // answer it.
        _ = obs.feed(a, udp("10.0.0.1", "10.96.0.10", 4001, 53, W.query(id: 7, "good.example")), timeNs: 1_000)
        let forged: [(String, UInt16, UInt16, UInt16)] = [
            ("10.0.0.66", 53, 4001, 7), ("10.96.0.10", 5353, 4001, 7), ("10.96.0.10", 53, 4002, 7),
            ("10.96.0.10", 53, 4001, 8)
        ]
        for (src, sport, dport, id) in forged {
            let payload = W.aResponse(id: id, "good.example", ips: [victim])
            if sport == 53 {
                _ = obs.feed(a, udp(src, "10.0.0.1", sport, dport, payload), obs: Obs.toEndpoint, timeNs: 2_000)
            } else {
                #expect(
                    obs.feed(a, udp(src, "10.0.0.1", sport, dport, payload), obs: Obs.toEndpoint, timeNs: 2_000).isEmpty
                )
            }
        }
        #expect(names(a, of: "10.0.0.80") == [])
        #expect(a.stats.namesRejected[L7Stats.unsolicited] == 6)

        // Right id, addresses and ports, wrong question: another name, another type, or none at all.
        _ = obs.feed(
            a, udp("10.96.0.10", "10.0.0.1", 53, 4001, W.aResponse(id: 7, "evil.example", ips: [victim])),
            obs: Obs.toEndpoint, timeNs: 3_000)
        var aaaa = W.header(id: 7, flags: 0x8180, qd: 1, an: 1) + W.question("good.example", type: 28)
        aaaa += W.record(owner: W.ptr(12), type: 1, ttl: 300, rdata: victim)
        _ = obs.feed(a, udp("10.96.0.10", "10.0.0.1", 53, 4001, aaaa), obs: Obs.toEndpoint, timeNs: 3_000)
        let noQuestion =
            W.header(id: 7, flags: 0x8180, qd: 0, an: 1)
            + W.record(owner: W.name("good.example"), type: 1, ttl: 300, rdata: victim)
        _ = obs.feed(a, udp("10.96.0.10", "10.0.0.1", 53, 4001, noQuestion), obs: Obs.toEndpoint, timeNs: 3_000)
        #expect(names(a, of: "10.0.0.80") == [])
        #expect(a.stats.namesRejected[L7Stats.questionMismatch] == 2)
        #expect(a.stats.malformed(.dns, "no_question") == 1, "a response without its question is not even a flow")
        #expect(a.stats.entries[.dnsPending] == 1, "the query still waits for its answer")

        // The real answer names the address and is paired (latency from the query).
        let real = obs.feed(
            a, udp("10.96.0.10", "10.0.0.1", 53, 4001, W.aResponse(id: 7, "good.example", ips: [[10, 0, 0, 81]])),
            obs: Obs.toEndpoint, timeNs: 9_000)
        #expect(real.first?.l7?.latencyNs == 8_000)
        #expect(names(a, of: "10.0.0.81") == ["good.example."])
        #expect(names(a, of: "10.0.0.80") == [])
        #expect(a.stats.namesRejected.values.reduce(0, +) == 8)
    }

    // MARK: - Stream resynchronisation

    /// One forged segment far ahead of the client's stream (and a forged RST there) must not hide later requests.
    @Test func outOfWindowSegmentIsSkipped() throws {
        var x = Exchange()
        #expect(x.client("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").first?.http?.url == "http://h/one")
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").first?.http?.code == 200)
        let real = x.tcp.clientSeq
        x.tcp.clientSeq = real &+ 0x4000_0000
        #expect(x.client("GET /forged HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty)
        x.tcp.clientSeq = real &+ 0x7000_0000
        #expect(x.client([], flags: [.rst]).isEmpty)
        x.tcp.clientSeq = real
        let two = x.client("GET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(two.first?.http?.url == "http://h/two", "\(two)")
        let resp = x.server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        #expect(
            resp.first?.http?.method == "GET" && resp.first?.http?.url == "http://h/two",
            "the RST did not end the connection")
        #expect(x.a.stats.malformed(.http, L7Stats.outOfWindow) == 2)
        #expect(x.a.stats.httpRequests == 2 && x.a.stats.httpUnmatchedResponses == 0)
    }

    /// A forged segment inside the window moves the position ahead; the real stream showing up at the old position
    /// (its ACK or its next data) proves the jump was not its own, and parsing resumes at the next request.
    @Test func forgedSegmentAheadIsUndoneByTheRealStream() throws {
        var x = Exchange()
        #expect(x.client("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").count == 1)
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").count == 1)
        let real = x.tcp.clientSeq
        x.tcp.clientSeq = real &+ 3_000_000
        _ = x.client("x")
        x.tcp.clientSeq = real
        for i in 2...4 {
            let r = x.client("GET /\(i) HTTP/1.1\r\nHost: h\r\n\r\n")
            #expect(r.first?.http?.url == "http://h/\(i)", "request \(i): \(r)")
            #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").first?.http?.url == "http://h/\(i)")
        }
        #expect(x.a.stats.httpRequests == 4)
        #expect(x.a.stats.streamResyncs >= 1)
    }

    /// A segment whose IPv4 total length claims 60 000 bytes that the packet does not have.
    @Test func inflatedIPLengthIsSkipped() throws {
        var x = Exchange()
        #expect(x.client("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").count == 1)
        var frame = x.tcp.fromClient(bytes("x"))
        x.tcp.clientSeq &-= 1
        frame[14 + 2] = 0xea
        frame[14 + 3] = 0x60
        x.t += 1_000_000
        #expect(obs.feed(x.a, frame, timeNs: x.t).isEmpty)
        #expect(x.a.stats.malformed(.http, L7Stats.badIPLength) == 1)
        let two = x.client("GET /two HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(two.first?.http?.url == "http://h/two", "\(two)")

        // The same, reported only for its payload (aggregation folded it: no aggregated_bytes): the event's own
        // packet length exposes it.
        var folded = x.tcp.fromClient(bytes("x"))
        x.tcp.clientSeq &-= 1
        folded[14 + 2] = 0xea
        folded[14 + 3] = 0x60
        var e = EventBuilder.trace(frame: folded, timestampNs: x.t + 1)
        e.aggregated = 0
        e.aggregatedBytes = 0
        let flow = try obs.decoder.decode(e.build())
        #expect(x.a.process(flow: flow, frame: e.snapshot, monotonicNs: x.t + 1, packetLength: folded.count).isEmpty)
        #expect(x.a.stats.malformed(.http, L7Stats.badIPLength) == 2)
        let three = x.client("GET /three HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(three.first?.http?.url == "http://h/three", "\(three)")
    }

    /// After a real jump (heavy event loss), consecutive segments beyond the window are accepted from the second.
    @Test func consecutiveOutOfWindowSegmentsMoveThePosition() throws {
        var x = Exchange()
        #expect(x.client("GET /one HTTP/1.1\r\nHost: h\r\n\r\n").count == 1)
        x.tcp.clientSeq &+= 0x2000_0000
        #expect(x.client("GET /lost HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty)
        let r = x.client("GET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(r.first?.http?.url == "http://h/after", "\(r)")
        #expect(x.a.stats.malformed(.http, L7Stats.outOfWindow) == 1)
    }

    /// DNS over TCP: a forged out-of-window segment, then the real query is still read.
    @Test func dnsOverTCPSurvivesAForgedSegment() throws {
        let a = L7Assembler()
        var tcp = TCPConversation(serverPort: 53)
        func framed(_ m: [UInt8]) -> [UInt8] { W.u16(UInt16(m.count)) + m }
        #expect(obs.feed(a, tcp.fromClient(framed(W.query(id: 1, "one.test")))).first?.dns?.query == "one.test.")
        let real = tcp.clientSeq
        tcp.clientSeq = real &+ 0x5000_0000
        _ = obs.feed(a, tcp.fromClient([0xff, 0xff, 1, 2, 3]))
        tcp.clientSeq = real &+ 1_000_000
        _ = obs.feed(a, tcp.fromClient([0xff]))
        tcp.clientSeq = real
        #expect(obs.feed(a, tcp.fromClient(framed(W.query(id: 2, "two.test")))).first?.dns?.query == "two.test.")
        #expect(obs.feed(a, tcp.fromClient(framed(W.query(id: 3, "three.test")))).first?.dns?.query == "three.test.")
        #expect(a.stats.malformed(.dns, L7Stats.outOfWindow) == 1)
    }

    // MARK: - Header redaction

    func requestHeaders(_ config: L7Config, _ head: String) -> [String: String] {
        var x = Exchange(L7Assembler(config: config))
        let flows = x.client("GET / HTTP/1.1\r\nHost: h\r\n" + head + "\r\n")
        return Dictionary(
            (flows.first?.http?.headers ?? []).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func defaultDenyListCoversCredentialHeaders() {
        let secrets = [
            "X-Amz-Security-Token", "x-vault-token", "PRIVATE-TOKEN", "X-Goog-Api-Key", "X-CSRF-Token", "X-Xsrf-Token",
            "X-Csrftoken", "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "Apikey",
            "X-Auth-Token", "X-Client-Secret", "X-Db-Password", "X-Session-Id", "X-Amz-Signature",
            "X-Goog-Iam-Authority-Selector",
            "Ocp-Apim-Subscription-Key", "X-Aws-Credential"
        ]
        let kept = ["X-Request-Id", "Accept", "User-Agent", "X-Tenant", "Content-Type"]
        let h = requestHeaders(L7Config(), (secrets + kept).map { "\($0): v-\($0)\r\n" }.joined())
        #expect(h.count == secrets.count + kept.count + 1, "\(h)")
        for (k, v) in h {
            let secret = secrets.contains { $0.lowercased() == k.lowercased() }
            #expect(secret ? v == L7Config.redactedValue : v != L7Config.redactedValue, "\(k): \(v)")
        }
    }

    @Test func allowListRedactsEverythingElseAndPatternsMatchAtTheirEnds() {
        let h = requestHeaders(
            L7Config(headerAllowList: ["x-request-id"]), "X-Request-Id: 1\r\nX-Whatever: 2\r\nAuthorization: 3\r\n")
        #expect(
            h == [
                "X-Request-Id": "1", "X-Whatever": L7Config.redactedValue, "Authorization": L7Config.redactedValue,
                "Host": L7Config.redactedValue
            ])
        let d = requestHeaders(
            L7Config(headerDenyList: ["X-Goog-*", "*-Id", "*mid*"]),
            "X-Goog-User-Project: a\r\nX-Googx: b\r\nX-Request-Id: c\r\nX-Id-Not: d\r\nX-Amid-X: e\r\n")
        #expect(
            d == [
                "X-Goog-User-Project": L7Config.redactedValue, "X-Googx": "b", "X-Request-Id": L7Config.redactedValue,
                "X-Id-Not": "d", "X-Amid-X": L7Config.redactedValue, "Host": "h"
            ])
        #expect(
            requestHeaders(L7Config(headerDenyList: []), "Authorization: x\r\n")["Authorization"] == "x",
            "Hubble's behaviour")
    }
}
