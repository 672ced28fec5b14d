import SpyglassSupport

/// `Accept-Encoding` negotiation between the two codings the server offers: gzip and identity.
enum AcceptEncoding {
    /// True when the response should be gzip-compressed for these `Accept-Encoding` header values.
    ///
    /// Rules (RFC 9110 §12.5.3): `gzip` (or `x-gzip`) with q > 0, or `*` with q > 0 when gzip is not
    /// listed, makes gzip acceptable. gzip is then chosen unless `identity` is listed explicitly
    /// with a strictly higher q. Malformed q-values count as q=0 for that entry.
    static func prefersGzip(_ headerValues: [String]) -> Bool {
        var gzipQ: Double?
        var identityQ: Double?
        var starQ: Double?
        for value in headerValues {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let rawName = parts.first else { continue }
                let name = rawName.trimmingSpacesAndTabs().lowercased()
                if name.isEmpty { continue }
                var q = 1.0
                for parameter in parts.dropFirst() {
                    let kv = parameter.split(separator: "=", maxSplits: 1)
                    guard kv.count == 2, kv[0].trimmingSpacesAndTabs().lowercased() == "q" else { continue }
                    q = parseQ(kv[1].trimmingSpacesAndTabs()) ?? 0
                }
                switch name {
                case "gzip", "x-gzip": gzipQ = max(gzipQ ?? 0, q)
                case "identity": identityQ = q
                case "*": starQ = q
                default: break
                }
            }
        }
        let effectiveGzip = gzipQ ?? starQ ?? 0
        guard effectiveGzip > 0 else { return false }
        if let identityQ, identityQ > effectiveGzip { return false }
        return true
    }

    /// A qvalue is `0`, `1` or a decimal with at most three digits after the point, in 0...1.
    private static func parseQ(_ s: Substring) -> Double? {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isNumber || $0 == "." }), let q = Double(s),
            (0...1).contains(q)
        else { return nil }
        return q
    }
}
