import SpyglassFlow
import SpyglassTesting
import Testing

/// What the assembler tells the kernel about counted HTTP bodies (`L7BodySkipWriter`), and that it stays in sync
/// when the kernel then leaves the body's segments out (the stream sees them as one gap).
@Suite("L7 assembler: HTTP body skip")
struct L7BodySkipTests {
    final class Recorder: L7BodySkipWriter, @unchecked Sendable {
        // @unchecked: the assembler is single-threaded, and so is each test.
        var writes: [(direction: L7Direction, from: UInt32, end: UInt32)] = []
        func skip(_ direction: L7Direction, from: UInt32, end: UInt32) { writes.append((direction, from, end)) }
    }

    let obs = Observer()
    let toClient = L7Direction(
        source: IPAddress("10.0.0.2")!, destination: IPAddress("10.0.0.1")!, sourcePort: 80, destinationPort: 40000)

    func assembler(_ r: Recorder) -> L7Assembler {
        var c = L7Config()
        c.bodySkip = L7BodySkip(r)
        return L7Assembler(config: c)
    }

    @Test func aLargeBodyIsToldOnceAndTheGapItLeavesKeepsTheStreamInSync() throws {
        let r = Recorder()
        var x = L7AssemblerHTTPTests.Exchange(assembler(r))
        _ = x.client("GET /big HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
        let first = x.server(bytes(head) + [UInt8](repeating: 0x62, count: 1000))
        #expect(first.first?.http?.code == 200 && first.first?.http?.url == "http://a/big")
        try #require(r.writes.count == 1)
        #expect(r.writes[0].direction == toClient)
        #expect(r.writes[0].from == x.tcp.serverSeq, "from the first body byte not seen yet")
        #expect(r.writes[0].end == x.tcp.serverSeq &+ 99000, "to the first byte after the body")
        // Segments in flight before the kernel has the entry: no second write.
        _ = x.server([UInt8](repeating: 0x62, count: 1000))
        #expect(r.writes.count == 1)
        // The kernel leaves the body out up to the segment that reaches its end (with the next response's head).
        x.tcp.serverSeq = r.writes[0].end &- 300
        let next = x.server(
            [UInt8](repeating: 0x62, count: 300) + bytes("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        try #require(next.count == 1)
        #expect(next[0].http?.code == 404 && next[0].http?.url == "http://a/next")
        #expect(x.a.stats.streamResyncs == 0)
        #expect(x.a.stats.httpBodySkips == 1)
    }

    @Test func smallAndChunkedBodiesAreNotTold() throws {
        let r = Recorder()
        var x = L7AssemblerHTTPTests.Exchange(assembler(r))
        _ = x.client("GET /a HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = x.server("HTTP/1.1 200 OK\r\nContent-Length: \(L7BodySkip.threshold)\r\n\r\n")
        _ = x.server([UInt8](repeating: 0x62, count: L7BodySkip.threshold))
        _ = x.client("GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = x.server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n")
        _ = x.server([UInt8](repeating: 0x63, count: 0x10000))
        let end = x.server("\r\n0\r\n\r\n")
        #expect(r.writes.isEmpty)
        #expect(end.isEmpty && x.a.stats.httpResponses == 2)
    }

    @Test func anUploadIsToldForTheClientsDirection() throws {
        let r = Recorder()
        var x = L7AssemblerHTTPTests.Exchange(assembler(r))
        _ = x.client("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 50000\r\n\r\n")
        try #require(r.writes.count == 1)
        #expect(r.writes[0].direction.sourcePort == 40000 && r.writes[0].direction.destinationPort == 80)
        #expect(r.writes[0].from == x.tcp.clientSeq && r.writes[0].end == x.tcp.clientSeq &+ 50000)
    }

    /// A packet seen at two watched veths: each site's stream computes the same entry (one serves both).
    @Test func twoSitesComputeTheSameEntry() throws {
        let r = Recorder()
        let a = assembler(r)
        var tcp = TCPConversation()
        let frames = [
            (tcp.fromClient("GET /big HTTP/1.1\r\nHost: a\r\n\r\n"), Obs.fromEndpoint),
            (tcp.fromServer("HTTP/1.1 200 OK\r\nContent-Length: 80000\r\n\r\n"), Obs.toEndpoint)
        ]
        var t: UInt64 = 1_000_000_000
        for (frame, point) in frames {
            for ifindex: UInt32 in [2, 3] {
                t += 1000
                _ = obs.feed(a, frame, obs: point, ifindex: ifindex, timeNs: t)
            }
        }
        try #require(r.writes.count == 2)
        #expect(r.writes[0].direction == r.writes[1].direction)
        #expect(r.writes[0].from == r.writes[1].from && r.writes[0].end == r.writes[1].end)
        #expect(r.writes[0].from == tcp.serverSeq && r.writes[0].end == tcp.serverSeq &+ 80000)
    }

    /// Longer than `maxSpan`: told a part at a time, each within the stream's window.
    @Test func aBodyLongerThanTheSpanIsToldPartByPart() throws {
        let r = Recorder()
        var x = L7AssemblerHTTPTests.Exchange(assembler(r))
        _ = x.client("GET /huge HTTP/1.1\r\nHost: a\r\n\r\n")
        let total = 3 * L7BodySkip.maxSpan
        _ = x.server("HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\n\r\n")
        try #require(r.writes.count == 1)
        let from = r.writes[0].from
        #expect(r.writes[0].end == from &+ UInt32(L7BodySkip.maxSpan))
        x.tcp.serverSeq = r.writes[0].end &- 100
        _ = x.server([UInt8](repeating: 0x62, count: 1000))
        try #require(r.writes.count == 2)
        #expect(r.writes[1].from == from &+ UInt32(L7BodySkip.maxSpan + 900))
        #expect(r.writes[1].end == r.writes[1].from &+ UInt32(L7BodySkip.maxSpan))
        #expect(x.a.stats.streamResyncs == 0 && x.a.stats.malformed.isEmpty)
    }
}
