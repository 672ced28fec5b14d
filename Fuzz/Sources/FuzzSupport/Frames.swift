import SpyglassFlow

/// Minimal Ethernet/IPv4/TCP/UDP frames for the L7 stream harnesses (checksums are not read by the parser).
public enum Frames {
    public static let client = [UInt8]([10, 0, 0, 1])
    public static let server = [UInt8]([10, 0, 0, 2])

    public static func tcp(
        from src: [UInt8], to dst: [UInt8], sport: UInt16, dport: UInt16, seq: UInt32, ack: UInt32, flags: UInt8,
        payload: ArraySlice<UInt8>
    ) -> [UInt8] {
        var l4 = be16(sport) + be16(dport) + be32(seq) + be32(ack)
        l4 += [5 << 4, flags] + be16(65535) + [0, 0, 0, 0]
        return ipv4(src: src, dst: dst, proto: 6, l4: l4 + payload)
    }

    public static func udp(from src: [UInt8], to dst: [UInt8], sport: UInt16, dport: UInt16, payload: ArraySlice<UInt8>)
        -> [UInt8]
    {
        let l4 = be16(sport) + be16(dport) + be16(UInt16(truncatingIfNeeded: 8 + payload.count)) + [0, 0]
        return ipv4(src: src, dst: dst, proto: 17, l4: l4 + payload)
    }

    static func ipv4(src: [UInt8], dst: [UInt8], proto: UInt8, l4: [UInt8]) -> [UInt8] {
        let eth: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        var ip: [UInt8] = [0x45, 0] + be16(UInt16(truncatingIfNeeded: 20 + l4.count)) + [0, 1, 0x40, 0, 64, proto, 0, 0]
        ip += src + dst
        return eth + ip + l4
    }

    public static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    public static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}

/// TCP flag bits as on the wire.
public enum TCPBits {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
}
