import SpyglassFlow

/// Scratch buffer into which a handler writes the label values of one series, in the family's definition order.
///
/// Values are written as raw UTF-8 bytes, each terminated by `0xFF` (a byte that never occurs in UTF-8). The bytes
/// are the series key: a hash of them finds the series without building any `String`, so once a series exists an
/// increment allocates nothing. The buffer keeps its capacity between uses.
struct LabelWriter {
    static let separator: UInt8 = 0xFF
    private(set) var bytes: [UInt8]
    /// Number of completed values.
    private(set) var valueCount: Int = 0

    init() {
        bytes = []
        bytes.reserveCapacity(1024)
    }

    @inline(__always) mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        valueCount = 0
    }

    /// Current length, to detect whether a candidate wrote anything (context fallback lists).
    @inline(__always) var mark: Int { bytes.count }

    @inline(__always) mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
    }

    @inline(__always) mutating func append(_ s: Substring.UTF8View) {
        bytes.append(contentsOf: s)
    }

    @inline(__always) mutating func appendByte(_ b: UInt8) {
        bytes.append(b)
    }

    /// Ends the current value.
    @inline(__always) mutating func endValue() {
        bytes.append(LabelWriter.separator)
        valueCount += 1
    }

    /// Appends a complete value.
    @inline(__always) mutating func value(_ s: String) {
        append(s)
        endValue()
    }

    mutating func appendDecimal(_ v: UInt64) {
        if v < 10 {
            bytes.append(0x30 &+ UInt8(v))
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &tmp) { raw in
            while x > 0 {
                raw[23 - n] = 0x30 &+ UInt8(x % 10)
                x /= 10
                n += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(24 - n)...]))
        }
    }

    /// Appends an address exactly as `IPAddress.description` prints it, without allocating.
    mutating func appendIP(_ a: IPAddress) {
        IPText.append(a, to: &bytes)
    }

    /// Splits the written values back into strings (series creation only).
    func values() -> [String] {
        var out: [String] = []
        out.reserveCapacity(valueCount)
        var start = 0
        for i in 0..<bytes.count where bytes[i] == LabelWriter.separator {
            out.append(String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        return out
    }

    /// 64-bit hash of the key bytes.
    @inline(__always) func hash(seed: UInt64) -> UInt64 {
        bytes.withUnsafeBytes { KeyHash.hash($0, seed: seed) }
    }
}

/// A fast, well-mixed 64-bit hash over bytes (multiply-fold on 8-byte words). Not cryptographic; the seed is random
/// per store, and full keys are compared on every hit, so collisions cost time, never correctness.
enum KeyHash {
    @inline(__always) static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    static func hash(_ p: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let k0: UInt64 = 0xa076_1d64_78bd_642f
        let k1: UInt64 = 0xe703_7ed1_a0b4_28db
        var h = seed ^ (UInt64(p.count) &* k0)
        var i = 0
        let n = p.count
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ w, k1)
            i += 8
        }
        if i < n {
            var w: UInt64 = 0
            var shift: UInt64 = 0
            while i < n {
                w |= UInt64(p[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ w ^ k0, k1)
        }
        return mix(h, k0 ^ 0x8ebc_6af0_9c88_c6e3)
    }
}

/// Zero-allocation rendering of `IPAddress` text, byte-identical to `IPAddress.description`
/// (dotted quad; RFC 5952 IPv6 with `::ffff:a.b.c.d` for IPv4-mapped addresses).
enum IPText {
    static func append(_ a: IPAddress, to out: inout [UInt8]) {
        if !a.isIPv6 {
            let v = a.high >> 32
            appendOctet(UInt8(truncatingIfNeeded: v >> 24), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: v >> 16), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: v >> 8), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: v), &out)
            return
        }
        @inline(__always) func group(_ i: Int) -> UInt16 {
            i < 4 ? UInt16(truncatingIfNeeded: a.high >> (48 - 16 * UInt64(i)))
                : UInt16(truncatingIfNeeded: a.low >> (48 - 16 * UInt64(i - 4)))
        }
        if a.high == 0 && (a.low >> 32) == 0xffff {
            out.append(contentsOf: [0x3A, 0x3A, 0x66, 0x66, 0x66, 0x66, 0x3A])  // "::ffff:"
            appendOctet(UInt8(truncatingIfNeeded: a.low >> 24), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: a.low >> 16), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: a.low >> 8), &out)
            out.append(0x2E)
            appendOctet(UInt8(truncatingIfNeeded: a.low), &out)
            return
        }
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
        let begin = out.count
        while i < 8 {
            if i == bestStart {
                out.append(0x3A)
                out.append(0x3A)
                i += bestLen
                continue
            }
            if out.count > begin && out[out.count - 1] != 0x3A { out.append(0x3A) }
            appendHex16(group(i), &out)
            i += 1
        }
    }

    @inline(__always) static func appendOctet(_ v: UInt8, _ out: inout [UInt8]) {
        if v >= 100 { out.append(0x30 &+ v / 100) }
        if v >= 10 { out.append(0x30 &+ (v / 10) % 10) }
        out.append(0x30 &+ v % 10)
    }

    @inline(__always) static func appendHex16(_ v: UInt16, _ out: inout [UInt8]) {
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let d = UInt8((v >> UInt16(shift)) & 0xf)
            if d != 0 || started || shift == 0 {
                out.append(d < 10 ? 0x30 &+ d : 0x57 &+ d)
                started = true
            }
        }
    }
}
