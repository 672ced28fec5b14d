import CSpyglassBPF
import Glibc
import SpyglassFlow
import SpyglassTesting
import Testing

@testable import SpyglassDatapath

/// Crafted frames through the real tc programs with BPF_PROG_TEST_RUN; the ring-buffer events are decoded and
/// compared with what was sent.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct TCProgramTests {
    static let tcActUnspec: UInt32 = 0xFFFF_FFFF
    let decoder = EventDecoder(nodeName: "test-node", bootToWallOffsetNs: 0)

    func programs(_ level: AggregationLevel, intervalNs: UInt64 = 5_000_000_000) throws -> TCPrograms {
        var c = DatapathConfig()
        c.aggregation = level
        c.aggregationIntervalNs = intervalNs
        c.ringBufferBytes = 1 << 20
        return try TCPrograms(config: c)
    }

    /// Runs the frame, checks the traffic is untouched, returns the decoded events it produced.
    func run(_ p: TCPrograms, _ frame: [UInt8], _ hook: TCPrograms.Hook = .ingress) throws -> [Flow] {
        let r = try p.testRun(hook, frame: frame)
        #expect(r.returnValue == Self.tcActUnspec, "the program must let the packet continue (TC_ACT_UNSPEC)")
        #expect(r.dataOut == frame, "the program must not alter the packet")
        return try p.drainEvents().map { try decoder.decode($0) }
    }

    static let a = "10.1.0.1", b = "10.1.0.2"
    static func tcp(_ src: String, _ dst: String, _ sp: UInt16, _ dp: UInt16, _ flags: TCPFlags, payload: [UInt8] = [])
        -> [UInt8]
    {
        PacketBuilder.ethernet().ipv4(src: src, dst: dst).tcp(sport: sp, dport: dp, flags: flags).payload(payload)
            .build()
    }

    @Test func tcpConnectionDecodesExactlyWithIsReply() throws {
        let p = try programs(.none)
        let steps: [(String, String, UInt16, UInt16, TCPFlags, [UInt8], Bool)] = [
            (Self.a, Self.b, 40000, 80, [.syn], [], false),
            (Self.b, Self.a, 80, 40000, [.syn, .ack], [], true),
            (Self.a, Self.b, 40000, 80, [.ack], [], false),
            (Self.a, Self.b, 40000, 80, [.psh, .ack], Array("GET / HTTP/1.1\r\n\r\n".utf8), false),
            (Self.b, Self.a, 80, 40000, [.fin, .ack], [], true),
            (Self.a, Self.b, 40000, 80, [.rst], [], false)
        ]
        for (src, dst, sp, dp, flags, payload, reply) in steps {
            let frame = Self.tcp(src, dst, sp, dp, flags, payload: payload)
            let flows = try run(p, frame)
            try #require(flows.count == 1)
            let f = flows[0]
            #expect(f.ip == IPHeader(source: IPAddress(src)!, destination: IPAddress(dst)!, ipVersion: .ipv4))
            #expect(f.l4 == .tcp(TCP(sourcePort: sp, destinationPort: dp, flags: flags)))
            #expect(f.isReply == reply, "is_reply of \(flags) from \(src)")
            #expect(f.verdict == .forwarded)
            #expect(f.type == .l3L4)
            #expect(f.eventType == CiliumEventType(type: 4, subType: 10))
            #expect(f.traceObservationPoint == .fromNetwork)
            #expect(
                f.ethernet
                    == Ethernet(
                        source: PacketBuilder.defaultSourceMAC, destination: PacketBuilder.defaultDestinationMAC))
            #expect(f.aggregatedPackets == 1)
            #expect(f.aggregatedBytes == UInt64(frame.count))
        }
    }

    @Test func synAckFirstMarksTheReceiverAsOriginator() throws {
        let p = try programs(.none)
        let f = try run(p, Self.tcp(Self.b, Self.a, 80, 40001, [.syn, .ack]))
        #expect(f.first?.isReply == true)
        let g = try run(p, Self.tcp(Self.a, Self.b, 40001, 80, [.ack]))
        #expect(g.first?.isReply == false)
    }

    @Test func midStreamTCPHasUnknownReply() throws {
        let p = try programs(.none)
        let f = try run(p, Self.tcp(Self.a, Self.b, 40002, 80, [.ack]))
        #expect(f.count == 1)
        #expect(f.first?.isReply == nil)
    }

    @Test func udpFirstSenderOpensTheConnection() throws {
        let p = try programs(.none)
        let q = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 5353, dport: 53).payload([1, 2, 3])
            .build()
        let r = PacketBuilder.ethernet().ipv4(src: Self.b, dst: Self.a).udp(sport: 53, dport: 5353).payload([4]).build()
        let f1 = try run(p, q)
        let f2 = try run(p, r, .egress)
        #expect(f1.first?.l4 == .udp(UDP(sourcePort: 5353, destinationPort: 53)))
        #expect(f1.first?.isReply == false)
        #expect(f2.first?.isReply == true)
        #expect(f2.first?.traceObservationPoint == .toNetwork)
        #expect(f2.first?.eventType?.subType == 11)
    }

    @Test func icmpEchoRequestAndReply() throws {
        let p = try programs(.none)
        let req = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).icmpv4(.echoRequest(id: 7, sequence: 1))
            .build()
        let rep = PacketBuilder.ethernet().ipv4(src: Self.b, dst: Self.a).icmpv4(.echoReply(id: 7, sequence: 1)).build()
        let f1 = try run(p, req)
        let f2 = try run(p, rep)
        #expect(f1.first?.l4 == .icmpv4(ICMP(type: 8, code: 0)))
        #expect(f1.first?.isReply == false)
        #expect(f2.first?.l4 == .icmpv4(ICMP(type: 0, code: 0)))
        #expect(f2.first?.isReply == true)
    }

    @Test func icmpv6EchoOverIPv6() throws {
        let p = try programs(.none)
        let req = PacketBuilder.ethernet().ipv6(src: "fd00::1", dst: "fd00::2").icmpv6(.echoRequest(id: 9, sequence: 1))
            .build()
        let rep = PacketBuilder.ethernet().ipv6(src: "fd00::2", dst: "fd00::1").icmpv6(.echoReply(id: 9, sequence: 1))
            .build()
        let f1 = try run(p, req)
        let f2 = try run(p, rep)
        #expect(
            f1.first?.ip
                == IPHeader(source: IPAddress("fd00::1")!, destination: IPAddress("fd00::2")!, ipVersion: .ipv6))
        #expect(f1.first?.l4 == .icmpv6(ICMP(type: 128, code: 0)))
        #expect(f1.first?.isReply == false)
        #expect(f2.first?.l4 == .icmpv6(ICMP(type: 129, code: 0)))
        #expect(f2.first?.isReply == true)
    }

    @Test func ipv6ExtensionHeadersAreSkipped() throws {
        let p = try programs(.none)
        let frame = PacketBuilder.ethernet().ipv6(src: "fd00::1", dst: "fd00::2")
            .ipv6Extension(.hopByHop()).ipv6Extension(.destinationOptions())
            .tcp(sport: 1234, dport: 443, flags: [.syn]).build()
        let f = try run(p, frame)
        #expect(f.first?.l4 == .tcp(TCP(sourcePort: 1234, destinationPort: 443, flags: [.syn])))
    }

    @Test func vlanTaggedFrame() throws {
        let p = try programs(.none)
        let frame = PacketBuilder.ethernet().vlan(100).ipv4(src: Self.a, dst: Self.b).udp(sport: 1000, dport: 2000)
            .build()
        let f = try run(p, frame)
        #expect(f.count == 1)
        #expect(f.first?.l4 == .udp(UDP(sourcePort: 1000, destinationPort: 2000)))
        #expect(f.first?.ip?.source == IPAddress(Self.a))
    }

    @Test func truncatedFrameIsReportedWithoutL4() throws {
        let p = try programs(.none)
        let full = Self.tcp(Self.a, Self.b, 40003, 80, [.syn])
        // Ethernet + IPv4 header + 6 bytes of TCP: the ports are there, the flags are not.
        let cut = Array(full.prefix(14 + 20 + 6))
        let f = try run(p, cut)
        #expect(f.count == 1)
        #expect(f.first?.ip?.source == IPAddress(Self.a))
        #expect(f.first?.l4 == nil)
    }

    @Test func nonIPFramesAreCountedNotReported() throws {
        let p = try programs(.none)
        var arp = [UInt8](repeating: 0xff, count: 6) + [0, 1, 2, 3, 4, 5] + [0x08, 0x06]
        arp += [UInt8](repeating: 0, count: 28)
        let f = try run(p, arp)
        #expect(f.isEmpty)
        #expect(p.stats().nonIP == 1)
    }

    @Test func mediumFoldsRepeatsInsideTheInterval() throws {
        let p = try programs(.medium)
        let syn = Self.tcp(Self.a, Self.b, 40010, 80, [.syn])
        let ack = Self.tcp(Self.a, Self.b, 40010, 80, [.ack])
        #expect(try run(p, syn).count == 1, "new connection")
        #expect(try run(p, ack).count == 1, "ACK not yet seen in this direction")
        #expect(try run(p, ack).count == 0, "same flags inside the interval are folded")
        #expect(try run(p, ack).count == 0)
        let synAck = Self.tcp(Self.b, Self.a, 80, 40010, [.syn, .ack])
        let back = try run(p, synAck)
        #expect(back.count == 1, "first packet of the other direction")
        #expect(back.first?.isReply == true)
        let psh = Self.tcp(Self.a, Self.b, 40010, 80, [.psh, .ack])
        let f = try run(p, psh)
        #expect(f.count == 1, "PSH is new in this direction")
        #expect(f.first?.aggregatedPackets == 3, "the two folded ACKs plus this packet")
        let s = p.stats()
        #expect(s.packets == 6)
        #expect(s.events == 4)
        #expect(s.aggregated == 2)
        #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull)
    }

    @Test func noneReportsEveryRepeat() throws {
        let p = try programs(.none)
        let udp = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 7000, dport: 7001).build()
        for _ in 0..<5 { #expect(try run(p, udp).count == 1) }
        #expect(p.stats().events == 5)
    }

    @Test func mediumReportsAgainAfterTheInterval() throws {
        let p = try programs(.medium, intervalNs: 300_000_000)  // 300 ms: wide enough for a loaded machine
        let udp = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 7100, dport: 7101).build()
        #expect(try run(p, udp).count == 1)
        #expect(try run(p, udp).count == 0)
        usleep(400_000)
        let f = try run(p, udp)
        #expect(f.count == 1, "one report per interval")
        #expect(f.first?.aggregatedPackets == 2)
    }

    @Test func newSynAfterFinStartsANewConnection() throws {
        let p = try programs(.medium)
        _ = try run(p, Self.tcp(Self.a, Self.b, 40020, 80, [.syn]))
        _ = try run(p, Self.tcp(Self.a, Self.b, 40020, 80, [.fin, .ack]))
        // The port is reused by the other side: the state is replaced, not inherited.
        let f = try run(p, Self.tcp(Self.b, Self.a, 80, 40020, [.syn]))
        #expect(f.count == 1)
        #expect(f.first?.isReply == false)
    }

    @Test func snapshotCarriesTheFrameHead() throws {
        let p = try programs(.none)
        // Port 9090 and a payload that is not HTTP: the ordinary snapshot length applies.
        let frame = Self.tcp(Self.a, Self.b, 40030, 9090, [.psh, .ack], payload: Array(repeating: 0x41, count: 400))
        _ = try p.testRun(.ingress, frame: frame)
        let raw = try p.drainEvents()
        try #require(raw.count == 1)
        let ev = try raw[0].withUnsafeBytes { try SpyPacketEvent(validating: $0) }
        #expect(Int(ev.snapLen) == 128)
        #expect(Array(raw[0][ev.snapshotRange]) == Array(frame.prefix(128)))
        #expect(ev.packetLength == UInt32(frame.count))
    }

    @Test func costPerPacketIsReported() throws {
        // Not a timed assertion: prints the kernel's own measurement for the record.
        let p = try programs(.medium)
        let frame = Self.tcp(Self.a, Self.b, 40040, 80, [.ack])
        let r = try p.testRun(.ingress, frame: frame, repeat: 100_000)
        print("tc program, aggregated ACK: \(r.durationNs) ns per run (BPF_PROG_TEST_RUN average over 100000)")
        #expect(r.returnValue == Self.tcActUnspec)
    }
}

extension TCProgramTests {
    @Test func igmpAndVRRPAreDecoded() throws {
        let p = try programs(.none)
        // IGMPv2 membership report for 239.1.2.3: type 0x16, max resp 0, checksum, group.
        let igmp = PacketBuilder.ethernet().ipv4(src: Self.a, dst: "239.1.2.3", ttl: 1).ipProtocol(2)
            .payload([0x16, 0, 0, 0, 239, 1, 2, 3]).build()
        let f = try run(p, igmp)
        #expect(f.first?.l4 == .igmp(IGMP(type: 0x16, groupAddress: IPAddress("239.1.2.3"))))
        #expect(f.first?.flowProtocol == "IGMP")
        // VRRPv2 advertisement: version 2 type 1, vrid 7, priority 100.
        let vrrp = PacketBuilder.ethernet().ipv4(src: Self.a, dst: "224.0.0.18", ttl: 255).ipProtocol(112)
            .payload([0x21, 7, 100, 1, 0, 1, 0, 0, 10, 1, 0, 254]).build()
        let g = try run(p, vrrp)
        #expect(g.first?.l4 == .vrrp(VRRP(type: 1, vrid: 7, priority: 100)))
    }
}

extension TCProgramTests {
    /// Packets that carry DNS or HTTP are reported whatever the aggregation, with the longer L7 snapshot.
    @Test func l7PayloadIsAlwaysReportedWithALongSnapshot() throws {
        let p = try programs(.medium)
        let request =
            Array("GET /index.html HTTP/1.1\r\nHost: deathstar\r\n\r\n".utf8) + Array(repeating: 0x61, count: 1400)
        let http = Self.tcp(Self.a, Self.b, 40100, 80, [.psh, .ack], payload: request)
        for _ in 0..<3 {
            let raw = try { () throws -> [[UInt8]] in
                let r = try p.testRun(.ingress, frame: http)
                #expect(r.dataOut == http)
                return try p.drainEvents()
            }()
            try #require(raw.count == 1, "every HTTP segment is reported at medium")
            let ev = try raw[0].withUnsafeBytes { try SpyPacketEvent(validating: $0) }
            #expect(Int(ev.snapLen) == 1024, "L7 snapshot length")
            #expect(ev.flags.contains(.l7Candidate))
            #expect(Array(raw[0][ev.snapshotRange]) == Array(http.prefix(1024)))
        }
        // A bare ACK on the same connection (ACK already seen in this direction) is folded as usual.
        let ack = Self.tcp(Self.a, Self.b, 40100, 80, [.ack])
        #expect(try run(p, ack).count == 0, "bare ACKs without payload are aggregated")
    }

    @Test func l7OnlyReportsKeepTraceAccountingExact() throws {
        let p = try programs(.medium)
        let get = Self.tcp(Self.a, Self.b, 40300, 80, [.psh, .ack], payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let first = try run(p, get)
        #expect(first.count == 1)
        // The second identical segment is folded as a trace but still sent for the L7 parser.
        _ = try p.testRun(.ingress, frame: get)
        let raw = try p.drainEvents()
        try #require(raw.count == 1)
        let ev = try raw[0].withUnsafeBytes { try SpyPacketEvent(validating: $0) }
        #expect(ev.flags.contains(.l7Only))
        #expect(ev.aggregatedPackets == 0)
        // A later trace report counts the folded packet.
        let fin = Self.tcp(Self.a, Self.b, 40300, 80, [.fin, .ack])
        let f = try run(p, fin)
        #expect(f.first?.aggregatedPackets == 2)
        let s = p.stats()
        #expect(s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull)
    }

    /// A receive-side point flagged SPY_IFACE_F_SUPPRESS_INGRESS (BPF_PROG_TEST_RUN runs on loopback, ifindex 1):
    /// not reported unless addressed to the node, L7 payload still sent for the parser only, sending side untouched.
    @Test func receiveSideSuppressionPerInterfaceFlag() throws {
        let p = try programs(.medium)
        try p.setObservationPoints(
            ifindex: 1, ingress: UInt8(SPY_OBS_FROM_ENDPOINT), egress: UInt8(SPY_OBS_TO_ENDPOINT),
            flags: UInt8(SPY_IFACE_F_SUPPRESS_INGRESS))
        #expect(try run(p, Self.tcp(Self.a, Self.b, 41000, 9000, [.syn])).isEmpty, "from-endpoint suppressed")
        #expect(
            try run(p, Self.tcp(Self.a, Self.b, 41001, 9000, [.syn]), .egress).map(\.traceObservationPoint) == [
                .toEndpoint
            ])
        let get = Self.tcp(Self.a, Self.b, 41002, 80, [.psh, .ack], payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        _ = try p.testRun(.ingress, frame: get)
        let raw = try p.drainEvents()
        try #require(raw.count == 1, "an L7 packet still reaches the parser")
        let ev = try raw[0].withUnsafeBytes { try SpyPacketEvent(validating: $0) }
        #expect(ev.flags.contains(.l7Only) && ev.aggregatedPackets == 0, "but adds no trace flow")
        // Addressed to the node itself: nothing else would see it.
        let z = [UInt8](repeating: 0, count: 12)
        p.setHostAddresses([[10, 1, 0, 2] + z])
        #expect(
            try run(p, Self.tcp(Self.a, Self.b, 41003, 9000, [.syn])).map(\.traceObservationPoint) == [.fromEndpoint])
        #expect(try run(p, Self.tcp(Self.b, Self.a, 41004, 9000, [.syn])).isEmpty, "10.1.0.1 is not the node's")
        p.setHostAddresses([])
        #expect(try run(p, Self.tcp(Self.a, Self.b, 41005, 9000, [.syn])).isEmpty, "addresses replaced")
        // Multicast is delivered to the node too.
        let mcast = PacketBuilder.ethernet().ipv4(src: Self.a, dst: "239.1.1.1").udp(sport: 5000, dport: 5000).payload([
            1
        ]).build()
        #expect(try run(p, mcast).count == 1)
        let s = p.stats()
        #expect(s.receiveSuppressed == 3)
        #expect(
            s.packets == s.events + s.aggregated + s.nonIP + s.ringBufferFull + s.receiveSuppressed + s.tunnelSkipped)

        // Without the flag (or at none) the receive side reports.
        try p.setObservationPoints(
            ifindex: 1, ingress: UInt8(SPY_OBS_FROM_ENDPOINT), egress: UInt8(SPY_OBS_TO_ENDPOINT))
        #expect(try run(p, Self.tcp(Self.a, Self.b, 41006, 9000, [.syn])).count == 1)
        let none = try programs(.none)
        try none.setObservationPoints(
            ifindex: 1, ingress: UInt8(SPY_OBS_FROM_ENDPOINT), egress: UInt8(SPY_OBS_TO_ENDPOINT),
            flags: UInt8(SPY_IFACE_F_SUPPRESS_INGRESS))
        #expect(try run(none, Self.tcp(Self.a, Self.b, 41007, 9000, [.syn])).count == 1)
    }

    /// A device told a watched tunnel's UDP port does not report the encapsulated packets (their inner packets are
    /// reported at the tunnel); other UDP is reported.
    @Test func tunnelPacketsOnADeviceAreSkipped() throws {
        let p = try programs(.medium)
        try p.setObservationPoints(
            ifindex: 1, ingress: UInt8(SPY_OBS_FROM_NETWORK), egress: UInt8(SPY_OBS_TO_NETWORK), tunnelPort: 4789)
        let vxlan = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 51000, dport: 4789).payload([
            8, 0, 0, 0
        ]).build()
        let vxlanIn = PacketBuilder.ethernet().ipv4(src: Self.b, dst: Self.a).udp(sport: 51001, dport: 4789).payload([
            8, 0, 0, 0
        ]).build()
        #expect(try run(p, vxlan, .egress).isEmpty)
        #expect(try run(p, vxlanIn).isEmpty)
        let other = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 51000, dport: 4790).payload([8])
            .build()
        #expect(try run(p, other, .egress).map(\.traceObservationPoint) == [.toNetwork])
        #expect(p.stats().tunnelSkipped == 2)
    }

    @Test func httpIsDetectedOnAnyPortAndDNSOnItsPort() throws {
        let p = try programs(.medium)
        let get = Self.tcp(Self.a, Self.b, 40200, 12345, [.psh, .ack], payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let other = Self.tcp(Self.a, Self.b, 40200, 12345, [.psh, .ack], payload: Array("hello world".utf8))
        #expect(try run(p, get).count == 1)
        #expect(try run(p, get).count == 1, "an HTTP start line is always reported")
        #expect(try run(p, other).count == 0, "other payload on an unknown port is aggregated")
        let dns = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 5300, dport: 53).payload([
            0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0
        ]).build()
        for _ in 0..<3 { #expect(try run(p, dns).count == 1, "every DNS datagram is reported") }
        let plain = PacketBuilder.ethernet().ipv4(src: Self.a, dst: Self.b).udp(sport: 5301, dport: 5353).payload([
            1, 2, 3
        ]).build()
        #expect(try run(p, plain).count == 1)
        #expect(try run(p, plain).count == 0, "other UDP is aggregated")
    }
}
