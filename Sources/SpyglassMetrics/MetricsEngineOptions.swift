import SpyglassSupport

/// Tunables of the metric engine beyond Hubble's option grammar: the series budget (docs/hubble-compatibility.md §11.5)
/// and histogram buckets.
public struct MetricsEngineOptions: Sendable {
    /// `prometheus.DefBuckets`.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Series cap of every handler family; new label sets beyond it are refused and counted in
    /// `spyglass_metrics_series_refused_total{metric}`.
    public var defaultSeriesLimit: Int
    /// Per-family overrides, keyed by family name (e.g. `hubble_flows_processed_total`).
    public var seriesLimits: [String: Int]
    /// Series not updated for this long are removed at the next render or `sweepIdleSeries()`; nil = never.
    public var idleSeriesTTL: Duration?
    /// Histogram upper bounds by family name (strictly increasing, finite; `+Inf` is implicit).
    public var histogramBuckets: [String: [Double]]
    /// Expose `spyglass_metrics_series{metric}` and `spyglass_metrics_series_refused_total{metric}`.
    public var selfMetrics: Bool
    /// Monotonic nanoseconds; replaceable in tests.
    public var monotonicClock: @Sendable () -> Int64

    public init(
        defaultSeriesLimit: Int = 10_000, seriesLimits: [String: Int] = [:], idleSeriesTTL: Duration? = nil,
        histogramBuckets: [String: [Double]] = [:], selfMetrics: Bool = true,
        monotonicClock: @escaping @Sendable () -> Int64 = MetricsEngineOptions.systemMonotonicNanos
    ) {
        self.defaultSeriesLimit = defaultSeriesLimit
        self.seriesLimits = seriesLimits
        self.idleSeriesTTL = idleSeriesTTL
        self.histogramBuckets = histogramBuckets
        self.selfMetrics = selfMetrics
        self.monotonicClock = monotonicClock
    }

    /// The default clock: monotonic nanoseconds (coarse on Linux: a few ms resolution is plenty for idle expiry).
    @Sendable public static func systemMonotonicNanos() -> Int64 { SystemClock.coarseMonotonicNs() }

    func seriesLimit(for family: String) -> Int { max(0, seriesLimits[family] ?? defaultSeriesLimit) }

    func buckets(for family: String) -> [Double] {
        guard let b = histogramBuckets[family] else { return MetricsEngineOptions.defaultBuckets }
        // Drop a trailing +Inf (implicit) and anything that is not strictly increasing and finite.
        var out: [Double] = []
        for v in b where v.isFinite && (out.last.map { v > $0 } ?? true) { out.append(v) }
        return out
    }
}
