/// Escaping as the Go client's text and OpenMetrics encoders do it.
enum Escaping {
    /// Label values (both formats) and OpenMetrics HELP: `\` → `\\`, `"` → `\"`, newline → `\n`.
    static func appendLabelValue(_ s: String, to out: inout [UInt8]) {
        for c in s.utf8 {
            switch c {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            default: out.append(c)
            }
        }
    }

    /// Text-format HELP: only `\` and newline are escaped.
    static func appendTextHelp(_ s: String, to out: inout [UInt8]) {
        for c in s.utf8 {
            switch c {
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            default: out.append(c)
            }
        }
    }
}
