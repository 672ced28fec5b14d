/// YAML 1.1 base-60 integers (`1:30:00`) read with overflow checks. Yams reads them with unchecked arithmetic, so a
/// long or large one (`1804674407370955161:5`, found by fuzzing) overflows and crashes the process; the YAML readers
/// of the metrics and export modules convert such scalars here instead.
public enum YAMLBase60 {
    /// The value, or nil when out of range or not base-60 digits.
    public static func checkedInt(_ text: String) -> Int? {
        var digits = Substring(text)
        var negative = false
        if digits.hasPrefix("-") || digits.hasPrefix("+") {
            negative = digits.first == "-"
            digits = digits.dropFirst()
        }
        var value = 0
        for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
            guard let digit = Int(part, radix: 10), digit >= 0 else { return nil }
            let (shifted, o1) = value.multipliedReportingOverflow(by: 60)
            let (sum, o2) = shifted.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            value = sum
        }
        return negative ? -value : value
    }
}
