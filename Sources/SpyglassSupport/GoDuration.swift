/// Go's `time.ParseDuration` syntax: `300ms`, `1.5h`, `2h45m`, `0`; units ns us µs ms s m h.
public enum GoDuration {
    public static func parse(_ text: String) -> Duration? {
        var s = Substring(text)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        guard !s.isEmpty else { return nil }
        var negative = false
        if s.first == "-" || s.first == "+" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        if s == "0" { return .zero }
        guard !s.isEmpty else { return nil }
        var totalNs: Double = 0
        while !s.isEmpty {
            let num = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !num.isEmpty, let v = Double(num) else { return nil }
            s = s.dropFirst(num.count)
            let unit = s.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            totalNs += v * scale
        }
        guard totalNs < 9.2e18 else { return nil }
        let d = Duration.nanoseconds(Int64(totalNs.rounded()))
        return negative ? .zero - d : d
    }

    /// Non-negative nanoseconds, or nil when the text is not a duration or is negative (for flags that count time).
    public static func nanoseconds(_ text: String) -> UInt64? {
        guard let d = parse(text), d >= .zero else { return nil }
        let (seconds, attoseconds) = d.components
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
