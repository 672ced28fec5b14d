/// Refuses YAML nested deeper than any configuration file of ours needs, before it reaches the YAML parser.
///
/// Why: the parser (Yams over libyaml) builds nested nodes recursively, so a file of a few KB of `[[[[…` overflows
/// the thread's stack and kills the agent (found by fuzzing the endpoints file). Counting is a plain text scan:
/// open flow collections (every `[` `{` not yet closed — quotes and comments are deliberately not interpreted: a
/// scanner that guesses where a quoted scalar ends differently from the parser can be bypassed, as the fuzzer showed),
/// block indentation in columns, and block sequence entries started on one line (`- - - x`).
public enum YAMLNestingGuard {
    /// Far more than any real configuration (ours nest at most ~8 levels), far less than what overflows a stack.
    public static let maximumDepth = 64

    /// Nil when the text is within the limit; otherwise a message naming the line.
    public static func problem(in text: String, maximumDepth: Int = maximumDepth) -> String? {
        var line = 1, flowDepth = 0, column = 0
        var atLineStart = true
        var dashesThisLine = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "\n") {
                line += 1; column = 0; atLineStart = true; dashesThisLine = 0
                continue
            }
            if atLineStart {
                if byte == UInt8(ascii: " ") {
                    column += 1
                    if column > maximumDepth * 4 { return tooDeep(line, "indented \(column) columns") }
                    continue
                }
                if byte == UInt8(ascii: "-") {
                    dashesThisLine += 1
                    if dashesThisLine > maximumDepth {
                        return tooDeep(line, "more than \(maximumDepth) nested '-' entries")
                    }
                    continue
                }
                atLineStart = false  // and this byte is read below
            }
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flowDepth += 1
                if flowDepth > maximumDepth { return tooDeep(line, "more than \(maximumDepth) nested '[' or '{'") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): flowDepth = max(flowDepth - 1, 0)
            default: break
            }
        }
        return nil
    }

    private static func tooDeep(_ line: Int, _ what: String) -> String {
        "line \(line): YAML nested too deeply (\(what); at most \(maximumDepth) levels)"
    }
}
