import CSpyglassBPF
import SpyglassFlow
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// `spy_l7_skip` through the real tc program (BPF_PROG_TEST_RUN): a segment wholly inside the HTTP body part user
/// space wrote is no L7 candidate, one reaching its end or outside the window is, and a SYN forgets the entries.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct L7SkipTests {
    let decoder = EventDecoder(nodeName: "test-node", bootToWallOffsetNs: 0)
    static let client = "10.1.0.1", server = "10.1.0.2"

    func programs(_ level: AggregationLevel) throws -> TCPrograms {
        var c = DatapathConfig()
        c.aggregation = level
        c.ringBufferBytes = 1 << 20
        return try TCPrograms(config: c)
    }

    /// A server → client segment of `length` body bytes at `seq`.
    static func response(seq: UInt32, length: Int = 1400, port: UInt16 = 40500) -> [UInt8] {
        PacketBuilder.ethernet().ipv4(src: server, dst: client).tcp(
            sport: 80, dport: port, flags: [.psh, .ack], seq: seq
        )
        .payload(Array(repeating: 0x62, count: length)).build()
    }

    func events(_ p: TCPrograms, _ frame: [UInt8]) throws -> [SpyPacketEvent] {
        let r = try p.testRun(.egress, frame: frame)
        #expect(r.dataOut == frame, "the program must not alter the packet")
        return try p.drainEvents().map { raw in try raw.withUnsafeBytes { try SpyPacketEvent(validating: $0) } }
    }

    func skipResponses(_ p: TCPrograms, from: UInt32, end: UInt32, port: UInt16 = 40500) {
        L7SkipMap(programs: p).skip(
            L7Direction(
                source: IPAddress(Self.server)!, destination: IPAddress(Self.client)!, sourcePort: 80,
                destinationPort: port), from: from, end: end)
    }

    @Test func mediumFoldsSegmentsInsideTheBodyAndReportsTheOneReachingItsEnd() throws {
        let p = try programs(.medium)
        // The connection's state exists (its first packet is always reported).
        #expect(try events(p, Self.response(seq: 1000, length: 100)).count == 1)
        skipResponses(p, from: 5000, end: 15000)
        for i in 0..<6 {
            #expect(try events(p, Self.response(seq: 5000 + UInt32(i) * 1400)).isEmpty, "body segment \(i) folded")
        }
        #expect(p.stats().l7BodySkipped == 6)
        // Ends exactly at the body's end: still inside.
        #expect(try events(p, Self.response(seq: 15000 - 1400)).isEmpty)
        // Crosses the end (may hold the next head): an L7 candidate, sent for the parser only.
        let crossing = try events(p, Self.response(seq: 15000 - 700))
        try #require(crossing.count == 1)
        #expect(crossing[0].flags.contains(.l7Candidate) && crossing[0].flags.contains(.l7Only))
        // Before the window (a retransmission from before the entry) and after it: candidates.
        #expect(try events(p, Self.response(seq: 4000, length: 500)).count == 1)
        #expect(try events(p, Self.response(seq: 15000)).count == 1)
        // The other direction of the connection has no entry.
        let request = PacketBuilder.ethernet().ipv4(src: Self.client, dst: Self.server)
            .tcp(sport: 40500, dport: 80, flags: [.psh, .ack], seq: 5000).payload(Array(repeating: 0x61, count: 1400))
            .build()
        #expect(try events(p, request).filter { $0.flags.contains(.l7Candidate) }.count == 1)
        #expect(p.stats().l7BodySkipped == 7)
        let s = p.stats()
        #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull, "skipped segments are folded")
    }

    @Test func aSynForgetsTheFourTuplesBodies() throws {
        let p = try programs(.medium)
        #expect(try events(p, Self.response(seq: 1000, length: 100, port: 40501)).count == 1)
        skipResponses(p, from: 5000, end: 15000, port: 40501)
        #expect(try events(p, Self.response(seq: 5000, port: 40501)).isEmpty)
        let syn = PacketBuilder.ethernet().ipv4(src: Self.client, dst: Self.server)
            .tcp(sport: 40501, dport: 80, flags: [.syn], seq: 77).build()
        _ = try events(p, syn)
        let after = try events(p, Self.response(seq: 6400, port: 40501))
        #expect(after.count == 1 && after[0].flags.contains(.l7Candidate), "the new connection's bytes are parsed")
        #expect(p.stats().l7BodySkipped == 1)
    }

    @Test func noneReportsABodySegmentAsAPlainTrace() throws {
        let p = try programs(.none)
        skipResponses(p, from: 5000, end: 15000, port: 40502)
        let ev = try events(p, Self.response(seq: 5000, port: 40502))
        try #require(ev.count == 1, "every packet is reported at none")
        #expect(!ev[0].flags.contains(.l7Candidate))
        #expect(Int(ev[0].snapLen) == Int(p.config.snapLength), "the normal snapshot, not the L7 one")
        let crossing = try events(p, Self.response(seq: 14000, port: 40502))
        #expect(crossing.count == 1 && crossing[0].flags.contains(.l7Candidate))
        #expect(Int(crossing[0].snapLen) == Int(p.config.l7SnapLength))
        #expect(p.stats().l7BodySkipped == 1)
    }
}
