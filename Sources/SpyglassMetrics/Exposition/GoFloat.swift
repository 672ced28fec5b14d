/// Number formatting byte-identical to the Go Prometheus client's encoders.
///
/// * Text 0.0.4 (`writeFloat`): `1`, `0`, `-1`, `NaN`, `+Inf`, `-Inf` are special; everything else is
///   `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest round-trip digits, in exponent form (`1e+06`, `1e-05`)
///   when the decimal exponent is < -4 or >= 6 (Go uses precision 6 for that decision in shortest mode).
/// * OpenMetrics (`writeOpenMetricsFloat`): the same, but `1.0`, `0.0`, `-1.0`, and `.0` appended when the 'g'
///   text has neither `e` nor `.`.
enum GoFloat {
    static func appendText(_ v: Double, to out: inout [UInt8]) {
        if v == 1 { out.append(0x31); return }
        if v == 0 { out.append(0x30); return }
        if v == -1 { out.append(0x2D); out.append(0x31); return }
        if appendSpecial(v, &out) { return }
        appendG(v, &out)
    }

    static func appendOpenMetrics(_ v: Double, to out: inout [UInt8]) {
        if v == 1 { out.append(contentsOf: [0x31, 0x2E, 0x30]); return }
        if v == 0 { out.append(contentsOf: [0x30, 0x2E, 0x30]); return }
        if v == -1 { out.append(contentsOf: [0x2D, 0x31, 0x2E, 0x30]); return }
        if appendSpecial(v, &out) { return }
        let start = out.count
        appendG(v, &out)
        var plain = true
        for i in start..<out.count where out[i] == 0x65 || out[i] == 0x2E { plain = false; break }
        if plain { out.append(0x2E); out.append(0x30) }
    }

    static func appendUInt(_ v: UInt64, to out: inout [UInt8]) {
        if v < 10 { out.append(0x30 &+ UInt8(v)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var n = 0
        var x = v
        withUnsafeMutableBytes(of: &digits) { raw in
            while x > 0 {
                raw[23 - n] = 0x30 &+ UInt8(x % 10)
                x /= 10
                n += 1
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[(24 - n)...]))
        }
    }

    /// Go text of `v` as a String (tests, label values such as `le`).
    static func text(_ v: Double) -> String {
        var b: [UInt8] = []
        appendText(v, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    static func openMetrics(_ v: Double) -> String {
        var b: [UInt8] = []
        appendOpenMetrics(v, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    private static func appendSpecial(_ v: Double, _ out: inout [UInt8]) -> Bool {
        if v.isNaN { out.append(contentsOf: Array("NaN".utf8)); return true }
        if v == .infinity { out.append(contentsOf: Array("+Inf".utf8)); return true }
        if v == -.infinity { out.append(contentsOf: Array("-Inf".utf8)); return true }
        return false
    }

    /// `strconv.AppendFloat(v, 'g', -1, 64)` for finite, non-zero `v`.
    static func appendG(_ v: Double, _ out: inout [UInt8]) {
        let a = v.magnitude
        if v < 0 { out.append(0x2D) }
        // Fast path: integers below 1e6 print as plain digits in Go's shortest 'g'.
        if a < 1e6, a == a.rounded(.towardZero) {
            appendUInt(UInt64(a), to: &out)
            return
        }
        // Shortest round-trip digits: Swift's description gives the same digit string Go's shortest mode does.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var intDigits = 0
        var exp = 0
        var seenDot = false
        var expSign = 1
        var inExp = false
        for c in a.description.utf8 {
            if inExp {
                if c == 0x2D { expSign = -1 } else if c >= 0x30 && c <= 0x39 { exp = exp * 10 + Int(c - 0x30) }
            } else if c == 0x2E {
                seenDot = true
            } else if c == 0x65 || c == 0x45 {
                inExp = true
            } else if c >= 0x30 && c <= 0x39 {
                digits.append(c)
                if !seenDot { intDigits += 1 }
            }
        }
        exp *= expSign
        var dp = intDigits + exp
        // Strip leading zeros (e.g. "0.005").
        var lead = 0
        while lead < digits.count - 1 && digits[lead] == 0x30 { lead += 1; dp -= 1 }
        digits.removeFirst(lead)
        while digits.count > 1 && digits[digits.count - 1] == 0x30 { digits.removeLast() }
        let nd = digits.count
        let x = dp - 1
        if x < -4 || x >= 6 {
            out.append(digits[0])
            if nd > 1 {
                out.append(0x2E)
                out.append(contentsOf: digits[1...])
            }
            out.append(0x65)
            out.append(x < 0 ? 0x2D : 0x2B)
            let e = x.magnitude
            if e < 10 { out.append(0x30) }
            appendUInt(UInt64(e), to: &out)
        } else {
            if dp > 0 {
                for i in 0..<dp { out.append(i < nd ? digits[i] : 0x30) }
            } else {
                out.append(0x30)
            }
            if nd > dp {
                out.append(0x2E)
                if dp < 0 { for _ in 0..<(-dp) { out.append(0x30) } }
                out.append(contentsOf: digits[max(dp, 0)...])
            }
        }
    }
}
