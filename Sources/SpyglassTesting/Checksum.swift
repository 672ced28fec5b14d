import SpyglassFlow

/// Checksums used by `PacketBuilder`.
public enum Checksum {
    /// RFC 1071 one's-complement sum, complemented.
    public static func internet(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count {
            sum &+= UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1])
            i += 2
        }
        if i < bytes.count { sum &+= UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) &+ (sum >> 16) }
        return ~UInt16(sum)
    }

    /// IPv4 (12 bytes) or IPv6 (40 bytes) pseudo-header.
    public static func pseudoHeader(src: IPAddress, dst: IPAddress, proto: UInt8, length: Int) -> [UInt8] {
        if src.isIPv6 {
            return src.bytes + dst.bytes + be32(UInt32(truncatingIfNeeded: length)) + [0, 0, 0, proto]
        }
        return src.bytes + dst.bytes + [0, proto] + be16(UInt16(truncatingIfNeeded: length))
    }

    /// CRC32c (Castagnoli), as SCTP uses it: reflected, init and final xor 0xffffffff.
    public static func crc32c(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for b in bytes {
            crc = crc32cTable[Int((crc ^ UInt32(b)) & 0xff)] ^ (crc >> 8)
        }
        return ~crc
    }

    static let crc32cTable: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82f6_3b78 ^ (c >> 1) : c >> 1 }
        return c
    }
}
