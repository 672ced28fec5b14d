import SpyglassFlow
import SpyglassSupport

/// An IPv4 or IPv6 network: an address with its host bits cleared and a prefix length (0...32 or 0...128).
public struct IPPrefix: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The network address (host bits zero).
    public let address: IPAddress
    public let length: UInt8

    /// Masks `address` down to `length` bits. Lengths beyond the family's width are clamped.
    public init(_ address: IPAddress, length: Int) {
        let width = address.isIPv6 ? 128 : 32
        let len = max(0, min(width, length))
        self.length = UInt8(len)
        if address.isIPv6 {
            let v = IPPrefix.mask128(UInt128(address.high) << 64 | UInt128(address.low), len)
            self.address = IPAddress(
                high: UInt64(truncatingIfNeeded: v >> 64), low: UInt64(truncatingIfNeeded: v), isIPv6: true)
        } else {
            let v = IPPrefix.mask32(UInt32(truncatingIfNeeded: address.high >> 32), len)
            self.address = IPAddress(high: UInt64(v) << 32, low: 0, isIPv6: false)
        }
    }

    /// A single address: /32 or /128.
    public init(host: IPAddress) { self.init(host, length: host.isIPv6 ? 128 : 32) }

    /// `10.0.0.0/8`, `fd00::/64`, or a bare address (a host prefix). Returns nil for anything else, including a
    /// length out of range.
    public init?(_ text: some StringProtocol) {
        let s = text.trimmingWhitespace()
        if let slash = s.firstIndex(of: "/") {
            guard let ip = IPAddress(s[s.startIndex..<slash]) else { return nil }
            let lenText = s[s.index(after: slash)...]
            guard !lenText.isEmpty, lenText.count <= 3, lenText.allSatisfy({ $0.isASCII && $0.isNumber }),
                let len = Int(lenText), len <= (ip.isIPv6 ? 128 : 32)
            else { return nil }
            self.init(ip, length: len)
        } else {
            guard let ip = IPAddress(s) else { return nil }
            self.init(host: ip)
        }
    }

    public var isIPv6: Bool { address.isIPv6 }
    /// True for /32 (IPv4) and /128 (IPv6).
    public var isHost: Bool { Int(length) == (isIPv6 ? 128 : 32) }

    public func contains(_ ip: IPAddress) -> Bool {
        ip.isIPv6 == isIPv6 && IPPrefix(ip, length: Int(length)).address == address
    }

    public var description: String { "\(address)/\(length)" }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool {
        if a.isIPv6 != b.isIPv6 { return !a.isIPv6 }
        if a.address.high != b.address.high { return a.address.high < b.address.high }
        if a.address.low != b.address.low { return a.address.low < b.address.low }
        return a.length < b.length
    }

    @inline(__always) static func mask32(_ v: UInt32, _ len: Int) -> UInt32 {
        len == 0 ? 0 : v & (UInt32.max << UInt32(32 - len))
    }

    @inline(__always) static func mask128(_ v: UInt128, _ len: Int) -> UInt128 {
        len == 0 ? 0 : v & (UInt128.max << UInt128(128 - len))
    }
}
