/// The two exposition formats served on /metrics.
public enum ExpositionFormat: Sendable, Equatable, CaseIterable {
    /// Prometheus text format 0.0.4. Never carries exemplars.
    case prometheusText
    /// OpenMetrics 1.0.0 text: counter families named without `_total`, exemplars, `# EOF`.
    case openMetrics

    /// The exact Content-Type header value.
    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}
