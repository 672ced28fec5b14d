import SpyglassFlow
import SpyglassTesting
import Testing

@Suite("L7 assembler: HTTP")
struct L7AssemblerHTTPTests {
    let obs = Observer()
    let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// Feeds client segments at `from-endpoint` and server segments at `to-endpoint` of the same veth (the client
    /// pod's side), 1 ms apart.
    struct Exchange {
        var a: L7Assembler
        var tcp = TCPConversation()
        var obs = Observer()
        var t: UInt64 = 1_000_000_000
        var clientPoint = Obs.fromEndpoint
        var serverPoint = Obs.toEndpoint
        var ifindex: UInt32 = 2
        var snapLen = SpyEventLayout.maxSnapLen

        init(_ a: L7Assembler = L7Assembler(), tcp: TCPConversation = TCPConversation()) {
            self.a = a
            self.tcp = tcp
        }

        mutating func client(_ b: [UInt8], flags: TCPFlags = [.ack, .psh]) -> [Flow] {
            t += 1_000_000
            return obs.feed(
                a, tcp.fromClient(b, flags: flags), obs: clientPoint, ifindex: ifindex, timeNs: t, snapLen: snapLen)
        }
        mutating func server(_ b: [UInt8], flags: TCPFlags = [.ack, .psh]) -> [Flow] {
            t += 1_000_000
            return obs.feed(
                a, tcp.fromServer(b, flags: flags), obs: serverPoint, ifindex: ifindex, timeNs: t, snapLen: snapLen)
        }
        mutating func client(_ s: String, flags: TCPFlags = [.ack, .psh]) -> [Flow] { client(bytes(s), flags: flags) }
        mutating func server(_ s: String, flags: TCPFlags = [.ack, .psh]) -> [Flow] { server(bytes(s), flags: flags) }
    }

    @Test func getWithTraceparentPairsIntoAResponse() throws {
        var x = Exchange()
        let req = x.client(
            "GET /api/items?id=7 HTTP/1.1\r\nHost: shop.test\r\ntraceparent: 00-\(traceID)-00f067aa0ba902b7-01\r\n"
                + "Authorization: Bearer secret\r\nAccept: */*\r\n\r\n")
        try #require(req.count == 1)
        let r = req[0]
        #expect(r.type == .l7)
        #expect(r.eventType == CiliumEventType(type: 129, subType: 0))
        #expect(r.l7?.type == .request && r.l7?.latencyNs == 0)
        #expect(r.isReply == false)
        #expect(r.trafficDirection == .egress)
        #expect(r.traceObservationPoint == .unknownPoint)
        #expect(r.ip?.source == addr("10.0.0.1") && r.ip?.destination == addr("10.0.0.2"))
        #expect(r.l4 == .tcp(TCP(sourcePort: 40000, destinationPort: 80)))
        #expect(r.nodeName == "kind/node-1" && r.interface == NetworkInterface(index: 2, name: "eth0"))
        #expect(r.verdict == .forwarded)
        #expect(r.traceContext == TraceContext(traceID: traceID))
        #expect(
            r.http
                == HTTP(
                    code: 0, method: "GET", url: "http://shop.test/api/items?id=7", protocol: "HTTP/1.1",
                    headers: [
                        HTTPHeader(key: "Accept", value: "*/*"),
                        HTTPHeader(key: "Authorization", value: "HUBBLE_REDACTED"),
                        HTTPHeader(key: "Host", value: "shop.test"),
                        HTTPHeader(key: "Traceparent", value: "00-\(traceID)-00f067aa0ba902b7-01")
                    ]))
        #expect(r.flowProtocol == "HTTP")

        let resp = x.server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: s=1\r\n\r\nok")
        try #require(resp.count == 1)
        let p = resp[0]
        #expect(p.l7?.type == .response && p.isReply == true)
        #expect(p.l7?.latencyNs == 1_000_000)
        #expect(p.trafficDirection == .egress, "the response inherits its request's direction")
        #expect(p.ip?.source == addr("10.0.0.2"), "a response's source is the server")
        #expect(p.l4 == .tcp(TCP(sourcePort: 80, destinationPort: 40000)))
        #expect(p.traceContext == TraceContext(traceID: traceID))
        #expect(
            p.http
                == HTTP(
                    code: 200, method: "GET", url: "http://shop.test/api/items?id=7", protocol: "HTTP/1.1",
                    headers: [
                        HTTPHeader(key: "Content-Length", value: "2"),
                        HTTPHeader(key: "Set-Cookie", value: "HUBBLE_REDACTED")
                    ]))
        let s = x.a.stats
        #expect(s.httpRequests == 1 && s.httpResponses == 1 && s.httpUnmatchedResponses == 0)
        #expect(s.entries[.httpPending] == 0)
    }

    @Test func postPutAndStatusCodes() throws {
        var x = Exchange()
        #expect(
            x.client("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello").map { $0.http?.method } == [
                "POST"
            ])
        #expect(x.server("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").map { $0.http?.code } == [404])
        #expect(
            x.client("PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").map { $0.http?.method } == ["PUT"])
        let last = x.server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
        #expect(last.map { $0.http?.code } == [500])
        #expect(last.first?.http?.method == "PUT" && last.first?.http?.url == "http://h/b")
    }

    @Test func requestHeadSplitAtEveryBytePosition() throws {
        let head = bytes(
            "GET /split HTTP/1.1\r\nHost: h.test\r\nX-Trace: 1\r\ntraceparent: 00-\(traceID)-00f067aa0ba902b7-01\r\n\r\n"
        )
        let response = bytes("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
        var reference: HTTP? = nil
        for cut in 1..<head.count {
            var x = Exchange()
            #expect(x.client(Array(head[..<cut])).isEmpty, "cut \(cut)")
            let flows = x.client(Array(head[cut...]))
            try #require(flows.count == 1, "cut \(cut)")
            if reference == nil { reference = flows[0].http }
            #expect(flows[0].http == reference)
            #expect(flows[0].traceContext?.traceID == traceID)
            // And the response split at a related position.
            let rcut = cut % response.count
            var got = x.server(Array(response[..<max(1, rcut)]))
            got += x.server(Array(response[max(1, rcut)...]))
            #expect(
                got.count == 1 && got.first?.http?.code == 200 && got.first?.http?.url == "http://h.test/split",
                "cut \(cut)")
        }
    }

    @Test func responseSplitAtEveryBytePosition() throws {
        let response = bytes("HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
        for cut in 1..<response.count {
            var x = Exchange()
            _ = x.client("POST /r HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
            var got = x.server(Array(response[..<cut]))
            got += x.server(Array(response[cut...]))
            #expect(got.count == 1 && got.first?.http?.code == 201, "cut \(cut)")
            // The body was skipped exactly: the next exchange on the connection works.
            _ = x.client("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
            let next = x.server("HTTP/1.1 204 No Content\r\n\r\n")
            #expect(next.first?.http?.url == "http://h/next" && next.first?.http?.code == 204, "cut \(cut)")
        }
    }

    @Test func keepAliveWithContentLengthAndChunkedBodies() throws {
        var x = Exchange()
        _ = x.client("POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello")
        #expect(x.client(" world").isEmpty)  // rest of the body
        #expect(
            x.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel").first?.http?.url == "http://h/one"
        )
        #expect(x.server("lo\r\n6;ext=1\r").isEmpty)
        #expect(x.server("\n world\r\n0\r\nX-Trailer: t\r\n\r\n").isEmpty)
        // Request with a chunked body, split mid-size-line.
        #expect(
            x.client("PUT /two HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1").first?.http?.method == "PUT"
        )
        #expect(x.client("0\r\n0123456789abcdef\r\n0\r\n\r\n").isEmpty)
        #expect(x.server("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").first?.http?.url == "http://h/two")
        _ = x.client("GET /three HTTP/1.1\r\nHost: h\r\n\r\n")
        let third = x.server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
        #expect(third.first?.http?.url == "http://h/three")
        let s = x.a.stats
        #expect(s.httpRequests == 3 && s.httpResponses == 3 && s.malformedTotal(.http) == 0 && s.streamResyncs == 0)
    }

    @Test func pipelinedRequestsPairInOrder() throws {
        var x = Exchange()
        let reqs = x.client(
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /3 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /4 HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        #expect(reqs.map { $0.http?.url } == ["http://h/1", "http://h/2", "http://h/3", "http://h/4"])
        #expect(x.a.stats.entries[.httpPending] == 4)
        // The HEAD response announces a length but has no body.
        let resps = x.server(
            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        )
        #expect(resps.map { $0.http?.url } == ["http://h/1", "http://h/2", "http://h/3", "http://h/4"])
        #expect(resps.map { $0.http?.method } == ["GET", "HEAD", "POST", "GET"])
        #expect(resps.map { $0.http?.code } == [200, 200, 201, 404])
        #expect(resps.map { $0.l7?.latencyNs } == [1_000_000, 1_000_000, 1_000_000, 1_000_000])
        #expect(x.a.stats.httpInterimResponses == 1)
        #expect(x.a.stats.entries[.httpPending] == 0)
    }

    @Test func connectionEndingMidExchange() throws {
        // Server FIN with two requests pending: both unanswered, connection state gone once both sides closed.
        var x = Exchange()
        _ = x.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(x.server(bytes(""), flags: [.fin, .ack]).isEmpty)
        #expect(x.a.stats.unansweredHTTP == 2)
        _ = x.client(bytes(""), flags: [.fin, .ack])
        #expect(x.a.stats.entries[.httpConnections] == 0)

        // RST after one answered and one pending.
        var y = Exchange()
        _ = y.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = y.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        _ = y.client("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        _ = y.client(bytes(""), flags: [.rst])
        #expect(y.a.stats.unansweredHTTP == 1)
        #expect(y.a.stats.entries[.httpConnections] == 0 && y.a.stats.entries[.httpPending] == 0)

        // Client half-closes after its request: the response still pairs.
        var z = Exchange()
        _ = z.client("GET /c HTTP/1.0\r\n\r\n", flags: [.fin, .ack, .psh])
        let resp = z.server("HTTP/1.0 200 OK\r\n\r\nbody until close", flags: [.fin, .ack, .psh])
        #expect(resp.first?.http?.url == "http://10.0.0.2/c")
        #expect(z.a.stats.unansweredHTTP == 0 && z.a.stats.entries[.httpConnections] == 0)
    }

    @Test func undelimitedBodyWaitsForNextStartLine() throws {
        var x = Exchange()
        _ = x.client("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome bytes").count == 1)
        #expect(x.server("HTTP/1.1 looks like a start line\r\n\r\nbut is body text").isEmpty)
        #expect(x.a.stats.malformed(.http, "bad_start_line") == 1)
        // A request with an invalid Transfer-Encoding: emitted, counted, body skipped until a new request line.
        #expect(x.client("POST /bad HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nxxxx").count == 1)
        #expect(x.a.stats.malformed(.http, "bad_transfer_encoding") == 1)
        #expect(x.client("more body that is not a request").isEmpty)
        #expect(x.client("GET /ok HTTP/1.1\r\nHost: h\r\n\r\n").first?.http?.url == "http://h/ok")
    }

    @Test func snapshotCutHeadsAndBodies() throws {
        var x = Exchange()
        x.snapLen = 14 + 20 + 20 + 64  // 64 payload bytes
        let long = "GET /long HTTP/1.1\r\nHost: h.test\r\nX-Pad: " + String(repeating: "p", count: 100) + "\r\n\r\n"
        let cut = x.client(long)
        #expect(cut.count == 1)
        #expect(cut.first?.http?.url == "http://h.test/long")
        #expect(cut.first?.http?.headers == [HTTPHeader(key: "Host", value: "h.test")])
        #expect(x.a.stats.httpPartial == 1)
        // A body much longer than the snapshot is skipped by count (IP length), the next response is found.
        x.snapLen = SpyEventLayout.maxSnapLen
        let resp = x.server("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n" + String(repeating: "b", count: 1000))
        #expect(resp.first?.http?.code == 200)
        x.snapLen = 14 + 20 + 20 + 512
        #expect(x.server(String(repeating: "b", count: 1400)).isEmpty)
        #expect(x.server(String(repeating: "b", count: 600)).isEmpty)
        _ = x.client("GET /after HTTP/1.1\r\nHost: h.test\r\n\r\n")
        #expect(x.server("HTTP/1.1 304 Not Modified\r\n\r\n").first?.http?.url == "http://h.test/after")
    }

    @Test func sequenceGapsAndRetransmissions() throws {
        var x = Exchange()
        _ = x.client("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
        // A retransmitted request does not produce a second flow.
        var replay = x.tcp
        replay.clientSeq &-= UInt32(bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\n").count)
        #expect(x.obs.feed(x.a, replay.fromClient("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")).isEmpty)
        _ = x.server("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        // 50 body bytes lost (never observed), then the last 40: skipped by count.
        x.tcp.serverSeq &+= 50
        #expect(x.server(String(repeating: "z", count: 40)).isEmpty)
        _ = x.client("GET /b HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").first?.http?.url == "http://h/b")
        #expect(x.a.stats.streamResyncs == 0)
        // A gap at a message boundary loses the place; the next segment starting with a request line resyncs.
        x.tcp.clientSeq &+= 30
        #expect(x.client("GET /c HTTP/1.1\r\nHost: h\r\n\r\n").first?.http?.url == "http://h/c")
        #expect(x.a.stats.streamResyncs == 1)
    }

    @Test func midStreamStartAndGarbage() throws {
        var x = Exchange()
        // The agent starts in the middle of a response body: ignored until a status line starts a segment.
        #expect(x.server("tail of an earlier body").isEmpty)
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").first?.http?.method == "")
        #expect(x.a.stats.httpUnmatchedResponses == 1)
        // TLS on port 80 and random bytes: nothing, no crash.
        var rng = SeededRandom(seed: 80)
        for _ in 0..<300 {
            #expect(x.client(rng.bytes(Int(rng.next() % 200) + 1)).allSatisfy { $0.http?.method != nil })
        }
    }

    @Test func exchangeCutAtEveryLengthThenClosed() throws {
        let request = bytes("GET /t HTTP/1.1\r\nHost: h\r\ntraceparent: 00-\(traceID)-00f067aa0ba902b7-01\r\n\r\n")
        let response = bytes("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody")
        for n in 1...request.count {
            var x = Exchange()
            let flows = x.client(Array(request.prefix(n)))
            #expect(flows.count == (n == request.count ? 1 : 0), "n \(n)")
            _ = x.client(bytes(""), flags: [.rst])
            let s = x.a.stats
            #expect(
                s.entries[.httpConnections] == 0 && s.entries[.reassemblyBytes] == 0 && s.entries[.httpPending] == 0)
            #expect(s.unansweredHTTP == (n == request.count ? 1 : 0))
        }
        for n in 1...response.count {
            var x = Exchange()
            _ = x.client(request)
            let flows = x.server(Array(response.prefix(n)), flags: [.fin, .ack, .psh])
            let headComplete = n >= response.count - 4
            #expect(flows.count == (headComplete ? 1 : 0), "n \(n)")
            #expect(x.a.stats.unansweredHTTP == (headComplete ? 0 : 1))
            #expect(x.a.stats.entries[.reassemblyBytes] == 0)
        }
    }

    @Test func oversizedHeadersAreBoundedAndCounted() throws {
        let a = L7Assembler(config: L7Config(limits: L7Limits(maxHTTPHeaderBytes: 1024)))
        var x = Exchange(a)
        var flows = x.client("GET /big HTTP/1.1\r\nHost: h\r\n")
        for i in 0..<20 { flows += x.client("X-Filler-\(i): " + String(repeating: "f", count: 100) + "\r\n") }
        #expect(a.stats.malformed(.http, "oversized_headers") == 1)
        #expect(flows.count == 1 && flows.first?.http?.url == "http://h/big")
        #expect(a.stats.entries[.reassemblyBytes] == 0)
        // The response still pairs with the salvaged request.
        #expect(
            x.server("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n\r\n").first?.http?.url
                == "http://h/big")
    }

    @Test func reporterDirectionPerObservationSite() throws {
        // One exchange seen on the client pod's veth (ifindex 2: from-endpoint / to-endpoint) and on the server
        // pod's veth (ifindex 3: to-endpoint for the request, from-endpoint for the response).
        let a = L7Assembler()
        var tcp = TCPConversation()
        let o = Observer()
        let req = tcp.fromClient("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        let resp = tcp.fromServer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        let r1 = o.feed(a, req, obs: Obs.fromEndpoint, ifindex: 2, timeNs: 1_000)
        let r2 = o.feed(a, req, obs: Obs.toEndpoint, ifindex: 3, timeNs: 2_000)
        let p2 = o.feed(a, resp, obs: Obs.fromEndpoint, ifindex: 3, timeNs: 5_000)
        let p1 = o.feed(a, resp, obs: Obs.toEndpoint, ifindex: 2, timeNs: 7_000)
        #expect(r1.first?.trafficDirection == .egress)
        #expect(r2.first?.trafficDirection == .ingress)
        #expect(p2.first?.trafficDirection == .ingress && p2.first?.l7?.latencyNs == 3_000, "server side")
        #expect(p1.first?.trafficDirection == .egress && p1.first?.l7?.latencyNs == 6_000, "client side")
        #expect(p1.first?.interface?.index == 2 && p2.first?.interface?.index == 3)

        // Uplink: a device reports only the roles the node itself plays. The node as the client (10.0.0.1):
        let b = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.0.0.1")!]))
        var t2 = TCPConversation()
        #expect(
            o.feed(b, t2.fromClient("GET / HTTP/1.1\r\n\r\n"), obs: Obs.toNetwork, ifindex: 4).first?.trafficDirection
                == .egress)
        #expect(
            o.feed(b, t2.fromServer("HTTP/1.1 200 OK\r\n\r\n"), obs: Obs.fromNetwork, ifindex: 4).first?
                .trafficDirection == .egress)
        // The node as the server (10.0.0.2):
        let c = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.0.0.2")!]))
        var t3 = TCPConversation()
        #expect(
            o.feed(c, t3.fromClient("GET / HTTP/1.1\r\n\r\n"), obs: Obs.fromNetwork, ifindex: 4).first?.trafficDirection
                == .ingress)
        #expect(
            o.feed(c, t3.fromServer("HTTP/1.1 200 OK\r\n\r\n"), obs: Obs.toNetwork, ifindex: 4).first?.trafficDirection
                == .ingress)
        // A response whose request was not seen gets the direction its request would have had.
        #expect(
            o.feed(c, t3.fromServer("HTTP/1.1 200 OK\r\n\r\n"), obs: Obs.fromEndpoint, ifindex: 9).first?
                .trafficDirection == .ingress)
    }

    @Test func podTrafficOnTheUplinkIsReportedByItsEndpointsOnly() throws {
        // A local pod (10.0.0.1) asks a remote server (10.0.0.2): its veth reports the client; the uplink, where
        // neither end is the node, reports nothing — never a server report for a server that is not here.
        let a = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.9.9.9")!]))
        var tcp = TCPConversation()
        let o = Observer()
        let req = tcp.fromClient("GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
        let resp = tcp.fromServer("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        var flows: [Flow] = []
        flows += o.feed(a, req, obs: Obs.fromEndpoint, ifindex: 2, timeNs: 1_000)
        flows += o.feed(a, req, obs: Obs.toNetwork, ifindex: 4, timeNs: 2_000)
        flows += o.feed(a, resp, obs: Obs.fromNetwork, ifindex: 4, timeNs: 5_000)
        flows += o.feed(a, resp, obs: Obs.toEndpoint, ifindex: 2, timeNs: 7_000)
        #expect(flows.map(\.trafficDirection) == [.egress, .egress], "one client request and its response: \(flows)")
        #expect(flows.allSatisfy { $0.interface?.index == 2 })
        // The same from a remote client to a local server: only the server's veth reports, as the server.
        let b = L7Assembler(nodeAddresses: NodeAddressSet([IPAddress("10.9.9.9")!]))
        var t2 = TCPConversation()
        let req2 = t2.fromClient("GET /y HTTP/1.1\r\nHost: h\r\n\r\n")
        let resp2 = t2.fromServer("HTTP/1.1 204 No Content\r\n\r\n")
        var f2: [Flow] = []
        f2 += o.feed(b, req2, obs: Obs.fromNetwork, ifindex: 4, timeNs: 1_000)
        f2 += o.feed(b, req2, obs: Obs.toEndpoint, ifindex: 3, timeNs: 2_000)
        f2 += o.feed(b, resp2, obs: Obs.fromEndpoint, ifindex: 3, timeNs: 5_000)
        f2 += o.feed(b, resp2, obs: Obs.toNetwork, ifindex: 4, timeNs: 7_000)
        #expect(f2.map(\.trafficDirection) == [.ingress, .ingress], "\(f2)")
        #expect(f2.allSatisfy { $0.interface?.index == 3 })
    }

    @Test func redactionOptionsAndIPv6() throws {
        let a = L7Assembler(
            config: L7Config(
                httpPorts: [8080], redactURLQuery: true, headerAllowList: ["content-type"], includeHeaders: true))
        var x = Exchange(a, tcp: TCPConversation(client: "fd00::1", server: "fd00::2", serverPort: 8080))
        let r = x.client(
            "GET http://user:pw@api.test:8080/v1?key=s HTTP/1.1\r\nHost: api.test:8080\r\nContent-Type: a/b\r\nCookie: c\r\n\r\n"
        )
        #expect(r.first?.http?.url == "http://api.test:8080/v1")
        #expect(
            r.first?.http?.headers == [
                HTTPHeader(key: "Content-Type", value: "a/b"), HTTPHeader(key: "Cookie", value: "HUBBLE_REDACTED"),
                HTTPHeader(key: "Host", value: "HUBBLE_REDACTED")
            ])
        #expect(r.first?.ip?.ipVersion == .ipv6)
        // Port 80 is not an HTTP port in this config.
        var other = TCPConversation()
        #expect(x.obs.feed(a, other.fromClient("GET / HTTP/1.1\r\n\r\n")).isEmpty)
        // Without headers.
        let b = L7Assembler(config: L7Config(includeHeaders: false))
        var y = Exchange(b)
        #expect(y.client("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").first?.http?.headers == [])
    }

    @Test func reusedFiveTupleStartsAfresh() throws {
        var x = Exchange()
        _ = x.client("GET /old HTTP/1.1\r\nHost: h\r\n\r\n")
        // The old connection ended unseen; a new one on the same ports starts with a SYN at another sequence.
        x.tcp.clientSeq = 777_000
        x.tcp.serverSeq = 999_000
        #expect(x.client(bytes(""), flags: [.syn]).isEmpty)
        #expect(x.a.stats.unansweredHTTP == 1)
        _ = x.server(bytes(""), flags: [.syn, .ack])
        #expect(x.client("GET /new HTTP/1.1\r\nHost: h\r\n\r\n").first?.http?.url == "http://h/new")
        #expect(x.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").first?.http?.url == "http://h/new")
        #expect(x.a.stats.streamResyncs == 0)
    }

    @Test func upgradeMakesTheConnectionOpaque() throws {
        var x = Exchange()
        _ = x.client("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        #expect(x.server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n").first?.http?.code == 101)
        #expect(x.client("GET /not-http HTTP/1.1\r\n\r\n").isEmpty)
        #expect(x.server("HTTP/1.1 200 frames").isEmpty)
    }
}
