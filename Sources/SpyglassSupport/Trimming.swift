/// Trimming as the formats we read define it: each caller names which characters its grammar skips.
extension StringProtocol {
    /// Without the leading and trailing characters `isTrimmed` selects (Go's `strings.TrimFunc`).
    @inlinable
    public func trimming(while isTrimmed: (Character) -> Bool) -> Substring {
        let s = Substring(self)
        guard let first = s.firstIndex(where: { !isTrimmed($0) }) else { return s[s.endIndex...] }
        let last = s.lastIndex(where: { !isTrimmed($0) })!
        return s[first...last]
    }

    /// Without leading and trailing spaces only (Go's `strings.Trim(s, " ")`).
    @inlinable
    public func trimmingSpaces() -> Substring { trimming { $0 == " " } }

    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 §5.6.3).
    @inlinable
    public func trimmingSpacesAndTabs() -> Substring { trimming { $0 == " " || $0 == "\t" } }

    /// Without leading and trailing whitespace of any kind (`Character.isWhitespace`, newlines included).
    @inlinable
    public func trimmingWhitespace() -> Substring { trimming(while: \.isWhitespace) }
}
