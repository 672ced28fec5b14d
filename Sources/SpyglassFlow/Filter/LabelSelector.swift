import SpyglassSupport

/// A Kubernetes label selector over Cilium-style labels (`source:key=value`), as Hubble's label filters use it
/// (docs/hubble-compatibility.md §8): requirements separated by commas are ANDed; `key`, `!key`, `key=v`, `key==v`,
/// `key!=v`, `key in (a,b)`, `key notin (a,b)`. A key with a source prefix (`k8s:app`) matches only labels of that
/// source; a key without one (or with `any:`) matches labels of any source.
public struct LabelSelector: Sendable, Hashable {
    enum Operator: Sendable, Hashable { case exists, notExists, equals, notEquals, `in`, notIn }

    struct Requirement: Sendable, Hashable {
        var source: String?
        var key: String
        var op: Operator
        var values: [String]
    }

    var requirements: [Requirement]

    /// Parses a selector; `field` names the filter field in errors.
    public init(_ text: String, field: String) throws(FlowFilterError) {
        var p = Parser(text: Array(text), field: field, original: text)
        requirements = try p.parse()
    }

    /// Whether the label list satisfies every requirement.
    public func matches(_ labels: [String]) -> Bool {
        for r in requirements where !Self.satisfies(r, labels) { return false }
        return true
    }

    private static func satisfies(_ r: Requirement, _ labels: [String]) -> Bool {
        var found = false
        var valueMatched = false
        for label in labels {
            let (src, key, value) = split(label)
            guard key == r.key[...] else { continue }
            if let s = r.source, src != s[...] { continue }
            found = true
            if r.values.contains(where: { $0[...] == value }) { valueMatched = true }
        }
        switch r.op {
        case .exists: return found
        case .notExists: return !found
        case .equals, .in: return valueMatched
        case .notEquals, .notIn: return !valueMatched
        }
    }

    /// `source:key=value` → parts (no allocation). The source ends at the first `:` before any `=`.
    static func split(_ label: String) -> (Substring, Substring, Substring) {
        let s = label[...]
        var keyStart = s.startIndex
        var source = s[s.startIndex..<s.startIndex]
        if let colon = s.firstIndex(of: ":") {
            let eq = s.firstIndex(of: "=")
            if eq == nil || colon < eq! {
                source = s[s.startIndex..<colon]
                keyStart = s.index(after: colon)
            }
        }
        let rest = s[keyStart...]
        if let eq = rest.firstIndex(of: "=") {
            return (source, rest[rest.startIndex..<eq], rest[rest.index(after: eq)...])
        }
        return (source, rest, rest[rest.endIndex...])
    }

    private struct Parser {
        let text: [Character]
        let field: String
        let original: String
        var i = 0

        func fail(_ what: String) -> FlowFilterError {
            FlowFilterError(field: field, message: "invalid label selector \(Quote.text(original)): \(what)")
        }

        mutating func skipSpaces() { while i < text.count, text[i] == " " { i += 1 } }

        static func isNameChar(_ c: Character) -> Bool {
            c.isLetter || c.isNumber || c == "-" || c == "_" || c == "." || c == "/" || c == ":"
        }

        mutating func word() -> String {
            var s = ""
            while i < text.count, Self.isNameChar(text[i]) { s.append(text[i]); i += 1 }
            return s
        }

        mutating func parse() throws(FlowFilterError) -> [Requirement] {
            var out: [Requirement] = []
            skipSpaces()
            if i >= text.count { throw fail("empty selector") }
            while true {
                out.append(try requirement())
                skipSpaces()
                if i >= text.count { return out }
                guard text[i] == "," else { throw fail("unexpected \"\(text[i])\" at \(i)") }
                i += 1
            }
        }

        mutating func requirement() throws(FlowFilterError) -> Requirement {
            skipSpaces()
            var negated = false
            if i < text.count, text[i] == "!" { negated = true; i += 1; skipSpaces() }
            let full = word()
            guard !full.isEmpty else {
                throw fail(i < text.count ? "expected a key at \"\(text[i])\"" : "expected a key")
            }
            var source: String? = nil
            var key = full
            if let colon = full.firstIndex(of: ":") {
                let s = String(full[..<colon])
                source = s == "any" ? nil : s
                key = String(full[full.index(after: colon)...])
                guard !key.isEmpty else { throw fail("empty key in \"\(full)\"") }
            }
            skipSpaces()
            if negated {
                return Requirement(source: source, key: key, op: .notExists, values: [])
            }
            if i >= text.count || text[i] == "," {
                return Requirement(source: source, key: key, op: .exists, values: [])
            }
            if text[i] == "=" {
                i += 1
                if i < text.count, text[i] == "=" { i += 1 }
                skipSpaces()
                return Requirement(source: source, key: key, op: .equals, values: [word()])
            }
            if text[i] == "!" {
                i += 1
                guard i < text.count, text[i] == "=" else { throw fail("expected \"!=\"") }
                i += 1
                skipSpaces()
                return Requirement(source: source, key: key, op: .notEquals, values: [word()])
            }
            let op = word()
            let oper: Operator
            switch op {
            case "in": oper = .in
            case "notin": oper = .notIn
            default: throw fail("unknown operator \"\(op)\"")
            }
            skipSpaces()
            guard i < text.count, text[i] == "(" else { throw fail("expected \"(\" after \(op)") }
            i += 1
            var values: [String] = []
            while true {
                skipSpaces()
                values.append(word())
                skipSpaces()
                guard i < text.count else { throw fail("missing \")\"") }
                if text[i] == "," { i += 1; continue }
                if text[i] == ")" { i += 1; break }
                throw fail("unexpected \"\(text[i])\" in value list")
            }
            return Requirement(source: source, key: key, op: oper, values: values)
        }
    }
}
