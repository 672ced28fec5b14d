import Testing

@testable import SpyglassFlow

@Suite("L7 HTTP parser")
struct L7HTTPParserTests {
    func request(_ s: String) throws -> HTTPHead { try HTTPParser.parseHead(bytes(s), isRequest: true) }
    func response(_ s: String) throws -> HTTPHead { try HTTPParser.parseHead(bytes(s), isRequest: false) }

    @Test func getPostPut() throws {
        let get = try request("GET /index.html?a=1 HTTP/1.1\r\nHost: example.com\r\nuser-agent: curl/8\r\n\r\n")
        #expect(get.method == "GET" && get.target == "/index.html?a=1" && get.version == "HTTP/1.1")
        #expect(get.host == "example.com")
        #expect(
            get.headers == [
                HTTPHeader(key: "Host", value: "example.com"), HTTPHeader(key: "User-Agent", value: "curl/8")
            ])
        #expect(get.contentLength == nil && !get.chunked && !get.isPartial)

        let post = try request("POST /api HTTP/1.0\r\nContent-Length: 12\r\nContent-Type:application/json\r\n\r\n")
        #expect(post.method == "POST" && post.version == "HTTP/1.0" && post.contentLength == 12)
        #expect(post.headers.last == HTTPHeader(key: "Content-Type", value: "application/json"))

        let put = try request("PUT /x HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n")
        #expect(put.method == "PUT" && put.chunked && put.hasTransferEncoding)
    }

    @Test func statusLines() throws {
        let ok = try response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        #expect(ok.statusCode == 200 && ok.version == "HTTP/1.1" && ok.contentLength == 5)
        #expect(try response("HTTP/1.1 404 Not Found\r\n\r\n").statusCode == 404)
        #expect(try response("HTTP/1.0 500 Internal Server Error\r\n\r\n").statusCode == 500)
        #expect(try response("HTTP/1.1 204\r\n\r\n").statusCode == 204)
        #expect(try response("HTTP/1.1 200 \r\n\r\n").statusCode == 200)
    }

    @Test func rejections() {
        #expect(throws: HTTPParseError.badVersion) { try request("GET / HTTP/2.0\r\n\r\n") }
        #expect(throws: HTTPParseError.badVersion) { try response("HTTP/2.0 200 OK\r\n\r\n") }
        #expect(throws: HTTPParseError.badStartLine) { try request("GET /\r\n\r\n") }
        #expect(throws: HTTPParseError.badStartLine) { try request("G(T / HTTP/1.1\r\n\r\n") }
        #expect(throws: HTTPParseError.badStartLine) { try response("HTTP/1.1 2x0 OK\r\n\r\n") }
        #expect(throws: HTTPParseError.badStartLine) { try response("HTTP/1.1 099 Low\r\n\r\n") }
        #expect(throws: HTTPParseError.badHeader) { try request("GET / HTTP/1.1\r\nNoColon\r\n\r\n") }
        #expect(throws: HTTPParseError.badHeader) { try request("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n") }
        #expect(throws: HTTPParseError.badHeader) { try request("GET / HTTP/1.1\r\n folded-first\r\n\r\n") }
        let many = "GET / HTTP/1.1\r\n" + (0..<10).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        #expect(throws: HTTPParseError.tooManyHeaders) {
            try HTTPParser.parseHead(bytes(many), isRequest: true, maxHeaders: 5)
        }
    }

    @Test func contentLengthForms() throws {
        #expect(try request("POST / HTTP/1.1\r\nContent-Length: 7, 7\r\n\r\n").contentLength == 7)
        let conflicting = try request("POST / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n")
        #expect(conflicting.invalidContentLength && conflicting.contentLength == nil)
        #expect(try request("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").invalidContentLength)
        #expect(try request("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n").invalidContentLength)
        #expect(!(try request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").chunked))
    }

    @Test func obsFoldAndPartialHeads() throws {
        let folded = try request("GET / HTTP/1.1\r\nX-Long: a\r\n  b\r\n\r\n")
        #expect(folded.headers == [HTTPHeader(key: "X-Long", value: "a b")])
        let cut = try HTTPParser.parseHead(
            bytes("GET /p HTTP/1.1\r\nHost: h\r\nAccept: te"), isRequest: true, complete: false)
        #expect(cut.isPartial && cut.headers == [HTTPHeader(key: "Host", value: "h")])
        #expect(throws: HTTPParseError.badStartLine) {
            try HTTPParser.parseHead(bytes("GET /p HTT"), isRequest: true, complete: false)
        }
    }

    @Test func headEnd() {
        func end(_ s: String) -> Int? { bytes(s).withUnsafeBytes { HTTPParser.headEnd($0) } }
        #expect(end("GET / HTTP/1.1\r\n\r\nBODY") == 18)
        #expect(end("GET / HTTP/1.1\n\nBODY") == 16)
        #expect(end("GET / HTTP/1.1\r\nA: b\r\n") == nil)
        #expect(end("GET / HTTP/1.1\r\nA: b\r\n\r") == nil)
    }

    @Test func startLineHeuristics() {
        func req(_ s: String) -> Bool { bytes(s).withUnsafeBytes { HTTPParser.looksLikeRequestStart($0) } }
        func resp(_ s: String) -> Bool { bytes(s).withUnsafeBytes { HTTPParser.looksLikeResponseStart($0) } }
        #expect(req("GET / HTTP/1.1") && req("G") && req("DELETE ") && req("M-SEARCH *"))
        #expect(!req("get /") && !req("\u{16}\u{03}\u{01}") && !req(" GET") && !req(""))
        #expect(resp("HTTP/1.1 200") && resp("HT") && !resp("HTTP/2") && !resp("<html>"))
    }

    @Test func traceparent() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736"
        #expect(TraceParent.traceID("00-\(id)-00f067aa0ba902b7-01") == id)
        #expect(TraceParent.traceID("00-\(id.uppercased())-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent.traceID("00-00000000000000000000000000000000-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent.traceID("00-\(id)-0000000000000000-01") == nil)
        #expect(TraceParent.traceID("ff-\(id)-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent.traceID("00-\(id)-00f067aa0ba902b7-01-extra") == nil)
        #expect(TraceParent.traceID("01-\(id)-00f067aa0ba902b7-01-extra") == id)
        #expect(TraceParent.traceID("01-\(id)-00f067aa0ba902b7-01x") == nil)
        #expect(TraceParent.traceID("00-\(id)-00f067aa0ba902b7-1") == nil)
        #expect(TraceParent.traceID("00_\(id)-00f067aa0ba902b7-01") == nil)
        #expect(TraceParent.traceID("") == nil)
    }

    @Test func urlAndRedaction() {
        let server = IPAddress("10.0.0.2")!
        let plain = L7Config(redactURLQuery: false, redactUserInfo: false)
        #expect(
            HTTPURL.build(target: "/a?b=c", host: "svc:8080", server: server, serverPort: 8080, config: plain)
                == "http://svc:8080/a?b=c")
        #expect(
            HTTPURL.build(target: "/a", host: nil, server: server, serverPort: 8080, config: plain)
                == "http://10.0.0.2:8080/a")
        #expect(
            HTTPURL.build(target: "/a", host: nil, server: server, serverPort: 80, config: plain) == "http://10.0.0.2/a"
        )
        #expect(
            HTTPURL.build(target: "/", host: nil, server: IPAddress("fd00::2")!, serverPort: 80, config: plain)
                == "http://[fd00::2]/")
        #expect(
            HTTPURL.build(target: "example.com:443", host: nil, server: server, serverPort: 80, config: plain)
                == "example.com:443")
        let both = L7Config(redactURLQuery: true, redactUserInfo: true)
        #expect(
            HTTPURL.build(
                target: "http://u:p@h.test/x?token=s#f", host: nil, server: server, serverPort: 80, config: both)
                == "http://h.test/x")
        #expect(
            HTTPURL.build(
                target: "http://u:p@h.test/x?q=a@b", host: nil, server: server, serverPort: 80, config: L7Config())
                == "http://h.test/x?q=a@b")
        #expect(HTTPURL.dropUserInfo("http://h.test/a@b") == "http://h.test/a@b")
    }

    @Test func headerRedactionLists() {
        let headers = [
            HTTPHeader(key: "Authorization", value: "Bearer s"), HTTPHeader(key: "Cookie", value: "c"),
            HTTPHeader(key: "Accept", value: "*/*"), HTTPHeader(key: "X-Api-Key", value: "k")
        ]
        var h = headers
        HeaderRedactor(config: L7Config()).apply(&h)
        #expect(h.map(\.value) == ["HUBBLE_REDACTED", "HUBBLE_REDACTED", "*/*", "HUBBLE_REDACTED"])
        h = headers
        HeaderRedactor(config: L7Config(headerAllowList: ["accept"])).apply(&h)
        #expect(h.map(\.value) == ["HUBBLE_REDACTED", "HUBBLE_REDACTED", "*/*", "HUBBLE_REDACTED"])
        h = headers
        HeaderRedactor(config: L7Config(headerAllowList: ["Authorization"])).apply(&h)
        #expect(h.map(\.value) == ["Bearer s", "HUBBLE_REDACTED", "HUBBLE_REDACTED", "HUBBLE_REDACTED"])
        h = headers
        HeaderRedactor(config: L7Config(headerDenyList: [])).apply(&h)
        #expect(h == headers)
        h = headers
        HeaderRedactor(config: L7Config(headerDenyList: ["ACCEPT"])).apply(&h)
        #expect(h.map(\.value) == ["Bearer s", "c", "HUBBLE_REDACTED", "k"])
    }

    /// Decisions are remembered per key (one hash lookup instead of a pattern scan) without changing them: the same
    /// key decided twice, keys past the bound after the memory was emptied, and keys too long to remember.
    @Test func headerRedactionRemembersDecisions() {
        let r = HeaderRedactor(config: L7Config())
        let long = "X-" + String(repeating: "A", count: HeaderRedactor.maxRememberedKeyBytes) + "-Token"
        for _ in 0..<3 {
            #expect(r.redacts("X-Auth-Token"))
            #expect(!r.redacts("Accept"))
            #expect(r.redacts(long))
            #expect(!r.redacts("X-" + String(repeating: "B", count: HeaderRedactor.maxRememberedKeyBytes)))
        }
        for i in 0..<(2 * HeaderRedactor.maxRememberedKeys + 7) {
            #expect(r.redacts("X-Session-\(i)") && !r.redacts("X-Plain-\(i)"))
        }
        #expect(r.redacts("Cookie") && !r.redacts("Host"))
    }

    @Test func chunkMachine() {
        func run(_ s: String) -> ChunkStream.Step {
            var st = ChunkState()
            for c in bytes(s) {
                if st.phase == .data { st.size -= 1; if st.size == 0 { st.phase = .dataCR }; continue }
                let r = ChunkStream.step(&st, c)
                if r != .more { return r }
            }
            return .more
        }
        #expect(run("5\r\nhello\r\n0\r\n\r\n") == .done)
        #expect(run("5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n") == .done)
        #expect(run("5\nhello\n0\n\n") == .done)
        #expect(run("5\r\nhello\r\n") == .more)
        #expect(run("x\r\n") == .error)
        #expect(run("5\r\nhelloXX") == .error)
        #expect(run("fffffffffffffffff\r\n") == .error)
    }

    @Test func truncatedAtEveryLength() throws {
        let whole = bytes("POST /p?x=1 HTTP/1.1\r\nHost: h.test\r\nContent-Length: 3\r\nX-A: b\r\n\r\n")
        let firstLine = 22  // "POST /p?x=1 HTTP/1.1\r\n"
        for n in 0..<whole.count {
            let cut = Array(whole.prefix(n))
            #expect(cut.withUnsafeBytes { HTTPParser.headEnd($0) } == nil)
            // A cut head parses only once its start line is whole; its header lines come out whole or not at all.
            if n < firstLine {
                #expect(throws: HTTPParseError.self) { try HTTPParser.parseHead(cut, isRequest: true, complete: false) }
            } else {
                let h = try HTTPParser.parseHead(cut, isRequest: true, complete: false)
                #expect(h.isPartial && h.method == "POST" && h.target == "/p?x=1")
                #expect(
                    h.headers.allSatisfy { ["Host": "h.test", "Content-Length": "3", "X-A": "b"][$0.key] == $0.value })
            }
        }
    }

    @Test func malformedReasonsAreListed() {
        #expect(
            L7Stats.malformedReasons[.http] == [
                "bad_start_line", "bad_version", "bad_header", "too_many_headers",
                "oversized_headers", "bad_content_length", "bad_transfer_encoding", "bad_chunk",
                "out_of_window", "bad_ip_length"
            ])
        #expect(
            L7Stats.malformedReasons[.dns] == [
                "short_header", "truncated", "bad_label_type", "name_too_long",
                "pointer_out_of_range", "pointer_loop", "bad_rdata", "no_question", "bad_tcp_length",
                "out_of_window", "bad_ip_length"
            ])
    }

    @Test func seededGarbageNeverTraps() {
        var rng = SeededRandom(seed: 0x4774)
        let alphabet = bytes("GET HTTP/1.1 200 \r\n:;Content-Length: 5chunkedTransfer-Encoding0123456789abcdef \t")
        var parsed = 0
        var reasons: Set<String> = []
        for i in 0..<20_000 {
            let n = Int(rng.next() % 300)
            var b = [UInt8](repeating: 0, count: n)
            for k in 0..<n {
                b[k] =
                    i % 2 == 0
                    ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : UInt8(truncatingIfNeeded: rng.next())
            }
            do throws(HTTPParseError) {
                _ = try HTTPParser.parseHead(b, isRequest: i % 3 == 0, complete: i % 5 != 0)
                parsed += 1
            } catch { reasons.insert(error.reason) }
            if let end = b.withUnsafeBytes({ HTTPParser.headEnd($0) }) {
                #expect(end > 0 && end <= b.count, "head end \(end) outside \(b.count) bytes")
            }
        }
        // Every input either parses or is rejected with a reason the metric knows; both happen.
        #expect(reasons.count >= 2 && reasons.isSubset(of: Set(HTTPParseError.allReasons)), "\(reasons)")
        #expect(parsed < 20_000, "garbage was rejected at least once")
    }
}
