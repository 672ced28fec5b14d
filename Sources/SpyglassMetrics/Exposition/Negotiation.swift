import SpyglassSupport

/// Chooses the exposition format from an `Accept` header the way client_golang's promhttp does:
/// `expfmt.NegotiateIncludingOpenMetrics` when OpenMetrics is enabled, `expfmt.Negotiate` otherwise.
///
/// The media ranges are parsed like goautoneg (`q` defaults to 1; an unparsable `q` is 0) and ordered by its
/// comparison (higher q first; on equal footing a concrete type before `*`) with a stable insertion sort. The first
/// range that names a format wins: `text/plain` with `version=0.0.4` or no version; `application/openmetrics-text`
/// with version `1.0.0`, `0.0.1` or none (only when enabled). Protobuf ranges are not served by Spyglass and fall
/// through. No match gives the text format. As in Go, a range with `q=0` is ordered last but not excluded.
public func negotiateExposition(accept: String?, openMetricsEnabled: Bool) -> ExpositionFormat {
    guard let accept else { return .prometheusText }
    for range in AcceptRange.parse(accept) {
        let version = range.params["version"] ?? ""
        if range.type == "text" && range.subType == "plain" && (version == "0.0.4" || version.isEmpty) {
            return .prometheusText
        }
        if openMetricsEnabled && range.type == "application" && range.subType == "openmetrics-text"
            && (version == "1.0.0" || version == "0.0.1" || version.isEmpty)
        {
            return .openMetrics
        }
    }
    return .prometheusText
}

/// One media range of an Accept header, as goautoneg parses it.
struct AcceptRange: Equatable {
    var type: String
    var subType: String
    var q: Double
    var params: [String: String]

    static func parse(_ header: String) -> [AcceptRange] {
        var out: [AcceptRange] = []
        for rawPart in header.split(separator: ",", omittingEmptySubsequences: false) {
            let part = rawPart.trimmingSpaces()
            let pieces = part.split(separator: ";", omittingEmptySubsequences: false)
            let media = pieces[0].split(separator: "/", omittingEmptySubsequences: false)
            var r = AcceptRange(type: String(media[0].trimmingSpaces()), subType: "", q: 1, params: [:])
            if media.count == 1 && r.type == "*" {
                r.subType = "*"
            } else if media.count == 2 {
                r.subType = String(media[1].trimmingSpaces())
            } else {
                continue
            }
            for param in pieces.dropFirst() {
                guard let eq = param.firstIndex(of: "=") else { continue }
                let token = param[..<eq].trimmingSpaces()
                let value = param[param.index(after: eq)...]
                if token == "q" {
                    // strconv.ParseFloat(value, 32): no trimming; errors give 0.
                    r.q = Double(Float(String(value)) ?? 0)
                } else {
                    r.params[String(token)] = String(value.trimmingSpaces())
                }
            }
            out.append(r)
        }
        // goautoneg's Less, applied by an insertion sort (what Go's sort.Sort does for short slices).
        func less(_ a: AcceptRange, _ b: AcceptRange) -> Bool {
            if a.q > b.q { return true }
            if a.type != "*" && b.type == "*" { return true }
            if a.subType != "*" && b.subType == "*" { return true }
            return false
        }
        if out.count > 1 {
            for i in 1..<out.count {
                var j = i
                while j > 0 && less(out[j], out[j - 1]) {
                    out.swapAt(j, j - 1)
                    j -= 1
                }
            }
        }
        return out
    }
}
