import SpyglassFlow
import SpyglassTesting
import Testing

@Suite("EventDecoder")
struct EventDecoderTests {
    let decoder = EventDecoder.testing()

    func decode(_ e: EventBuilder) throws -> Flow { try decoder.decode(e.build()) }

    @Test func tcpIPv4Fields() throws {
        let frame = Frames.v4().tcp(sport: 40000, dport: 80, flags: [.syn]).build()
        var e = EventBuilder.trace(frame: frame, isReply: false)
        e.aggregated = 7
        e.aggregatedBytes = 4242
        let f = try decode(e)
        #expect(f.verdict == .forwarded)
        #expect(f.type == .l3L4)
        #expect(f.nodeName == "kind/node-1")
        #expect(f.eventType == CiliumEventType(type: 4, subType: 10))
        #expect(f.traceObservationPoint == .fromNetwork)
        #expect(f.trafficDirection == .ingress)
        #expect(f.isReply == false)
        #expect(f.ethernet == Ethernet(source: macAddr(Frames.mac1), destination: macAddr(Frames.mac2)))
        #expect(f.ip == IPHeader(source: addr("10.0.0.1"), destination: addr("10.0.0.2"), ipVersion: .ipv4))
        #expect(f.ip?.source.description == "10.0.0.1")
        #expect(f.l4 == .tcp(TCP(sourcePort: 40000, destinationPort: 80, flags: [.syn])))
        #expect(f.interface == NetworkInterface(index: 2, name: "eth0"))
        #expect(f.aggregatedPackets == 7)
        #expect(f.aggregatedBytes == 4242)
        #expect(f.summary == "TCP Flags: SYN")
        #expect(f.flowProtocol == "TCP")
        #expect(f.source == nil && f.destination == nil && f.l7 == nil)
        #expect(f.dropReasonDesc == .unknown && f.kernelDropReason == nil)
    }

    @Test func tcpEveryFlagCombinationIncludingNS() throws {
        let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"]
        for raw in UInt16(0)..<512 {
            let flags = TCPFlags(rawValue: raw)
            for v6 in [false, true] {
                let base = v6 ? Frames.v6() : Frames.v4()
                let frame = base.tcp(sport: 1234, dport: 443, flags: flags).build()
                let e = EventBuilder.trace(frame: frame)
                #expect(e.tcpFlags == UInt8(raw & 0xff))
                #expect(e.flags.contains(.tcpNS) == (raw & 0x100 != 0))
                let f = try decode(e)
                #expect(f.l4 == .tcp(TCP(sourcePort: 1234, destinationPort: 443, flags: flags)), "flags \(raw)")
                let expected = (0..<9).filter { raw & (1 << $0) != 0 }.map { names[$0] }.joined(separator: ", ")
                #expect(f.summary == "TCP Flags: " + expected)
            }
        }
    }

    @Test func nsBitComesFromEventFlagNotTCPFlagsByte() throws {
        var e = EventBuilder.trace(frame: Frames.v4().tcp(sport: 1, dport: 2, flags: [.ack]).build())
        e.flags.insert(.tcpNS)
        let f = try decode(e)
        #expect(f.l4 == .tcp(TCP(sourcePort: 1, destinationPort: 2, flags: [.ack, .ns])))
        #expect(f.summary == "TCP Flags: ACK, NS")
    }

    @Test func udpIPv4AndIPv6() throws {
        let f4 = try decode(.trace(frame: Frames.v4().udp(sport: 5353, dport: 53).payload("q").build()))
        #expect(f4.l4 == .udp(UDP(sourcePort: 5353, destinationPort: 53)))
        #expect(f4.summary == "UDP")
        let f6 = try decode(.trace(frame: Frames.v6().udp(sport: 5353, dport: 53).build()))
        #expect(f6.l4 == .udp(UDP(sourcePort: 5353, destinationPort: 53)))
        #expect(f6.ip == IPHeader(source: addr("fd00::1"), destination: addr("fd00::2"), ipVersion: .ipv6))
        #expect(f6.ip?.destination.description == "fd00::2")
        #expect(f6.flowProtocol == "UDP")
    }

    @Test func sctp() throws {
        for base in [Frames.v4(), Frames.v6()] {
            let f = try decode(.trace(frame: base.sctp(sport: 3868, dport: 3869).build()))
            #expect(f.l4 == .sctp(SCTP(sourcePort: 3868, destinationPort: 3869)))
            #expect(f.summary == "SCTP")
            #expect(f.flowProtocol == "SCTP")
        }
    }

    @Test func icmpv4Messages() throws {
        let req = try decode(.trace(frame: Frames.v4().icmpv4(.echoRequest(id: 7, sequence: 1)).build()))
        #expect(req.l4 == .icmpv4(ICMP(type: 8, code: 0)))
        #expect(req.summary == "ICMPv4 EchoRequest")
        let rep = try decode(.trace(frame: Frames.v4().icmpv4(.echoReply(id: 7, sequence: 1)).build(), isReply: true))
        #expect(rep.l4 == .icmpv4(ICMP(type: 0, code: 0)))
        #expect(rep.summary == "ICMPv4 EchoReply")
        #expect(rep.isReply == true)
        let quoted = PacketBuilder().ipv4(src: "10.0.0.2", dst: "10.0.0.1").udp(sport: 53, dport: 5353).build()
        let unreach = Frames.v4().icmpv4(.destinationUnreachable(code: 3, original: Array(quoted.prefix(28)))).build()
        let u = try decode(.trace(frame: unreach))
        #expect(u.l4 == .icmpv4(ICMP(type: 3, code: 3)))
        #expect(u.summary == "ICMPv4 DestinationUnreachable(Port)")
        #expect(u.flowProtocol == "ICMPv4")
    }

    @Test func icmpv6Echo() throws {
        let req = try decode(.trace(frame: Frames.v6().icmpv6(.echoRequest(id: 9, sequence: 2)).build()))
        #expect(req.l4 == .icmpv6(ICMP(type: 128, code: 0)))
        #expect(req.summary == "ICMPv6 EchoRequest")
        let rep = try decode(.trace(frame: Frames.v6().icmpv6(.echoReply(id: 9, sequence: 2)).build()))
        #expect(rep.l4 == .icmpv6(ICMP(type: 129, code: 0)))
        #expect(rep.summary == "ICMPv6 EchoReply")
        #expect(rep.flowProtocol == "ICMPv6")
    }

    @Test func vlanTaggedFrame() throws {
        let frame = Frames.eth().vlan(100).ipv6(src: "2001:db8::1", dst: "2001:db8::2").udp(sport: 1, dport: 2).build()
        let e = EventBuilder.trace(frame: frame)
        #expect(e.flags.contains(.vlan) && e.vlanID == 100 && e.l3Offset == 18)
        let f = try decode(e)
        #expect(f.ethernet?.source == macAddr(Frames.mac1))
        #expect(f.ip?.source == addr("2001:db8::1"))
        #expect(f.l4 == .udp(UDP(sourcePort: 1, destinationPort: 2)))
    }

    @Test func isReplyKnownAndUnknown() throws {
        let frame = Frames.v4().tcp(sport: 1, dport: 2, flags: [.ack]).build()
        #expect(try decode(.trace(frame: frame, isReply: nil)).isReply == nil)
        #expect(try decode(.trace(frame: frame, isReply: false)).isReply == false)
        #expect(try decode(.trace(frame: frame, isReply: true)).isReply == true)
        // IS_REPLY without REPLY_KNOWN: still unknown.
        var e = EventBuilder.trace(frame: frame)
        e.flags.insert(.isReply)
        #expect(try decode(e).isReply == nil)
    }

    static let directionCases: [(UInt8, Bool?, TrafficDirection)] = {
        typealias C = SpyEventLayout.ObservationCode
        var cases: [(UInt8, Bool?, TrafficDirection)] = [
            (C.toEndpoint, nil, .ingress), (C.toEndpoint, false, .ingress), (C.toEndpoint, true, .egress),
            (C.fromEndpoint, nil, .egress), (C.fromEndpoint, false, .egress), (C.fromEndpoint, true, .ingress),
            (C.fromNetwork, nil, .ingress), (C.fromNetwork, false, .ingress), (C.fromNetwork, true, .egress),
            (C.toNetwork, nil, .egress), (C.toNetwork, false, .egress), (C.toNetwork, true, .ingress)
        ]
        for code: UInt8 in [1, 2, 3, 4, 6, 7, 8, 9, 12, 13, 14, 100, 0xff] {
            for r: Bool? in [nil, false, true] { cases.append((code, r, .unknown)) }
        }
        return cases
    }()

    @Test(arguments: directionCases)
    func observationPointToTrafficDirection(code: UInt8, isReply: Bool?, expected: TrafficDirection) throws {
        let frame = Frames.v4().udp(sport: 1, dport: 2).build()
        let f = try decode(.trace(frame: frame, obsPoint: code, isReply: isReply))
        #expect(f.trafficDirection == expected)
        #expect(f.eventType == CiliumEventType(type: CiliumEventType.trace, subType: Int32(code)))
        let point = TraceObservationPoint(datapathCode: Int32(code))
        #expect(f.traceObservationPoint == point)
        if code == 0 { #expect(point == .toEndpoint) }
        if code > 13 { #expect(point == .unknownPoint) }
        #expect(EventDecoder.trafficDirection(observationPoint: code, isReply: isReply) == expected)
    }

    @Test func unknownObservationPointIsNotToEndpoint() throws {
        let f = try decode(.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build(), obsPoint: 0xff))
        #expect(f.traceObservationPoint == .unknownPoint)
        #expect(f.eventType?.subType == 255)
        #expect(TraceObservationPoint.monitorName(datapathCode: f.eventType!.subType) == "")
    }

    @Test func interfaceNameResolution() throws {
        let frame = Frames.v4().udp(sport: 1, dport: 2).build()
        #expect(try decode(.trace(frame: frame, ifindex: 2)).interface == NetworkInterface(index: 2, name: "eth0"))
        #expect(try decode(.trace(frame: frame, ifindex: 9)).interface == NetworkInterface(index: 9, name: ""))
        #expect(try decode(.trace(frame: frame, ifindex: 0)).interface == nil)
    }

    @Test func timeConversion() throws {
        let d = EventDecoder.testing(offset: 1_700_000_000_000_000_000)
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build())
        e.timestampNs = 5_500_000_123
        #expect(try d.decode(e.build()).time == Timestamp(seconds: 1_700_000_005, nanos: 500_000_123))
        // Negative offset, result before a whole second.
        let neg = EventDecoder.testing(offset: -5_600_000_000)
        #expect(try neg.decode(e.build()).time == Timestamp(seconds: -1, nanos: 900_000_123))
        #expect(EventDecoder.timestamp(unixNs: -1) == Timestamp(seconds: -1, nanos: 999_999_999))
        #expect(EventDecoder.timestamp(unixNs: 0) == Timestamp(seconds: 0, nanos: 0))
        // Extreme values wrap instead of trapping.
        e.timestampNs = .max
        _ = try EventDecoder.testing(offset: .max).decode(e.build())
        _ = EventDecoder.timestamp(unixNs: .min)
    }

    @Test func bootClockOffsetIsPlausible() {
        let offset = BootClock.bootToWallOffsetNs()
        let wall = BootClock.wallNowNs()
        let boot = BootClock.bootNowNs()
        let estimate = Int64(bitPattern: boot) &+ offset
        #expect(abs(estimate - wall) < 1_000_000_000)
        #expect(offset > 1_500_000_000_000_000_000)  // wall clock is after 2017, boot time is small
    }

    @Test func aggregatedCounts() throws {
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build())
        e.aggregated = .max
        e.aggregatedBytes = .max
        let f = try decode(e)
        #expect(f.aggregatedPackets == .max && f.aggregatedBytes == .max)
    }

    @Test func noIPMeansNoIPAndNoL4() throws {
        var e = EventBuilder.trace(
            frame: PacketBuilder.ethernet(etherType: 0x0806).payload([UInt8](repeating: 1, count: 28)).build())
        #expect(e.ipVersion == 0)
        e.flags.insert(.l4Present)
        e.l4Proto = 6
        let f = try decode(e)
        #expect(f.ip == nil && f.l4 == nil)
        #expect(f.ethernet != nil)
        #expect(f.summary == "")
        #expect(f.flowProtocol == "Unknown L4")
    }

    @Test func fragmentsAndMissingL4() throws {
        let frag = Frames.v4().ipv4(src: "10.0.0.1", dst: "10.0.0.2", fragmentOffset: 1480).ipProtocol(17)
            .payload([UInt8](repeating: 0, count: 100)).build()
        let e = EventBuilder.trace(frame: frag)
        #expect(e.flags.contains(.fragment) && !e.flags.contains(.l4Present))
        let f = try decode(e)
        #expect(f.ip != nil && f.l4 == nil)
        #expect(f.summary == "IPv4")
        // Kernel says fragment even though L4_PRESENT is set: still no L4.
        var both = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build())
        both.flags.insert(.fragment)
        #expect(try decode(both).l4 == nil)
        // L4 not present.
        var none = EventBuilder.trace(frame: Frames.v6().udp(sport: 1, dport: 2).build())
        none.flags.remove(.l4Present)
        let g = try decode(none)
        #expect(g.l4 == nil && g.summary == "IPv6")
        // Unknown L4 protocol (GRE) with L4_PRESENT forced.
        var gre = EventBuilder.trace(frame: Frames.v4().ipProtocol(47).payload([0, 0, 8, 0]).build())
        gre.flags.insert(.l4Present)
        #expect(try decode(gre).l4 == nil)
    }

    @Test func ipv4AddressIgnoresBytesAfterTheFirstFour() throws {
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build())
        for i in 4..<16 { e.saddr[i] = 0xee; e.daddr[i] = 0xdd }
        let f = try decode(e)
        #expect(f.ip?.source == addr("10.0.0.1") && f.ip?.destination == addr("10.0.0.2"))
    }

    @Test func snapshotShorterThanEthernet() throws {
        let frame = Frames.v4().tcp(sport: 1, dport: 2, flags: [.syn]).build()
        for n in [0, 1, 6, 12, 13] {
            let f = try decode(.trace(frame: frame, snapLen: n))
            #expect(f.ethernet == nil)
            // Fixed fields still decode.
            #expect(f.l4 == .tcp(TCP(sourcePort: 1, destinationPort: 2, flags: [.syn])))
        }
        #expect(try decode(.trace(frame: frame, snapLen: 14)).ethernet != nil)
    }

    @Test func truncatedSnapshotsAtEveryLength() throws {
        let frame = Frames.eth().vlan(5).ipv6(src: "fd00::1", dst: "fd00::2").ipv6Extension(.hopByHop())
            .tcp(sport: 9, dport: 10, flags: [.psh, .ack]).payload("GET / HTTP/1.1\r\n").build()
        for n in 0...frame.count {
            let f = try decode(.trace(frame: Array(frame.prefix(n)), snapLen: 128))
            #expect((f.ethernet != nil) == (n >= 14))
        }
    }

    @Test func largerHeaderLenMovesTheSnapshot() throws {
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build())
        e.headerLen = 104
        e.trailing = [1, 2, 3]  // extra bytes after the snapshot are ignored
        let f = try decode(e)
        #expect(f.ethernet?.destination == macAddr(Frames.mac2))
    }

    @Test func dropEvents() throws {
        var e = EventBuilder.trace(frame: Frames.v4().tcp(sport: 1, dport: 2, flags: [.syn]).build(), obsPoint: 0xff)
        e.kind = SpyEventLayout.Kind.drop.rawValue
        e.dropReason = 77
        let f = try decode(e)
        #expect(f.verdict == .dropped)
        #expect(f.eventType == CiliumEventType(type: 1, subType: 0))
        #expect(f.type == .l3L4)
        #expect(f.dropReasonDesc == .unknown && f.kernelDropReason == nil)
        #expect(f.traceObservationPoint == .unknownPoint)
        #expect(f.l4 == .tcp(TCP(sourcePort: 1, destinationPort: 2, flags: [.syn])))

        let resolving = EventDecoder.testing(drops: { code in
            code == 77 ? (.policyDenied, "NETFILTER_DROP") : (.unknown, nil)
        })
        let g = try resolving.decode(e.build())
        #expect(g.dropReasonDesc == .policyDenied)
        #expect(g.kernelDropReason == "NETFILTER_DROP")
        #expect(g.eventType == CiliumEventType(type: 1, subType: 133))
    }

    @Test func rawEventFields() throws {
        var e = EventBuilder.trace(frame: Frames.v4().udp(sport: 1, dport: 2).build(), direction: .egress)
        e.reportReason = SpyEventLayout.ReportReason.l7.rawValue
        e.cpu = 3
        let bytes = e.build()
        let ev = try bytes.withUnsafeBytes { raw throws(DecodeError) in try SpyPacketEvent(validating: raw) }
        #expect(ev.kind == .trace)
        #expect(ev.reportReason == .l7)
        #expect(ev.cpu == 3)
        #expect(ev.hookDirection == SpyEventLayout.HookDirection.egress.rawValue)
        #expect(ev.l3Offset == 14 && ev.l4Offset == 34)
        #expect(ev.packetLength == UInt32(e.snapshot.count))
        #expect(ev.snapshotRange == 96..<(96 + e.snapshot.count))
    }
}
