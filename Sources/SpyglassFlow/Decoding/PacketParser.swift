/// Parses a raw frame (bytes from the MAC header): Ethernet, one 802.1Q/802.1ad tag, IPv4 (options, fragments),
/// IPv6 with extension headers (hop-by-hop, routing, fragment, destination options, AH), TCP, UDP, SCTP, ICMPv4 and
/// ICMPv6. Every read is bounds-checked first: any byte sequence gives a result, never a trap.
///
/// It walks headers as `bpf/lib/parse.bpf.h` does, so tests can check kernel events against it, with two
/// differences: it requires whole minimum L4 headers (TCP 20, UDP 8, SCTP 12, ICMP 8 bytes; the kernel reads only
/// the bytes it reports) and it also reports what the kernel does not need (payload offset, IP length, TCP
/// sequence numbers, …).
public enum PacketParser {
    /// IPv6 extension headers walked at most; more marks the packet malformed at `.ipv6Extension`.
    public static let maxIPv6ExtensionHeaders = 8

    public static func parse(_ frame: [UInt8]) -> ParsedPacket {
        frame.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ frame: UnsafeRawBufferPointer) -> ParsedPacket {
        var p = ParsedPacket()
        let b = Reader(frame)
        p.frameLength = b.count

        // Ethernet
        guard b.has(0, 14) else {
            p.truncatedAt = .ethernet
            return p
        }
        p.ethernet = Ethernet(source: b.mac(6), destination: b.mac(0))
        var etherType = b.be16(12)
        var off = 14
        if etherType == 0x8100 || etherType == 0x88a8 {
            guard b.has(14, 4) else {
                p.truncatedAt = .vlan
                return p
            }
            p.vlanTPID = etherType
            p.vlanID = b.be16(14) & 0x0fff
            etherType = b.be16(16)
            off = 18
        }
        p.etherType = etherType

        var proto: UInt8
        switch etherType {
        case 0x0800:
            p.l3Offset = off
            p.ipVersion = .ipv4
            guard b.has(off, 20) else {
                p.truncatedAt = .ipv4
                return p
            }
            let verIHL = b.u8(off)
            let ihl = Int(verIHL & 0x0f) * 4
            guard verIHL >> 4 == 4, ihl >= 20 else {
                p.malformedAt = .ipv4
                return p
            }
            p.source = b.ipv4(off + 12)
            p.destination = b.ipv4(off + 16)
            p.ttl = b.u8(off + 8)
            proto = b.u8(off + 9)
            p.ipProtocol = proto
            let totalLength = Int(b.be16(off + 2))
            if totalLength != 0 && totalLength < ihl {
                p.malformedAt = .ipv4
                return p
            }
            // tot_len 0 happens on GSO packets: the packet runs to the end of the frame.
            setIPEnd(&p, announced: totalLength == 0 ? nil : off + totalLength, frameLength: b.count)
            let frag = b.be16(off + 6)
            if frag & 0x3fff != 0 {
                p.fragment = .init(
                    offset: Int(frag & 0x1fff) * 8, moreFragments: frag & 0x2000 != 0,
                    identification: UInt32(b.be16(off + 4)))
            }
            guard b.has(off, ihl) else {
                p.truncatedAt = .ipv4
                return p
            }
            off += ihl
            if p.isNonFirstFragment {
                p.payloadOffset = off
                return p
            }
        case 0x86dd:
            p.l3Offset = off
            p.ipVersion = .ipv6
            guard b.has(off, 40) else {
                p.truncatedAt = .ipv6
                return p
            }
            guard b.u8(off) >> 4 == 6 else {
                p.malformedAt = .ipv6
                return p
            }
            p.source = b.ipv6(off + 8)
            p.destination = b.ipv6(off + 24)
            p.ttl = b.u8(off + 7)
            let payloadLength = Int(b.be16(off + 4))
            // payload_len 0: jumbogram or GSO; the packet runs to the end of the frame.
            setIPEnd(&p, announced: payloadLength == 0 ? nil : off + 40 + payloadLength, frameLength: b.count)
            proto = b.u8(off + 6)
            off += 40
            while proto == 0 || proto == 43 || proto == 44 || proto == 60 || proto == 51 {
                guard p.ipv6ExtensionHeaders.count < maxIPv6ExtensionHeaders else {
                    p.ipProtocol = proto
                    p.malformedAt = .ipv6Extension
                    return p
                }
                p.ipv6ExtensionHeaders.append(proto)
                let length: Int
                if proto == 44 {
                    length = 8
                } else if proto == 51 {
                    guard b.has(off, 2) else { return truncated(&p, .ipv6Extension, proto: proto) }
                    length = (Int(b.u8(off + 1)) + 2) * 4
                } else {
                    guard b.has(off, 2) else { return truncated(&p, .ipv6Extension, proto: proto) }
                    length = (Int(b.u8(off + 1)) + 1) * 8
                }
                guard b.has(off, length) else { return truncated(&p, .ipv6Extension, proto: proto) }
                let next = b.u8(off)
                if proto == 44 {
                    let fo = b.be16(off + 2)
                    p.fragment = .init(
                        offset: Int(fo & 0xfff8), moreFragments: fo & 1 != 0, identification: b.be32(off + 4))
                    if fo & 0xfff8 != 0 {
                        p.ipProtocol = next
                        p.payloadOffset = off + 8
                        return p
                    }
                }
                off += length
                proto = next
            }
            p.ipProtocol = proto
        default:
            return p
        }

        // L4
        switch proto {
        case 6:
            p.l4Offset = off
            guard b.has(off, 20) else { return truncated(&p, .tcp) }
            let headerLength = Int(b.u8(off + 12) >> 4) * 4
            guard headerLength >= 20 else {
                p.malformedAt = .tcp
                return p
            }
            p.sourcePort = b.be16(off)
            p.destinationPort = b.be16(off + 2)
            var flags = TCPFlags(rawValue: UInt16(b.u8(off + 13)))
            if b.u8(off + 12) & 1 != 0 { flags.insert(.ns) }
            p.tcp = .init(
                sequence: b.be32(off + 4), acknowledgment: b.be32(off + 8), headerLength: headerLength,
                flags: flags, window: b.be16(off + 14))
            guard b.has(off, headerLength) else { return truncated(&p, .tcp) }
            p.payloadOffset = off + headerLength
        case 17, 132:
            let isUDP = proto == 17
            let headerLength = isUDP ? 8 : 12
            p.l4Offset = off
            guard b.has(off, headerLength) else { return truncated(&p, isUDP ? .udp : .sctp) }
            p.sourcePort = b.be16(off)
            p.destinationPort = b.be16(off + 2)
            p.payloadOffset = off + headerLength
        case 1, 58:
            let layer: ParsedPacket.Layer = proto == 1 ? .icmpv4 : .icmpv6
            p.l4Offset = off
            guard b.has(off, 4) else { return truncated(&p, layer) }
            let type = b.u8(off)
            p.icmp = .init(type: type, code: b.u8(off + 1))
            guard b.has(off, 8) else { return truncated(&p, layer) }
            let echo = proto == 1 ? (type == 8 || type == 0) : (type == 128 || type == 129)
            if echo {
                p.icmp?.echoID = b.be16(off + 4)
                p.icmp?.echoSequence = b.be16(off + 6)
            }
            p.payloadOffset = off + 8
        default:
            // Unknown upper layer: its bytes are the payload.
            p.payloadOffset = off
        }
        return p
    }

    private static func setIPEnd(_ p: inout ParsedPacket, announced: Int?, frameLength: Int) {
        guard let end = announced else {
            p.ipEnd = frameLength
            return
        }
        p.ipEnd = min(end, frameLength)
        p.isPayloadTruncated = end > frameLength
    }

    private static func truncated(_ p: inout ParsedPacket, _ layer: ParsedPacket.Layer, proto: UInt8? = nil)
        -> ParsedPacket
    {
        p.truncatedAt = layer
        if let proto { p.ipProtocol = proto }
        return p
    }

    /// Bounds-checked big-endian reads. Callers check `has` before reading; the reads themselves only rely on that.
    private struct Reader {
        let raw: UnsafeRawBufferPointer
        init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }
        var count: Int { raw.count }
        @inline(__always) func has(_ offset: Int, _ length: Int) -> Bool {
            offset >= 0 && length >= 0 && offset <= raw.count && length <= raw.count - offset
        }
        @inline(__always) func u8(_ o: Int) -> UInt8 { raw[o] }
        @inline(__always) func be16(_ o: Int) -> UInt16 {
            UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))
        }
        @inline(__always) func be32(_ o: Int) -> UInt32 {
            UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))
        }
        @inline(__always) func be64(_ o: Int) -> UInt64 {
            UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))
        }
        func mac(_ o: Int) -> MACAddress { raw.mac(o) }
        func ipv4(_ o: Int) -> IPAddress { IPAddress(high: UInt64(be32(o)) << 32, low: 0, isIPv6: false) }
        func ipv6(_ o: Int) -> IPAddress { IPAddress(high: be64(o), low: be64(o + 8), isIPv6: true) }
    }
}
