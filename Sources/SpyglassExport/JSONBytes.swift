import SpyglassFlow

/// Byte-level JSON output as Go's protojson + `encoding/json` produce it (docs/hubble-compatibility.md §7.5).
///
/// Hand-written rather than Codable or JSONSerialization: those cannot produce protojson's shape (field declaration
/// order, enum names, 64-bit integers as strings, omitted defaults, `<>&` escaped as `\u003c…`), and they allocate
/// dictionaries and boxed values per record, several times slower on the path every exported flow takes.
struct JSONBytes {
    var out: [UInt8]

    init(capacity: Int = 2048) {
        out = []
        out.reserveCapacity(capacity)
    }

    @inline(__always) mutating func byte(_ b: UInt8) { out.append(b) }

    @inline(__always) mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// `"key":`, preceded by a comma unless it is the first member of the object (the previous byte is `{`; a
    /// value never ends with `{`).
    @inline(__always) mutating func key(_ k: StaticString) {
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    /// A JSON string: `"` `\` and controls escaped as protojson does, `<` `>` `&` U+2028 U+2029 as Go's HTML-safe
    /// encoder does.
    mutating func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { u in
            var needs = false
            for b in u where b < 0x20 || b == 0x22 || b == 0x5c || b == 0x3c || b == 0x3e || b == 0x26 || b == 0xe2 {
                needs = true
                break
            }
            if !needs {
                out.append(contentsOf: u)
            } else {
                escape(u)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ u: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789abcdef"
        var i = 0
        while i < u.count {
            let b = u[i]
            switch b {
            case 0x22: raw("\\\"")
            case 0x5c: raw("\\\\")
            case 0x0a: raw("\\n")
            case 0x0d: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0c: raw("\\f")
            case 0x3c: raw("\\u003c")
            case 0x3e: raw("\\u003e")
            case 0x26: raw("\\u0026")
            case 0..<0x20:
                raw("\\u00")
                hex.withUTF8Buffer { h in
                    out.append(h[Int(b >> 4)])
                    out.append(h[Int(b & 0xf)])
                }
            case 0xe2 where i + 2 < u.count && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9):
                raw(u[i + 2] == 0xa8 ? "\\u2028" : "\\u2029")
                i += 2
            default:
                out.append(b)
            }
            i += 1
        }
    }

    mutating func uint(_ v: UInt64) {
        if v < 10 {
            out.append(UInt8(ascii: "0") + UInt8(v))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch: UInt64.max has 20 digits
        withUnsafeMutableBytes(of: &digits) { buf in
            var n = v
            var i = buf.count
            while n > 0 {
                i -= 1
                buf[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            out.append(contentsOf: buf[i...])
        }
    }

    mutating func int(_ v: Int64) {
        if v < 0 {
            out.append(UInt8(ascii: "-"))
            uint(v.magnitude)
        } else {
            uint(UInt64(v))
        }
    }

    /// protojson's 64-bit integer: a JSON string.
    mutating func quotedUInt(_ v: UInt64) {
        out.append(UInt8(ascii: "\""))
        uint(v)
        out.append(UInt8(ascii: "\""))
    }

    @inline(__always) mutating func bool(_ v: Bool) {
        if v { raw("true") } else { raw("false") }
    }

    private mutating func digits(_ v: Int, _ width: Int) {
        var d = 1
        for _ in 1..<width { d *= 10 }
        var v = v
        while d > 0 {
            out.append(UInt8(ascii: "0") + UInt8((v / d) % 10))
            v %= d
            d /= 10
        }
    }

    /// RFC 3339 in UTC with a `Z`; the fraction is left out when zero, otherwise 3, 6 or 9 digits (protojson).
    mutating func timestamp(_ t: Timestamp) {
        out.append(UInt8(ascii: "\""))
        let (y, mo, d, h, mi, s) = Civil.fields(unixSeconds: t.seconds)
        digits(y, 4); byte(UInt8(ascii: "-")); digits(mo, 2); byte(UInt8(ascii: "-")); digits(d, 2)
        byte(UInt8(ascii: "T")); digits(h, 2); byte(UInt8(ascii: ":")); digits(mi, 2); byte(UInt8(ascii: ":"));
        digits(s, 2)
        let n = Int(t.nanos)
        if n != 0 {
            byte(UInt8(ascii: "."))
            if n % 1_000_000 == 0 {
                digits(n / 1_000_000, 3)
            } else if n % 1000 == 0 {
                digits(n / 1000, 6)
            } else {
                digits(n, 9)
            }
        }
        out.append(UInt8(ascii: "Z"))
        out.append(UInt8(ascii: "\""))
    }

    /// Dotted IPv4 and RFC 5952 IPv6 (the model's `IPText`) without allocation; neither needs escaping.
    mutating func ip(_ a: IPAddress) {
        if a.isIPv6 {
            out.append(UInt8(ascii: "\""))
            IPText.append(a, to: &out)
            out.append(UInt8(ascii: "\""))
            return
        }
        out.append(UInt8(ascii: "\""))
        for i in 0..<4 {
            if i > 0 { out.append(UInt8(ascii: ".")) }
            uint(UInt64(UInt8(truncatingIfNeeded: a.high >> (56 - 8 * UInt64(i)))))
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func mac(_ m: MACAddress) {
        let hex: StaticString = "0123456789abcdef"
        let b = m.bytes
        out.append(UInt8(ascii: "\""))
        hex.withUTF8Buffer { h in
            for (i, v) in [b.0, b.1, b.2, b.3, b.4, b.5].enumerated() {
                if i > 0 { out.append(UInt8(ascii: ":")) }
                out.append(h[Int(v >> 4)])
                out.append(h[Int(v & 0xf)])
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func strings(_ list: [String]) {
        out.append(UInt8(ascii: "["))
        for (i, s) in list.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(s)
        }
        out.append(UInt8(ascii: "]"))
    }
}

/// Civil (proleptic Gregorian, UTC) date from Unix seconds (Howard Hinnant's days-from-civil inverse).
enum Civil {
    static func fields(unixSeconds: Int64) -> (Int, Int, Int, Int, Int, Int) {
        let secs = Int(unixSeconds)
        var days = secs / 86400
        var rem = secs % 86400
        if rem < 0 {
            rem += 86400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }
}
