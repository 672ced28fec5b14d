import SpyglassFlow
import SpyglassTesting
import Testing

/// Checksums recomputed with the independent helpers in TestSupport.swift.
@Suite("PacketBuilder")
struct PacketBuilderTests {
    @Test func knownIPv4HeaderChecksum() {
        // The classic example header 45 00 00 73 00 00 40 00 40 11 .. .. c0 a8 00 01 c0 a8 00 c7: checksum b861.
        let frame = PacketBuilder().ipv4(src: "192.168.0.1", dst: "192.168.0.199", ttl: 64, id: 0, dontFragment: true)
            .ipProtocol(17).payload([UInt8](repeating: 0, count: 0x73 - 20)).build()
        #expect(Array(frame.prefix(12)) == [0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61])
    }

    @Test func crc32cKnownVector() {
        #expect(Verify.crc32c(Array("123456789".utf8)) == 0xe306_9283)
        #expect(Checksum.crc32c(Array("123456789".utf8)) == 0xe306_9283)
    }

    func checkIPv4Header(_ frame: [UInt8], at l3: Int) -> Int {
        let ihl = Int(frame[l3] & 0x0f) * 4
        #expect(Verify.onesSum(Array(frame[l3..<(l3 + ihl)])) == 0xffff)
        #expect(Int(frame[l3 + 2]) << 8 | Int(frame[l3 + 3]) == frame.count - l3)
        return ihl
    }

    @Test(arguments: ["tcp", "udp", "icmp"])
    func ipv4Checksums(l4: String) {
        var b = Frames.eth().vlan(3).ipv4(src: "172.16.1.2", dst: "8.8.8.8", options: [1, 1, 1])
        switch l4 {
        case "tcp":
            b = b.tcp(sport: 33000, dport: 443, flags: [.psh, .ack], seq: 0xdead_beef, ack: 1, options: [2, 4, 5, 0xb4])
        case "udp": b = b.udp(sport: 33000, dport: 53)
        default: b = b.icmpv4(.echoRequest(id: 0xabcd, sequence: 0x0102))
        }
        let frame = b.payload("odd-length payload!").build()
        let l3 = 18
        let ihl = checkIPv4Header(frame, at: l3)
        #expect(ihl == 24)
        let segment = Array(frame[(l3 + ihl)...])
        let src = Array(frame[(l3 + 12)..<(l3 + 16)]), dst = Array(frame[(l3 + 16)..<(l3 + 20)])
        switch l4 {
        case "tcp":
            #expect(
                Verify.onesSum(Verify.pseudo(src: src, dst: dst, proto: 6, length: segment.count), segment) == 0xffff)
            #expect(segment[12] >> 4 == 6)  // data offset with options
        case "udp":
            #expect(
                Verify.onesSum(Verify.pseudo(src: src, dst: dst, proto: 17, length: segment.count), segment) == 0xffff)
            #expect(Int(segment[4]) << 8 | Int(segment[5]) == segment.count)
        default:
            #expect(Verify.onesSum(segment) == 0xffff)
        }
    }

    @Test func icmpv4DestinationUnreachable() {
        let quoted = PacketBuilder().ipv4(src: "10.0.0.2", dst: "10.0.0.1").udp(sport: 53, dport: 5353).payload("x")
            .build()
        let frame = Frames.v4().icmpv4(.destinationUnreachable(code: 3, original: quoted)).build()
        _ = checkIPv4Header(frame, at: 14)
        let icmp = Array(frame[34...])
        #expect(icmp[0] == 3 && icmp[1] == 3)
        #expect(Array(icmp[8...]) == quoted)
        #expect(Verify.onesSum(icmp) == 0xffff)
        _ = checkIPv4Header(quoted, at: 0)
    }

    @Test(arguments: ["tcp", "udp", "icmpv6-req", "icmpv6-rep"])
    func ipv6Checksums(l4: String) {
        var b = Frames.v6().ipv6(
            src: "2001:db8::a", dst: "2001:db8:1::b", hopLimit: 3, trafficClass: 0xb8, flowLabel: 0x12345)
        b = b.ipv6Extension(.hopByHop()).ipv6Extension(.destinationOptions(extraUnits: 1))
        switch l4 {
        case "tcp": b = b.tcp(sport: 1, dport: 2, flags: [.syn, .ns])
        case "udp": b = b.udp(sport: 1, dport: 2)
        case "icmpv6-req": b = b.icmpv6(.echoRequest(id: 5, sequence: 6))
        default: b = b.icmpv6(.echoReply(id: 5, sequence: 6))
        }
        let frame = b.payload("hello").build()
        #expect(frame[14] == 0x6b && frame[15] == 0x81 && frame[16] == 0x23 && frame[17] == 0x45)
        #expect(Int(frame[18]) << 8 | Int(frame[19]) == frame.count - 54)
        #expect(frame[20] == 0 && frame[21] == 3)
        let ext = 8 + 16
        let segment = Array(frame[(54 + ext)...])
        let proto: UInt8 = l4 == "tcp" ? 6 : l4 == "udp" ? 17 : 58
        #expect(frame[54 + 8] == proto)  // next header of the last extension header
        let src = Array(frame[22..<38]), dst = Array(frame[38..<54])
        #expect(
            Verify.onesSum(Verify.pseudo(src: src, dst: dst, proto: proto, length: segment.count), segment) == 0xffff)
        if l4 == "tcp" { #expect(segment[12] & 1 == 1 && segment[13] == 0x02) }
    }

    @Test func routingHeaderUsesFinalDestinationInPseudoHeader() {
        let final = IPAddress("fd00::99")!
        let frame = Frames.v6().ipv6Extension(.routing(segmentsLeft: 1, addresses: [final])).udp(sport: 1, dport: 2)
            .build()
        let segment = Array(frame[(54 + 24)...])
        let src = Array(frame[22..<38])
        #expect(
            Verify.onesSum(Verify.pseudo(src: src, dst: final.bytes, proto: 17, length: segment.count), segment)
                == 0xffff)
    }

    @Test func sctpCRC32c() {
        let frame = Frames.v6().sctp(sport: 5000, dport: 6000, verificationTag: 0xcafe_f00d).payload([
            1, 0, 0, 8, 0, 0, 0, 1
        ]).build()
        var sctp = Array(frame[54...])
        let stored = UInt32(sctp[8]) | UInt32(sctp[9]) << 8 | UInt32(sctp[10]) << 16 | UInt32(sctp[11]) << 24
        sctp[8] = 0; sctp[9] = 0; sctp[10] = 0; sctp[11] = 0
        #expect(stored == Verify.crc32c(sctp))
        #expect(sctp[4] == 0xca && sctp[7] == 0x0d)
    }

    @Test func extensionHeaderEncodings() {
        let ah = Frames.v6().ipv6Extension(.authentication(icvLength: 12)).udp(sport: 1, dport: 2).build()
        #expect(ah[20] == 51 && ah[54] == 17 && ah[55] == 4)  // 24 bytes: (4 + 2) * 4
        let frag = Frames.v6().ipv6Extension(.fragment(offset: 1448, moreFragments: true, identification: 7)).udp(
            sport: 1, dport: 2
        ).build()
        #expect(Array(frag[54..<62]) == [17, 0, 0x05, 0xa9, 0, 0, 0, 7])
        let hbh = Frames.v6().ipv6Extension(.hopByHop(extraUnits: 2)).build()
        #expect(hbh[20] == 0 && hbh[54] == 59 && hbh[55] == 2 && hbh.count == 54 + 24)
    }

    @Test func ethernetAndVLAN() {
        let frame = PacketBuilder.ethernet(src: "aa:bb:cc:dd:ee:ff", dst: "11:22:33:44:55:66").vlan(0xabc, priority: 6)
            .ipv4(src: "1.1.1.1", dst: "2.2.2.2").udp(sport: 1, dport: 2).build()
        #expect(Array(frame[0..<6]) == [0x11, 0x22, 0x33, 0x44, 0x55, 0x66])
        #expect(Array(frame[6..<12]) == [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
        #expect(Array(frame[12..<18]) == [0x81, 0x00, 0xca, 0xbc, 0x08, 0x00])
    }

    @Test func ipv4FragmentFields() {
        let frame = Frames.eth().ipv4(
            src: "1.1.1.1", dst: "2.2.2.2", id: 0x4242, fragmentOffset: 1480, moreFragments: true
        )
        .ipProtocol(6).payload([0]).build()
        #expect(frame[18] == 0x42 && frame[19] == 0x42)
        #expect(Int(frame[20]) << 8 | Int(frame[21]) == 0x2000 | 185)
        #expect(frame[23] == 6)
        _ = checkIPv4Header(frame, at: 14)
    }

    @Test func eventBuilderLayout() {
        var e = EventBuilder()
        e.timestampNs = 0x0102_0304_0506_0708
        e.ifindex = 0x0a0b_0c0d
        e.sport = 0x1122
        e.flags = [.replyKnown, .tcpNS]
        e.aggregatedBytes = 0xff
        e.snapshot = [9, 9]
        let r = e.build()
        #expect(r.count == 98)
        #expect(Array(r[0..<8]) == [1, 0, 1, 0, 96, 0, 2, 0])
        #expect(Array(r[8..<16]) == [8, 7, 6, 5, 4, 3, 2, 1])
        #expect(Array(r[16..<20]) == [0x0d, 0x0c, 0x0b, 0x0a])
        #expect(r[56] == 0x22 && r[57] == 0x11)
        #expect(r[62] == 0x82 && r[63] == 0)
        #expect(r[88] == 0xff && r[84] == 1)
        #expect(Array(r[96...]) == [9, 9])
    }
}
