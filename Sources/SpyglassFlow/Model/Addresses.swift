/// A MAC address, stored in the low 48 bits.
public struct MACAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)
    public init(_ b: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) { bytes = b }
    public init?(_ array: some Collection<UInt8>) {
        guard array.count == 6 else { return nil }
        let a = Array(array)
        bytes = (a[0], a[1], a[2], a[3], a[4], a[5])
    }
    public static func == (l: MACAddress, r: MACAddress) -> Bool {
        l.bytes.0 == r.bytes.0 && l.bytes.1 == r.bytes.1 && l.bytes.2 == r.bytes.2
            && l.bytes.3 == r.bytes.3 && l.bytes.4 == r.bytes.4 && l.bytes.5 == r.bytes.5
    }
    public func hash(into h: inout Hasher) {
        h.combine(bytes.0); h.combine(bytes.1); h.combine(bytes.2)
        h.combine(bytes.3); h.combine(bytes.4); h.combine(bytes.5)
    }
    /// Six colon-separated hexadecimal bytes (`aa:bb:cc:00:11:22`, either case), as `description` writes them.
    public init?(text: some StringProtocol) {
        var bytes: [UInt8] = []
        for part in text.split(separator: ":") {
            guard bytes.count < 6, let b = UInt8(part, radix: 16) else { return nil }
            bytes.append(b)
        }
        self.init(bytes)
    }
    /// Lower-case, colon-separated (as Hubble prints it).
    public var description: String {
        let b = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5]
        return b.map { hex2($0) }.joined(separator: ":")
    }
}

@inline(__always) func hex2(_ v: UInt8) -> String {
    let digits: [Character] = Array("0123456789abcdef")
    return String([digits[Int(v >> 4)], digits[Int(v & 0xf)]])
}

/// An IPv4 or IPv6 address. Value type without allocation; formatting is done on demand.
public struct IPAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Network byte order; IPv4 uses the first 4 bytes, the rest are zero.
    public var high: UInt64
    public var low: UInt64
    public var isIPv6: Bool

    public init(high: UInt64, low: UInt64, isIPv6: Bool) {
        self.high = high
        self.low = low
        self.isIPv6 = isIPv6
    }

    /// From 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init?(bytes: some Collection<UInt8>) {
        let a = Array(bytes)
        guard a.count == 4 || a.count == 16 else { return nil }
        var padded = [UInt8](repeating: 0, count: 16)
        for (i, b) in a.enumerated() { padded[i] = b }
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<8 { h = (h << 8) | UInt64(padded[i]) }
        for i in 8..<16 { l = (l << 8) | UInt64(padded[i]) }
        self.init(high: h, low: l, isIPv6: a.count == 16)
    }

    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.init(high: UInt64(a) << 56 | UInt64(b) << 48 | UInt64(c) << 40 | UInt64(d) << 32, low: 0, isIPv6: false)
    }

    /// Parse dotted IPv4 or RFC 4291 IPv6 text (with `::` compression and an optional embedded IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let b = IPAddress.parseIPv6(Substring(text)) else { return nil }
            self.init(bytes: b)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var b: [UInt8] = []
            for p in parts {
                guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let v = UInt8(p) else {
                    return nil
                }
                b.append(v)
            }
            self.init(bytes: b)
        }
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: isIPv6 ? 16 : 4)
        for i in 0..<out.count {
            out[i] =
                i < 8
                ? UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
                : UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i - 8)))
        }
        return out
    }

    /// Dotted quad; RFC 5952 IPv6, with `::ffff:a.b.c.d` for IPv4-mapped addresses as Go's net.IP prints them.
    public var description: String {
        String(unsafeUninitializedCapacity: IPText.maxLength) {
            IPText.write(self, into: UnsafeMutableRawBufferPointer($0))
        }
    }

    private static func parseIPv6(_ text: Substring) -> [UInt8]? {
        var text = text
        var tail: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = IPAddress(text[text.index(after: lastColon)...]), !v4.isIPv6 else { return nil }
            tail = v4.bytes
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        var halves: [String] = [String(text)]
        if let r = text.firstRange(of: "::") {
            halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
            if halves[1].contains("::") { return nil }
        }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        let rest: [UInt16]
        if halves.count == 2 {
            guard let r = groups(halves[1]) else { return nil }
            rest = r
        } else {
            rest = []
        }
        let tailGroups = tail.count / 2
        let total = head.count + rest.count + tailGroups
        if halves.count == 1 && total != 8 { return nil }
        if halves.count == 2 && total > 7 { return nil }
        var all = head
        if halves.count == 2 { all += [UInt16](repeating: 0, count: 8 - total) }
        all += rest
        var out: [UInt8] = []
        for g in all { out.append(UInt8(g >> 8)); out.append(UInt8(g & 0xff)) }
        return out + tail
    }
}
