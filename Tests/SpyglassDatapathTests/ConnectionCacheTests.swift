import CLibBPF
import Glibc
import SpyglassFlow
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// The per-CPU last-connection cache of the tc program (bpf/lib/conn_cache.bpf.h) through the real kernel: scripted
/// packet sequences, each packet run with BPF_PROG_TEST_RUN on a chosen CPU (the test pins its thread: a test run
/// executes on its caller's CPU), and every report compared with the decision the uncached program makes — which
/// packets are reported, why, is_reply, and the packets and bytes each report stands for.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct ConnectionCacheTests {
    static let a = "10.3.0.1", b = "10.3.0.2"

    /// One scripted packet: on which of the test's CPUs it runs, and the report it must produce (nil: folded).
    struct Step {
        var frame: [UInt8]
        var cpu = 0
        var report: Expected?
    }

    struct Expected {
        var reason: SpyEventLayout.ReportReason
        var isReply: Bool?
        var packets: UInt32
        var bytes: Int
    }

    static func tcp(_ fromA: Bool, _ port: UInt16, _ flags: TCPFlags, payload: Int = 0, server: UInt16 = 9000)
        -> [UInt8]
    {
        let (src, dst, sp, dp) = fromA ? (a, b, port, server) : (b, a, server, port)
        return PacketBuilder.ethernet().ipv4(src: src, dst: dst).tcp(sport: sp, dport: dp, flags: flags)
            .payload([UInt8](repeating: 0x78, count: payload)).build()
    }

    func programs() throws -> TCPrograms {
        var c = DatapathConfig()
        c.aggregation = .medium
        c.ringBufferBytes = 1 << 20
        return try TCPrograms(config: c)
    }

    /// Runs the steps in order and checks each one's report; `after` runs after step i (for checks of the cache).
    func play(_ p: TCPrograms, _ steps: [Step], cpus: [Int], after: (Int) throws -> Void = { _ in }) throws {
        for (i, step) in steps.enumerated() {
            let raw = try CPUAffinity.pinned(to: cpus[step.cpu]) {
                let r = try p.testRun(.ingress, frame: step.frame)
                #expect(r.dataOut == step.frame)
                return try p.drainEvents()
            }
            guard let want = step.report else {
                #expect(raw.isEmpty, "step \(i): folded")
                try after(i)
                continue
            }
            try #require(raw.count == 1, "step \(i): one report")
            let ev = try raw[0].withUnsafeBytes { try SpyPacketEvent(validating: $0) }
            #expect(ev.reportReason == want.reason, "step \(i): reason")
            #expect(ev.aggregatedPackets == want.packets, "step \(i): packets this report stands for")
            #expect(ev.aggregatedBytes == UInt64(want.bytes), "step \(i): their bytes")
            #expect(ev.isReply == want.isReply, "step \(i): is_reply")
            #expect(ev.flags.contains(.l7Only) == (want.reason == .l7), "step \(i): L7-only report")
            try after(i)
        }
        let s = p.stats()
        #expect(s.packets == UInt64(steps.count))
        #expect(s.events == UInt64(steps.filter { $0.report != nil }.count))
        #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull)
    }

    /// Pending packets of `cpu`'s cache entry (both sides), read from the map (layout of spy_conn_cache_entry).
    func pending(_ p: TCPrograms, cpu: Int) throws -> (packets: UInt64, valid: Bool) {
        let map = try #require(bpf_object__find_map_by_name(p.object, "spy_conn_cache"))
        let size = Int(bpf_map__value_size(map))
        try #require(size == 104, "spy_conn_cache_entry layout")
        let cpus = Int(libbpf_num_possible_cpus())
        var values = [UInt8](repeating: 0, count: size * cpus)
        var key: UInt32 = 0
        try #require(bpf_map_lookup_elem(bpf_map__fd(map), &key, &values) == 0)
        let entry = values[(cpu * size)..<((cpu + 1) * size)]
        func u64(_ at: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(entry[entry.startIndex + at + $1]) << (8 * UInt64($1)) }
        }
        return ((u64(64) >> 40) + (u64(72) >> 40), entry[entry.startIndex + 98] != 0)
    }

    static func report(_ reason: SpyEventLayout.ReportReason, reply: Bool?, _ packets: UInt32, bytes: Int) -> Expected {
        Expected(reason: reason, isReply: reply, packets: packets, bytes: bytes)
    }

    /// Two connections interleaved on one CPU, in runs and packet by packet, both directions: every report is the
    /// uncached one, and a run of one connection is folded in the cache (its pending count shows it).
    @Test func interleavedConnectionsOnOneCPUDecideAsUncached() throws {
        let p = try programs()
        let cpu = try #require(CPUAffinity.allowed().first)
        let (ca, cb): (UInt16, UInt16) = (41000, 41001)
        let synA = Self.tcp(true, ca, [.syn]), synAckA = Self.tcp(false, ca, [.syn, .ack])
        let ackA = Self.tcp(true, ca, [.ack]), dataA = Self.tcp(true, ca, [.ack], payload: 100)
        let backA = Self.tcp(false, ca, [.ack]), pshA = Self.tcp(true, ca, [.psh, .ack], payload: 100)
        let finBackA = Self.tcp(false, ca, [.fin, .ack])
        let synB = Self.tcp(true, cb, [.syn]), synAckB = Self.tcp(false, cb, [.syn, .ack])
        let ackB = Self.tcp(true, cb, [.ack]), dataB = Self.tcp(true, cb, [.ack], payload: 100)
        let finB = Self.tcp(true, cb, [.fin, .ack])
        let d = dataA.count
        var steps: [Step] = [
            Step(frame: synA, report: Self.report(.newConnection, reply: false, 1, bytes: synA.count)),
            Step(frame: synAckA, report: Self.report(.newTCPFlags, reply: true, 1, bytes: synAckA.count)),
            Step(frame: ackA, report: Self.report(.newTCPFlags, reply: false, 1, bytes: ackA.count))
        ]
        steps += Array(repeating: Step(frame: dataA), count: 3)  // steps 3-5: a run of A, folded in the cache
        steps += [
            Step(frame: synB, report: Self.report(.newConnection, reply: false, 1, bytes: synB.count)),
            Step(frame: dataA),
            Step(frame: synAckB, report: Self.report(.newTCPFlags, reply: true, 1, bytes: synAckB.count)),
            Step(frame: ackB, report: Self.report(.newTCPFlags, reply: false, 1, bytes: ackB.count)),
            Step(frame: dataB), Step(frame: dataB),
            Step(frame: dataA), Step(frame: dataB), Step(frame: dataA), Step(frame: dataB),  // packet by packet
            Step(frame: backA), Step(frame: backA),
            // A's sender: the run of three, one after B's SYN, two interleaved, and this packet.
            Step(frame: pshA, report: Self.report(.newTCPFlags, reply: false, 7, bytes: 6 * d + pshA.count)),
            Step(frame: finB, report: Self.report(.newTCPFlags, reply: false, 5, bytes: 4 * d + finB.count)),
            Step(
                frame: finBackA,
                report: Self.report(.newTCPFlags, reply: true, 3, bytes: 2 * backA.count + finBackA.count))
        ]
        try play(p, steps, cpus: [cpu]) { i in
            if i == 5 {
                let c = try pending(p, cpu: cpu)
                #expect(c.valid && c.packets == 3, "the run is folded in the cache, not in the state")
            }
            if i == 6 {
                let n = try pending(p, cpu: cpu).packets
                #expect(n == 0, "A's pending packets went to its state")
            }
        }
    }

    /// One connection's packets on two CPUs: a report on one CPU carries what the other folded in its cache, and a
    /// connection replaced on one CPU (port reuse) ends the other CPU's view of the old one — its flags and its
    /// pending packets — exactly as the uncached program forgets the old state.
    /// Skipped only on a one-CPU machine outside CI; under CI=true one CPU is a failure.
    @Test(.enabled(if: KernelTestGate.isCI || ((try? CPUAffinity.allowed().count) ?? 0) >= 2, "needs two CPUs"))
    func foldedPacketsOnAnotherCPUJoinTheNextReport() throws {
        let p = try programs()
        let cpus = Array(try CPUAffinity.allowed().prefix(2))
        try #require(cpus.count == 2, "the test needs two CPUs; this machine allows \(cpus)")
        let port: UInt16 = 41100
        let syn = Self.tcp(true, port, [.syn]), synAck = Self.tcp(false, port, [.syn, .ack])
        let ack = Self.tcp(true, port, [.ack]), data = Self.tcp(true, port, [.ack], payload: 100)
        let psh = Self.tcp(true, port, [.psh, .ack], payload: 100), back = Self.tcp(false, port, [.ack])
        let finBack = Self.tcp(false, port, [.fin, .ack]), fin = Self.tcp(true, port, [.fin, .ack])
        let reuse = Self.tcp(false, port, [.syn]), reuseSynAck = Self.tcp(true, port, [.syn, .ack])
        let (x, y) = (0, 1)
        let steps: [Step] = [
            Step(frame: syn, cpu: x, report: Self.report(.newConnection, reply: false, 1, bytes: syn.count)),
            Step(frame: synAck, cpu: x, report: Self.report(.newTCPFlags, reply: true, 1, bytes: synAck.count)),
            Step(frame: ack, cpu: x, report: Self.report(.newTCPFlags, reply: false, 1, bytes: ack.count)),
            Step(frame: data, cpu: x), Step(frame: data, cpu: x),  // pending on x
            Step(frame: data, cpu: y),  // y takes the sending side over, with x's two packets
            Step(frame: data, cpu: x), Step(frame: data, cpu: x),  // and x takes it back, one packet pending
            Step(
                frame: psh, cpu: y,
                report: Self.report(.newTCPFlags, reply: false, 6, bytes: 5 * data.count + psh.count)),
            Step(frame: back, cpu: x),  // pending on x, the other side
            Step(
                frame: finBack, cpu: y,
                report: Self.report(.newTCPFlags, reply: true, 2, bytes: back.count + finBack.count)),
            Step(frame: fin, cpu: x, report: Self.report(.newTCPFlags, reply: false, 1, bytes: fin.count)),
            Step(frame: ack, cpu: x),  // folded into the old connection, pending on x
            // The other side reuses the tuple: a new connection, opened by b.
            Step(frame: reuse, cpu: y, report: Self.report(.newConnection, reply: false, 1, bytes: reuse.count)),
            // x's view of the old connection had seen SYN and ACK from a: without the replacement ending it, this
            // SYN-ACK would be folded, and the old connection's pending ACK would join the new one's report.
            Step(
                frame: reuseSynAck, cpu: x, report: Self.report(.newTCPFlags, reply: true, 1, bytes: reuseSynAck.count))
        ]
        try play(p, steps, cpus: cpus) { i in
            let n = try pending(p, cpu: cpus[x]).packets
            if i == 4 { #expect(n == 2, "folded in x's cache") }
            if i == 5 { #expect(n == 0, "taken over by the other CPU") }
        }
    }

    /// A connection to an L7 port: packets without payload are folded in the cache, and every one with payload still
    /// reaches the L7 parser (the view keeps the port verdict instead of looking the port map up per packet).
    @Test func payloadOnAnL7PortIsNeverFoldedAway() throws {
        let p = try programs()
        let cpu = try #require(CPUAffinity.allowed().first)
        let port: UInt16 = 41200
        let syn = Self.tcp(true, port, [.syn], server: 80), synAck = Self.tcp(false, port, [.syn, .ack], server: 80)
        let ack = Self.tcp(true, port, [.ack], server: 80), fin = Self.tcp(true, port, [.fin, .ack], server: 80)
        let body = Self.tcp(true, port, [.ack], payload: 100, server: 80)  // not an HTTP start: only the port says L7
        let steps: [Step] = [
            Step(frame: syn, report: Self.report(.newConnection, reply: false, 1, bytes: syn.count)),
            Step(frame: synAck, report: Self.report(.newTCPFlags, reply: true, 1, bytes: synAck.count)),
            Step(frame: ack, report: Self.report(.newTCPFlags, reply: false, 1, bytes: ack.count)),
            Step(frame: ack),
            Step(frame: body, report: Self.report(.l7, reply: false, 0, bytes: 0)),
            Step(frame: ack),
            Step(frame: body, report: Self.report(.l7, reply: false, 0, bytes: 0)),
            Step(
                frame: fin,
                report: Self.report(.newTCPFlags, reply: false, 5, bytes: 2 * ack.count + 2 * body.count + fin.count))
        ]
        try play(p, steps, cpus: [cpu]) { i in
            let n = try pending(p, cpu: cpu).packets
            if i == 3 { #expect(n == 1, "a bare ACK is folded in the cache") }
        }
    }
}
