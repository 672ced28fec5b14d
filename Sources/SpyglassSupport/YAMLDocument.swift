import Yams

/// Reads one YAML document as a node tree, the way every configuration file of ours is read: the nesting guard
/// first (`YAMLNestingGuard`: deep nesting overflows the parser's stack), then Yams' composer. Callers walk the
/// nodes themselves and word the errors for their file.
public enum YAMLDocument {
    public enum Failure: Error, CustomStringConvertible {
        /// Refused before parsing; the message names the line (`line 3: YAML nested too deeply …`).
        case tooDeep(String)
        /// Yams' own error (a `YamlError` for a syntax error; its description spans several lines).
        case syntax(any Error)

        public var description: String {
            switch self {
            case .tooDeep(let problem): problem
            case .syntax(let error): "\(error)"
            }
        }
    }

    /// The root node; nil for an empty document.
    public static func load(_ text: String) throws(Failure) -> Node? {
        if let problem = YAMLNestingGuard.problem(in: text) { throw .tooDeep(problem) }
        do {
            return try Yams.compose(yaml: text)
        } catch {
            throw .syntax(error)
        }
    }
}

extension Node {
    /// `int`, without Yams' trap on large base-60 integers (see `YAMLBase60`).
    public var checkedInt: Int? {
        guard case .scalar(let s) = self, s.string.contains(":") else { return int }
        return YAMLBase60.checkedInt(s.string)
    }
}
