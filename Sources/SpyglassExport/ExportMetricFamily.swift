/// A metric family for the agent to register on its metric engine (SpyglassExport does not depend on
/// SpyglassMetrics).
public struct ExportMetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge }

    public struct Sample: Sendable, Equatable {
        /// Label pairs in the order given (the exposition sorts them).
        public var labels: [Label]
        public var value: Double
        public init(labels: [Label] = [], value: Double) {
            self.labels = labels
            self.value = value
        }
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    public var name: String
    public var kind: Kind
    public var help: String
    public var samples: [Sample]

    public init(name: String, kind: Kind, help: String, samples: [Sample]) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
    }
}
