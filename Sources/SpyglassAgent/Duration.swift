/// Go-style durations as Cilium's flags take them: `5s`, `500ms`, `1m30s`, `2h`, `1.5s`, `100us`, `10ns`.
public enum GoDuration {
    /// Nanoseconds, or nil when the text is not a duration.
    public static func parse(_ text: String) -> UInt64? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { return nil }
        var total: Double = 0
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unitText = rest.prefix(while: { !$0.isNumber && $0 != "." })
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            rest = rest.dropFirst(unitText.count)
            total += value * unit.1
        }
        guard total >= 0, total < 1e19 else { return nil }
        return UInt64(total)
    }
}

import Foundation
