/// W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header).
public enum TraceParent {
    /// The trace ID of a `traceparent` value: `version-traceid-parentid-flags` with a 2-hex version other than
    /// `ff`, a 32-hex trace ID and a 16-hex parent ID that are not all zero, and 2-hex flags; all lower-case hex as
    /// the specification requires. Version `00` must be exactly 55 characters; a higher version may carry more
    /// fields after a `-`. Nil when invalid.
    public static func traceID(_ value: String) -> String? {
        var v = value
        return v.withUTF8 { traceID(utf8: $0) }
    }

    static func traceID(utf8 b: UnsafeBufferPointer<UInt8>) -> String? {
        guard b.count >= 55 else { return nil }
        func hex(_ r: Range<Int>) -> Bool {
            r.allSatisfy { (b[$0] >= 0x30 && b[$0] <= 0x39) || (b[$0] >= 0x61 && b[$0] <= 0x66) }
        }
        func allZero(_ r: Range<Int>) -> Bool { r.allSatisfy { b[$0] == 0x30 } }
        guard hex(0..<2), !(b[0] == 0x66 && b[1] == 0x66), b[2] == 0x2d, hex(3..<35), b[35] == 0x2d, hex(36..<52),
            b[52] == 0x2d, hex(53..<55)
        else { return nil }
        let version00 = b[0] == 0x30 && b[1] == 0x30
        if version00 ? b.count != 55 : (b.count > 55 && b[55] != 0x2d) { return nil }
        guard !allZero(3..<35), !allZero(36..<52) else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: b[3..<35]), as: UTF8.self)
    }
}

/// Builds the `url` of Hubble's HTTP record and applies redaction.
enum HTTPURL {
    /// `http://<host><target>` for origin-form targets (`/path?q`), the target itself when absolute
    /// (`http://h/p`), authority (CONNECT `h:443`) or `*`. Without a Host header the server address is the host
    /// (`[v6]` bracketed, `:port` unless 80).
    static func build(target: String, host: String?, server: IPAddress, serverPort: UInt16, config: L7Config) -> String
    {
        var url: String
        if target.utf8.first == UInt8(ascii: "/") {
            let authority: String
            if let host, !host.isEmpty {
                authority = host
            } else {
                let a = server.isIPv6 ? "[\(server)]" : server.description
                authority = serverPort == 80 ? a : "\(a):\(serverPort)"
            }
            url = "http://" + authority + target
        } else {
            // Only an absolute-form target can carry userinfo (a Host header cannot).
            url = config.redactUserInfo ? dropUserInfo(target) : target
        }
        if config.redactURLQuery { url = dropQuery(url) }
        return url
    }

    /// Removes `userinfo@` from the authority of `scheme://userinfo@host/...`.
    static func dropUserInfo(_ url: String) -> String {
        let u = Array(url.utf8)
        // "://" after a scheme of letters, digits, "+", "-", ".".
        var i = 0
        while i < u.count, u[i] != UInt8(ascii: ":") {
            let c = u[i] | 0x20
            guard
                (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (u[i] >= 0x30 && u[i] <= 0x39)
                    || u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: ".")
            else { return url }
            i += 1
        }
        guard i > 0, i + 2 < u.count, u[i + 1] == UInt8(ascii: "/"), u[i + 2] == UInt8(ascii: "/") else { return url }
        let authorityStart = i + 3
        var end = authorityStart
        var at = -1
        while end < u.count, u[end] != UInt8(ascii: "/"), u[end] != UInt8(ascii: "?"), u[end] != UInt8(ascii: "#") {
            if u[end] == UInt8(ascii: "@") { at = end }
            end += 1
        }
        guard at >= 0 else { return url }
        return String(decoding: u[..<authorityStart] + u[(at + 1)...], as: UTF8.self)
    }

    /// Removes `?query` and `#fragment`.
    static func dropQuery(_ url: String) -> String {
        guard let i = url.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return url
        }
        return String(url[..<i])
    }
}

/// Header redaction by allow or deny list (see `L7Config`). Exact names are kept in Go's canonical form, the form
/// `HTTPParser` gives keys, so a lookup needs no case folding; deny patterns (`*Token*`, `*-Key`, `X-Goog-*`) are
/// matched ASCII case-insensitively on the key's bytes, without allocating.
///
/// Decisions are remembered per key: a node's traffic repeats a few dozen header names, and one hash lookup costs
/// a fraction of scanning a key for the default list's thirteen patterns (the scan was a sixth of the agent's CPU
/// under HTTP load). The memory is bounded (`maxRememberedKeys` keys of at most `maxRememberedKeyBytes`; emptied
/// when full, so random names from a hostile client cost a scan each, never memory). Single-threaded, like the L7
/// assembler that owns it.
final class HeaderRedactor {
    /// A deny-list entry with `*` at its start and/or end.
    struct Pattern: Equatable {
        /// Lowercased, without the `*`s.
        var core: [UInt8]
        var anyPrefix: Bool
        var anySuffix: Bool

        init?(_ entry: String) {
            let anyPrefix = entry.hasPrefix("*"), anySuffix = entry.count > 1 && entry.hasSuffix("*")
            guard anyPrefix || anySuffix else { return nil }
            var core = Substring(entry)
            if anyPrefix { core = core.dropFirst() }
            if anySuffix { core = core.dropLast() }
            self.core = Array(core.lowercased().utf8)
            self.anyPrefix = anyPrefix
            self.anySuffix = anySuffix
        }

        func matches(_ key: String) -> Bool {
            var key = key
            return key.withUTF8 { k in
                let n = core.count
                guard k.count >= n else { return false }
                func at(_ start: Int) -> Bool {
                    for i in 0..<n {
                        var c = k[start + i]
                        if c >= 0x41 && c <= 0x5a { c |= 0x20 }
                        if c != core[i] { return false }
                    }
                    return true
                }
                switch (anyPrefix, anySuffix) {
                case (true, true): return (0...(k.count - n)).contains { at($0) }
                case (true, false): return at(k.count - n)
                default: return at(0)
                }
            }
        }
    }

    private let allow: Set<String>
    private let deny: Set<String>
    private let denyPatterns: [Pattern]

    init(config: L7Config) {
        allow = Set(config.headerAllowList.map { HTTPParser.canonicalKey($0) })
        let denyList = config.headerAllowList.isEmpty ? config.headerDenyList : []
        denyPatterns = denyList.compactMap(Pattern.init)
        deny = Set(denyList.filter { Pattern($0) == nil }.map { HTTPParser.canonicalKey($0) })
    }

    /// Key → redacted, for keys seen before.
    private var decisions: [String: Bool] = [:]
    static let maxRememberedKeys = 512
    /// Longer keys are decided afresh each time: at most 512 × 64 bytes are remembered.
    static let maxRememberedKeyBytes = 64

    var isNoop: Bool { allow.isEmpty && deny.isEmpty && denyPatterns.isEmpty }

    func redacts(_ key: String) -> Bool {
        if let known = decisions[key] { return known }
        let redacted = decide(key)
        guard key.utf8.count <= Self.maxRememberedKeyBytes else { return redacted }
        if decisions.count >= Self.maxRememberedKeys { decisions.removeAll(keepingCapacity: true) }
        decisions[key] = redacted
        return redacted
    }

    private func decide(_ key: String) -> Bool {
        if !allow.isEmpty { return !allow.contains(key) }
        return deny.contains(key) || denyPatterns.contains { $0.matches(key) }
    }

    /// `headers` keys must be canonical.
    func apply(_ headers: inout [HTTPHeader]) {
        guard !isNoop else { return }
        for i in headers.indices where redacts(headers[i].key) {
            headers[i].value = L7Config.redactedValue
        }
    }
}
