import SpyglassTesting
import Testing

@testable import SpyglassFlow

/// `--http-detect`: HTTP on a port that is not configured. The kernel reports only the segments that start like an
/// HTTP message on such ports, so these tests feed exactly those (bodies and continuation segments are gaps).
@Suite("L7 assembler: HTTP detection on other ports")
struct L7HTTPDetectTests {
    typealias Exchange = L7AssemblerHTTPTests.Exchange

    func detecting() -> L7Assembler { L7Assembler(config: L7Config(httpDetect: true)) }

    @Test func recognisesRequestAndStatusLinesOnly() {
        func role(_ s: String) -> Bool? { Array(s.utf8).withUnsafeBytes { HTTPDetect.startsFromClient($0) } }
        #expect(role("GET /x HTTP/1.1\r\nHost: h\r\n\r\n") == true)
        #expect(role("DELETE /items/7 HTTP/1.0\r\n") == true)
        #expect(role("HTTP/1.1 200 OK\r\n") == false)
        #expect(role("HTTP/1.0 404 Not Found\r\n") == false)
        // A body or another protocol that merely starts with a method or HTTP.
        #expect(role("GET is what we do\r\n") == nil)
        #expect(role("GET /x HTTP/2.0\r\n") == nil)
        #expect(role("HTTP/2 200\r\n") == nil)
        #expect(role("POST /without/a/line/end HTTP/1.1") == nil)
        #expect(role("get /x HTTP/1.1\r\n") == nil)
        #expect(role("HTTPS") == nil && role("") == nil)
    }

    /// Keep-alive on port 9090, bodies unseen (the kernel does not report them): every request pairs with its
    /// response, latency and URL included, and the stream stays in step across the gaps.
    @Test func keepAliveOnAnotherPortPairsAcrossUnseenBodies() throws {
        var x = Exchange(detecting(), tcp: TCPConversation(serverPort: 9090))
        for (i, path) in ["/a", "/b", "/c"].enumerated() {
            let req = x.client("POST \(path) HTTP/1.1\r\nHost: svc:9090\r\nContent-Length: 4\r\n\r\n")
            try #require(req.count == 1)
            #expect(req[0].http?.method == "POST" && req[0].http?.url == "http://svc:9090\(path)")
            #expect(req[0].l4 == .tcp(TCP(sourcePort: 40000, destinationPort: 9090)))
            _ = x.tcp.fromClient("body")  // sent, not reported
            let resp = x.server("HTTP/1.1 20\(i) OK\r\nContent-Length: 11\r\n\r\n")
            try #require(resp.count == 1)
            #expect(resp[0].http?.code == UInt32(200 + i))
            #expect(resp[0].http?.url == "http://svc:9090\(path)" && resp[0].l7?.latencyNs == 1_000_000)
            _ = x.tcp.fromServer("hello world")  // likewise
        }
        let s = x.a.stats
        #expect(s.httpRequests == 3 && s.httpResponses == 3 && s.httpUnmatchedResponses == 0)
        #expect(s.httpDetected == 6 && s.malformedTotal(.http) == 0)
    }

    @Test func otherPayloadsOnOtherPortsStayIgnored() {
        var x = Exchange(detecting(), tcp: TCPConversation(serverPort: 9090))
        #expect(x.client("GET is not a request line\r\n").isEmpty)
        #expect(x.server("\u{16}\u{03}\u{01}binary").isEmpty)
        #expect(x.a.stats.httpDetected == 0 && x.a.stats.entries[.httpConnections] == 0)
        // Off (the library default): a real request on another port is not read.
        var off = Exchange(L7Assembler(), tcp: TCPConversation(serverPort: 9090))
        #expect(off.client("GET /x HTTP/1.1\r\nHost: h\r\n\r\n").isEmpty)
    }
}
