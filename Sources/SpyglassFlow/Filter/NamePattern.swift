import SpyglassSupport

/// FQDN-style name patterns (docs/hubble-compatibility.md §8): `*` matches `[-.0-9a-z]*`, matching is case-insensitive
/// and one trailing dot is trimmed. Compiled once to a regular expression.
struct NamePattern: @unchecked Sendable {
    // @unchecked: Regex is immutable after construction and safe to share for matching.
    let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, field: String) throws(FlowFilterError) {
        var p = pattern.lowercased()
        if p.hasSuffix(".") { p.removeLast() }
        guard !p.isEmpty else { throw FlowFilterError(field: field, message: "empty pattern") }
        var re = "^"
        for c in p {
            switch c {
            case "*": re += "[-.0-9a-z]*"
            case ".": re += "\\."
            case "a"..."z", "0"..."9", "-", "_": re.append(c)
            default:
                throw FlowFilterError(
                    field: field, message: "invalid character \"\(c)\" in pattern \(Quote.text(pattern))")
            }
        }
        re += "$"
        do {
            regex = try Regex(re).ignoresCase()
        } catch {
            throw FlowFilterError(field: field, message: "invalid pattern \(Quote.text(pattern))")
        }
    }

    func matches(_ name: some StringProtocol) -> Bool {
        var n = Substring(name)
        if n.hasSuffix(".") { n = n.dropLast() }
        return (try? regex.wholeMatch(in: n)) != nil
    }
}

/// A node-name pattern `cluster/node` (each part an FQDN-style pattern); without `/` it matches any cluster.
struct NodeNamePattern: Sendable {
    let cluster: NamePattern?
    let node: NamePattern

    init(_ pattern: String, field: String) throws(FlowFilterError) {
        guard !pattern.isEmpty else { throw FlowFilterError(field: field, message: "empty pattern") }
        if let slash = pattern.firstIndex(of: "/") {
            cluster = try NamePattern(String(pattern[..<slash]), field: field)
            node = try NamePattern(String(pattern[pattern.index(after: slash)...]), field: field)
        } else {
            cluster = nil
            node = try NamePattern(pattern, field: field)
        }
    }

    func matches(_ nodeName: String) -> Bool {
        guard !nodeName.isEmpty else { return false }
        let clusterPart: Substring
        let nodePart: Substring
        if let slash = nodeName.firstIndex(of: "/") {
            clusterPart = nodeName[..<slash]
            nodePart = nodeName[nodeName.index(after: slash)...]
        } else {
            clusterPart = ""
            nodePart = nodeName[...]
        }
        if let cluster {
            guard !clusterPart.isEmpty, cluster.matches(clusterPart) else { return false }
        }
        return node.matches(nodePart)
    }
}
