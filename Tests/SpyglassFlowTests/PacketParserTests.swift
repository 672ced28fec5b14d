import SpyglassFlow
import SpyglassTesting
import Testing

@Suite("PacketParser")
struct PacketParserTests {
    @Test func tcpIPv4() {
        let frame = Frames.v4().tcp(
            sport: 40000, dport: 80, flags: [.syn, .ece, .cwr, .ns], seq: 7, ack: 9,
            options: [2, 4, 5, 0xb4]
        ).payload("abc").build()
        let p = PacketParser.parse(frame)
        #expect(p.ethernet == Ethernet(source: macAddr(Frames.mac1), destination: macAddr(Frames.mac2)))
        #expect(p.etherType == 0x0800 && p.vlanID == nil)
        #expect(p.l3Offset == 14 && p.l4Offset == 34 && p.payloadOffset == 58)
        #expect(p.ipVersion == .ipv4 && p.ipProtocol == 6 && p.ttl == 64)
        #expect(p.source == addr("10.0.0.1") && p.destination == addr("10.0.0.2"))
        #expect(p.sourcePort == 40000 && p.destinationPort == 80)
        #expect(
            p.tcp
                == .init(
                    sequence: 7, acknowledgment: 9, headerLength: 24, flags: [.syn, .ece, .cwr, .ns], window: 65535))
        #expect(p.payloadLength == 3 && p.ipEnd == frame.count)
        #expect(!p.isTruncated && p.malformedAt == nil && !p.isPayloadTruncated && p.fragment == nil)
        #expect(p.payloadRange.map { Array(frame[$0]) } == Array("abc".utf8))
    }

    @Test func udpSCTPAndICMP() {
        let udp = PacketParser.parse(Frames.v6().udp(sport: 53, dport: 5353).payload([1, 2]).build())
        #expect(udp.ipVersion == .ipv6 && udp.ipProtocol == 17)
        #expect(udp.sourcePort == 53 && udp.destinationPort == 5353)
        #expect(udp.l4Offset == 54 && udp.payloadOffset == 62 && udp.payloadLength == 2)
        #expect(udp.source == addr("fd00::1") && udp.destination == addr("fd00::2") && udp.ttl == 64)

        let sctp = PacketParser.parse(Frames.v4().sctp(sport: 1, dport: 2).payload([1, 0, 0, 4]).build())
        #expect(sctp.ipProtocol == 132 && sctp.sourcePort == 1 && sctp.destinationPort == 2)
        #expect(sctp.payloadOffset == 46 && sctp.payloadLength == 4)

        let echo = PacketParser.parse(Frames.v4().icmpv4(.echoRequest(id: 0x1234, sequence: 5)).payload("ping").build())
        #expect(echo.icmp == .init(type: 8, code: 0, echoID: 0x1234, echoSequence: 5))
        #expect(echo.sourcePort == nil && echo.payloadLength == 4)

        let reply = PacketParser.parse(Frames.v4().icmpv4(.echoReply(id: 1, sequence: 2)).build())
        #expect(reply.icmp == .init(type: 0, code: 0, echoID: 1, echoSequence: 2))

        let quoted = PacketBuilder().ipv4(src: "10.0.0.2", dst: "10.0.0.1").udp(sport: 53, dport: 5353).build()
        let unreach = PacketParser.parse(Frames.v4().icmpv4(.destinationUnreachable(code: 1, original: quoted)).build())
        #expect(unreach.icmp == .init(type: 3, code: 1))
        #expect(unreach.payloadLength == quoted.count)

        let e6 = PacketParser.parse(Frames.v6().icmpv6(.echoRequest(id: 3, sequence: 4)).build())
        #expect(e6.ipProtocol == 58 && e6.icmp == .init(type: 128, code: 0, echoID: 3, echoSequence: 4))
        let r6 = PacketParser.parse(Frames.v6().icmpv6(.echoReply(id: 3, sequence: 4)).build())
        #expect(r6.icmp == .init(type: 129, code: 0, echoID: 3, echoSequence: 4))
        let other6 = PacketParser.parse(Frames.v6().icmpv6(.other(type: 135, code: 0)).build())
        #expect(other6.icmp == .init(type: 135, code: 0))
    }

    @Test(arguments: [UInt16(0x8100), 0x88a8])
    func vlanTags(tpid: UInt16) {
        let p = PacketParser.parse(
            Frames.eth().vlan(4000, priority: 5, tpid: tpid).ipv4(src: "1.2.3.4", dst: "5.6.7.8")
                .udp(sport: 1, dport: 2).build())
        #expect(p.vlanTPID == tpid && p.vlanID == 4000 && p.etherType == 0x0800)
        #expect(p.l3Offset == 18 && p.l4Offset == 38 && p.sourcePort == 1)
    }

    @Test func ipv4Options() {
        let p = PacketParser.parse(
            Frames.v4().ipv4(src: "10.0.0.1", dst: "10.0.0.2", options: [7, 7, 4, 0, 0, 0, 0])
                .tcp(sport: 5, dport: 6).build())
        #expect(p.l4Offset == 14 + 28 && p.sourcePort == 5 && p.destinationPort == 6)
    }

    static let extensions: [(PacketBuilder.IPv6Extension, UInt8)] = [
        (.hopByHop(), 0), (.hopByHop(extraUnits: 3), 0),
        (.routing(segmentsLeft: 1, addresses: [IPAddress("fd00::9")!]), 43),
        (.fragment(), 44), (.destinationOptions(), 60), (.destinationOptions(extraUnits: 1), 60),
        (.authentication(), 51), (.authentication(icvLength: 16), 51)
    ]

    @Test(arguments: extensions)
    func ipv6ExtensionHeader(ext: PacketBuilder.IPv6Extension, number: UInt8) {
        for l4 in ["tcp", "udp", "icmpv6"] {
            var b = Frames.v6().ipv6Extension(ext)
            switch l4 {
            case "tcp": b = b.tcp(sport: 11, dport: 22, flags: [.fin])
            case "udp": b = b.udp(sport: 11, dport: 22)
            default: b = b.icmpv6(.echoRequest(id: 11, sequence: 1))
            }
            let frame = b.payload("x").build()
            let p = PacketParser.parse(frame)
            #expect(p.ipv6ExtensionHeaders == [number])
            #expect(!p.isTruncated && p.malformedAt == nil)
            #expect(p.payloadLength == 1 && p.payloadOffset == frame.count - 1)
            if l4 == "icmpv6" {
                #expect(p.ipProtocol == 58 && p.icmp?.echoID == 11)
            } else {
                #expect(p.sourcePort == 11 && p.destinationPort == 22)
                #expect(p.ipProtocol == (l4 == "tcp" ? 6 : 17))
            }
            if number == 44 {
                #expect(p.fragment == .init(offset: 0, moreFragments: false, identification: 0x1234_5678))
            }
            // And the kernel's view of the same frame decodes the same way.
            let f = try? EventDecoder.testing().decode(EventBuilder.trace(frame: frame).build())
            #expect(f?.l4 != nil)
        }
    }

    @Test func ipv6ExtensionChain() {
        let p = PacketParser.parse(
            Frames.v6().ipv6Extension(.hopByHop()).ipv6Extension(.destinationOptions())
                .ipv6Extension(.routing()).ipv6Extension(.fragment(moreFragments: true)).ipv6Extension(
                    .authentication()
                )
                .ipv6Extension(.destinationOptions()).tcp(sport: 1, dport: 2).build())
        #expect(p.ipv6ExtensionHeaders == [0, 60, 43, 44, 51, 60])
        #expect(p.ipProtocol == 6 && p.sourcePort == 1 && p.fragment?.moreFragments == true)
    }

    @Test func tooManyExtensionHeaders() {
        var b = Frames.v6()
        for _ in 0..<(PacketParser.maxIPv6ExtensionHeaders + 1) { b = b.ipv6Extension(.destinationOptions()) }
        let p = PacketParser.parse(b.udp(sport: 1, dport: 2).build())
        #expect(p.malformedAt == .ipv6Extension && p.sourcePort == nil)
    }

    @Test func ipv4Fragments() {
        let first = PacketParser.parse(
            Frames.eth().ipv4(src: "10.0.0.1", dst: "10.0.0.2", id: 99, moreFragments: true)
                .udp(sport: 1, dport: 2).payload([UInt8](repeating: 0, count: 16)).build())
        #expect(first.fragment == .init(offset: 0, moreFragments: true, identification: 99))
        #expect(!first.isNonFirstFragment && first.sourcePort == 1)

        let later = PacketParser.parse(
            Frames.eth().ipv4(src: "10.0.0.1", dst: "10.0.0.2", id: 99, fragmentOffset: 24)
                .ipProtocol(17).payload([UInt8](repeating: 0xaa, count: 10)).build())
        #expect(later.fragment == .init(offset: 24, moreFragments: false, identification: 99))
        #expect(later.isNonFirstFragment && later.ipProtocol == 17)
        #expect(
            later.sourcePort == nil && later.l4Offset == nil && later.payloadOffset == 34 && later.payloadLength == 10)

        let df = PacketParser.parse(
            Frames.eth().ipv4(src: "10.0.0.1", dst: "10.0.0.2", dontFragment: true).udp(sport: 1, dport: 2).build())
        #expect(df.fragment == nil)
    }

    @Test func ipv6NonFirstFragment() {
        let frame = Frames.v6().ipv6Extension(.hopByHop()).ipv6Extension(
            .fragment(offset: 1232, moreFragments: true, identification: 5)
        )
        .ipProtocol(6).payload([UInt8](repeating: 1, count: 20)).build()
        let p = PacketParser.parse(frame)
        #expect(p.ipv6ExtensionHeaders == [0, 44])
        #expect(p.fragment == .init(offset: 1232, moreFragments: true, identification: 5))
        #expect(p.isNonFirstFragment && p.ipProtocol == 6 && p.tcp == nil && p.payloadLength == 20)
        let e = EventBuilder.trace(frame: frame)
        #expect(e.flags.contains(.fragment) && !e.flags.contains(.l4Present) && e.l4Proto == 6)
    }

    @Test func ethernetPaddingIsNotPayload() {
        let frame = Frames.v4().udp(sport: 1, dport: 2).payload([9]).padded(to: 60).build()
        #expect(frame.count == 60)
        let p = PacketParser.parse(frame)
        #expect(p.ipEnd == 14 + 29 && p.payloadLength == 1 && !p.isPayloadTruncated)
    }

    static let truncationFrames: [(String, [UInt8], Int)] = [
        // name, frame, length of all headers (below it the frame must report truncation)
        (
            "tcp4", Frames.v4().tcp(sport: 1, dport: 2, flags: [.syn], options: [1, 1, 1, 1]).payload("data").build(),
            14 + 20 + 24
        ),
        (
            "udp6vlan",
            Frames.eth().vlan(7).ipv6(src: "::1", dst: "::2").udp(sport: 1, dport: 2).payload("data").build(),
            18 + 40 + 8
        ),
        ("sctp4", Frames.v4().sctp(sport: 1, dport: 2).payload("data").build(), 14 + 20 + 12),
        ("icmp4", Frames.v4().icmpv4(.echoRequest(id: 1, sequence: 1)).payload("data").build(), 14 + 20 + 8),
        (
            "icmp6ext",
            Frames.v6().ipv6Extension(.hopByHop()).ipv6Extension(.authentication()).icmpv6(
                .echoReply(id: 1, sequence: 1)
            ).payload("data").build(), 14 + 40 + 8 + 24 + 8
        ),
        (
            "tcp6frag",
            Frames.v6().ipv6Extension(.fragment(moreFragments: true)).ipv6Extension(
                .routing(addresses: [IPAddress("::3")!])
            ).tcp(sport: 1, dport: 2).build(), 14 + 40 + 8 + 24 + 20
        )
    ]

    @Test(arguments: truncationFrames)
    func truncatedAtEveryLength(name: String, frame: [UInt8], headers: Int) {
        let full = PacketParser.parse(frame)
        #expect(!full.isTruncated && full.malformedAt == nil, "\(name)")
        for n in 0...frame.count {
            let cut = Array(frame.prefix(n))
            let p = PacketParser.parse(cut)
            #expect(p.frameLength == n)
            #expect(p.isTruncated == (n < headers), "\(name) at \(n): \(String(describing: p.truncatedAt))")
            #expect(p.malformedAt == nil)
            if n >= headers {
                #expect(p.payloadOffset == headers)
                #expect(p.isPayloadTruncated == (n < frame.count))
                #expect(p.payloadLength == n - headers)
            }
            if n < 14 { #expect(p.truncatedAt == .ethernet && p.ethernet == nil) }
            if let off = p.payloadOffset { #expect(off <= n) }
            if let end = p.ipEnd { #expect(end <= n) }
            // The event built from the cut frame is marked truncated the same way and still decodes.
            let e = EventBuilder.trace(frame: cut)
            #expect(e.flags.contains(.truncated) == p.isTruncated)
            #expect((try? EventDecoder.testing().decode(e.build())) != nil)
        }
    }

    @Test func malformedHeaders() {
        var frame = Frames.v4().tcp(sport: 1, dport: 2).build()
        frame[14] = 0x44  // IHL 4
        #expect(PacketParser.parse(frame).malformedAt == .ipv4)
        frame[14] = 0x65  // version 6 in an IPv4 EtherType
        #expect(PacketParser.parse(frame).malformedAt == .ipv4)
        frame = Frames.v4().tcp(sport: 1, dport: 2).build()
        frame[17] = 10  // total length shorter than the header
        #expect(PacketParser.parse(frame).malformedAt == .ipv4)
        frame = Frames.v4().tcp(sport: 1, dport: 2).build()
        frame[16] = 0; frame[17] = 0  // total length 0 (GSO): runs to the end of the frame
        let gso = PacketParser.parse(frame)
        #expect(gso.malformedAt == nil && gso.ipEnd == frame.count && gso.sourcePort == 1)
        frame = Frames.v4().tcp(sport: 1, dport: 2).build()
        frame[34 + 12] = 0x40  // data offset 4
        #expect(PacketParser.parse(frame).malformedAt == .tcp)
        frame = Frames.v6().udp(sport: 1, dport: 2).build()
        frame[14] = 0x40
        #expect(PacketParser.parse(frame).malformedAt == .ipv6)
        frame = Frames.v4().tcp(sport: 1, dport: 2).build()
        frame[34 + 12] = 0xf0  // data offset 15: 60-byte header, frame too short
        let cut = PacketParser.parse(frame)
        #expect(cut.truncatedAt == .tcp && cut.sourcePort == 1 && cut.payloadOffset == nil)
    }

    @Test func nonIPFrames() {
        let arp = PacketParser.parse(
            PacketBuilder.ethernet(etherType: 0x0806).payload([UInt8](repeating: 0, count: 28)).build())
        #expect(arp.etherType == 0x0806 && arp.ipVersion == .ipNotUsed && arp.l3Offset == nil && !arp.isTruncated)
        let qinq = PacketParser.parse(Frames.eth().vlan(1, tpid: 0x88a8).payload([0x81, 0x00, 0, 2, 0x08, 0]).build())
        #expect(qinq.vlanID == 1 && qinq.etherType == 0x88b5)  // no L3: the builder's experimental EtherType
    }

    @Test func garbageNeverCrashes() {
        var rng = SeededRandom(seed: 7)
        var truncatedOrMalformed = 0
        for i in 0..<100_000 {
            var frame = rng.bytes(Int(rng.next() % 200))
            if frame.count >= 14 && i % 2 == 0 {
                let types: [(UInt8, UInt8)] = [(0x08, 0x00), (0x86, 0xdd), (0x81, 0x00), (0x88, 0xa8)]
                let t = types[Int(rng.next() % 4)]
                frame[12] = t.0; frame[13] = t.1
                if frame.count > 18 && (t.0 == 0x81 || t.0 == 0x88) {
                    let inner = types[Int(rng.next() % 2)]
                    frame[16] = inner.0; frame[17] = inner.1
                }
                let l3 = frame[12] == 0x81 || frame[12] == 0x88 ? 18 : 14
                if frame.count > l3 + 9 {
                    let isV6 = frame[l3 - 2] == 0x86
                    frame[l3] = isV6 ? 0x60 : 0x45
                    let protos: [UInt8] = [6, 17, 132, 1, 58, 0, 43, 44, 60, 51]
                    frame[l3 + (isV6 ? 6 : 9)] = protos[Int(rng.next() % UInt64(protos.count))]
                }
            }
            let p = PacketParser.parse(frame)
            if p.isTruncated || p.malformedAt != nil { truncatedOrMalformed += 1 }
            if let off = p.payloadOffset { #expect(off <= frame.count) }
            if let r = p.payloadRange { _ = frame[r] }
        }
        #expect(truncatedOrMalformed > 0)
    }
}
