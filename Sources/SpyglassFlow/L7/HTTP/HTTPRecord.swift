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
    static func build(target: String, host: String?, server: IPAddress, serverPort: UInt16, config: L7Config) -> String {
        var url: String
        if target.hasPrefix("/") {
            let authority: String
            if let host, !host.isEmpty {
                authority = host
            } else {
                let a = server.isIPv6 ? "[\(server)]" : server.description
                authority = serverPort == 80 ? a : "\(a):\(serverPort)"
            }
            url = "http://" + authority + target
        } else {
            url = target
        }
        if config.redactUserInfo { url = dropUserInfo(url) }
        if config.redactURLQuery { url = dropQuery(url) }
        return url
    }

    /// Removes `userinfo@` from the authority of `scheme://userinfo@host/...`.
    static func dropUserInfo(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let authorityStart = schemeEnd.upperBound
        let rest = url[authorityStart...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
        guard let at = url[authorityStart..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<authorityStart]) + String(url[url.index(after: at)...])
    }

    /// Removes `?query` and `#fragment`.
    static func dropQuery(_ url: String) -> String {
        guard let i = url.firstIndex(where: { $0 == "?" || $0 == "#" }) else { return url }
        return String(url[..<i])
    }
}

/// Header redaction by allow or deny list (see `L7Config`).
struct HeaderRedactor {
    private let allow: Set<String>
    private let deny: Set<String>

    init(config: L7Config) {
        allow = Set(config.headerAllowList.map { $0.lowercased() })
        deny = config.headerAllowList.isEmpty ? Set(config.headerDenyList.map { $0.lowercased() }) : []
    }

    var isNoop: Bool { allow.isEmpty && deny.isEmpty }

    func apply(_ headers: inout [HTTPHeader]) {
        guard !isNoop else { return }
        for i in headers.indices {
            let key = headers[i].key.lowercased()
            let redact = allow.isEmpty ? deny.contains(key) : !allow.contains(key)
            if redact { headers[i].value = L7Config.redactedValue }
        }
    }
}
