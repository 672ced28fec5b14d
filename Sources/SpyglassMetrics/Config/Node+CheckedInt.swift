import Yams

extension Node {
    /// `int`, without Yams' trap: Yams reads YAML 1.1 base-60 integers (`1:30:00`) with unchecked arithmetic, so a
    /// long or large one (`1804674407370955161:5`, found by fuzzing) overflows and crashes the process. Base-60
    /// forms are computed here with overflow checks (nil when out of range or not base-60 digits).
    var checkedInt: Int? {
        guard case .scalar(let s) = self, s.string.contains(":") else { return int }
        var text = Substring(s.string)
        var negative = false
        if text.hasPrefix("-") || text.hasPrefix("+") {
            negative = text.first == "-"
            text = text.dropFirst()
        }
        var value = 0
        for part in text.split(separator: ":", omittingEmptySubsequences: false) {
            guard let digit = Int(part, radix: 10), digit >= 0 else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 60)
            let (sum, o2) = shifted.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
