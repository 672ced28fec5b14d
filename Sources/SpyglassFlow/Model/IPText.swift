/// Zero-allocation rendering of `IPAddress` text, the one formatter behind `IPAddress.description` and metric labels
/// (dotted quad; RFC 5952 IPv6 with `::ffff:a.b.c.d` for IPv4-mapped addresses).
public enum IPText {
    /// Longest text: 39 bytes (IPv6) / 22 (`::ffff:255.255.255.255`).
    public static let maxLength = 48

    public static func append(_ a: IPAddress, to out: inout [UInt8]) {
        var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { raw in
            let n = write(a, into: raw)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[..<n]))
        }
    }

    /// Writes the text into `out` (at least `maxLength` bytes) and returns its length.
    public static func write(_ a: IPAddress, into out: UnsafeMutableRawBufferPointer) -> Int {
        var n = 0
        @inline(__always) func put(_ b: UInt8) {
            out[n] = b
            n += 1
        }
        @inline(__always) func octet(_ v: UInt8) {
            if v >= 100 { put(0x30 &+ v / 100) }
            if v >= 10 { put(0x30 &+ (v / 10) % 10) }
            put(0x30 &+ v % 10)
        }
        @inline(__always) func quad(_ v: UInt64) {
            octet(UInt8(truncatingIfNeeded: v >> 24))
            put(0x2E)
            octet(UInt8(truncatingIfNeeded: v >> 16))
            put(0x2E)
            octet(UInt8(truncatingIfNeeded: v >> 8))
            put(0x2E)
            octet(UInt8(truncatingIfNeeded: v))
        }
        if !a.isIPv6 {
            quad(a.high >> 32)
            return n
        }
        if a.high == 0 && (a.low >> 32) == 0xffff {
            for c in [UInt8(0x3A), 0x3A, 0x66, 0x66, 0x66, 0x66, 0x3A] { put(c) }  // "::ffff:"
            quad(a.low & 0xFFFF_FFFF)
            return n
        }
        @inline(__always) func group(_ i: Int) -> UInt16 {
            i < 4
                ? UInt16(truncatingIfNeeded: a.high >> (48 - 16 * UInt64(i)))
                : UInt16(truncatingIfNeeded: a.low >> (48 - 16 * UInt64(i - 4)))
        }
        // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for i in 0..<8 {
            if group(i) == 0 {
                if curStart < 0 { curStart = i; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestStart = curStart; bestLen = curLen }
            } else {
                curStart = -1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var i = 0
        while i < 8 {
            if i == bestStart {
                put(0x3A)
                put(0x3A)
                i += bestLen
                continue
            }
            if n > 0 && out[n - 1] != 0x3A { put(0x3A) }
            let v = group(i)
            var started = false
            var shift: UInt16 = 12
            while true {
                let d = UInt8((v >> shift) & 0xf)
                if d != 0 || started || shift == 0 {
                    put(d < 10 ? 0x30 &+ d : 0x57 &+ d)
                    started = true
                }
                if shift == 0 { break }
                shift -= 4
            }
            i += 1
        }
        return n
    }
}
