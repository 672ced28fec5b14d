/// One sample of a counter or gauge read at scrape time.
public struct MetricSample: Sendable, Equatable {
    /// Label names to values (the exposition sorts them).
    public var labels: [String: String]
    public var value: Double
    public init(labels: [String: String] = [:], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// A counter or gauge family a stage reports about itself (exporters, endpoint sources, …), read again at every
/// scrape; the metrics engine registers it as it is (`MetricsEngine.registerFamilies`).
public struct SelfMetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge }

    public var name: String
    public var kind: Kind
    public var help: String
    public var samples: [MetricSample]

    public init(name: String, kind: Kind, help: String, samples: [MetricSample]) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
    }
}
