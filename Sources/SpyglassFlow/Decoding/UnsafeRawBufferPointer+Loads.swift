// Readers for already-validated offsets. Callers guarantee `offset + size <= count`.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func le16(_ offset: Int) -> UInt16 { UInt16(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    @inline(__always)
    func le32(_ offset: Int) -> UInt32 { UInt32(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    @inline(__always)
    func le64(_ offset: Int) -> UInt64 { UInt64(littleEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    @inline(__always)
    func be64(_ offset: Int) -> UInt64 { UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }

    /// 16 bytes in network order; IPv4 uses only the first 4 (the rest is ignored even if not zero).
    @inline(__always)
    func ipAddress(_ offset: Int, isIPv6: Bool) -> IPAddress {
        let high = be64(offset)
        if isIPv6 { return IPAddress(high: high, low: be64(offset + 8), isIPv6: true) }
        return IPAddress(high: high & 0xffff_ffff_0000_0000, low: 0, isIPv6: false)
    }
}

extension UnsafeRawBufferPointer {
    /// Six bytes at `offset`; the caller guarantees `offset + 6 <= count`.
    @inline(__always)
    func mac(_ offset: Int) -> MACAddress {
        MACAddress(
            (self[offset], self[offset + 1], self[offset + 2], self[offset + 3], self[offset + 4], self[offset + 5]))
    }
}
