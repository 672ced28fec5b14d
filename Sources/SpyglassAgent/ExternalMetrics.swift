import SpyglassEndpoints
import SpyglassExport
import SpyglassMetrics

/// Self-metrics of modules that do not depend on SpyglassMetrics (exporters, endpoint sources) on the metrics
/// endpoint: each family they report at start-up is registered once and re-read at every scrape.
enum ExternalMetrics {
    struct Family {
        var name: String
        var help: String
        var isCounter: Bool
        var samples: [MetricSample]
    }

    static func register(on engine: MetricsEngine, _ read: @escaping @Sendable () -> [Family]) throws {
        for family in read() {
            let name = family.name
            try engine.registerCollector(name: name, help: family.help, type: family.isCounter ? .counter : .gauge) {
                read().first { $0.name == name }?.samples ?? []
            }
        }
    }

    static func register(on engine: MetricsEngine, exporters: FlowExporters) throws {
        try register(on: engine) {
            exporters.selfMetrics().map { f in
                Family(
                    name: f.name, help: f.help, isCounter: f.kind == .counter,
                    samples: f.samples.map { s in
                        MetricSample(
                            labels: Dictionary(s.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                            value: s.value)
                    })
            }
        }
    }

    static func register(on engine: MetricsEngine, endpoints: Endpoints) throws {
        try register(on: engine) {
            endpoints.selfMetrics().map { f in
                Family(
                    name: f.name, help: f.help, isCounter: f.type == .counter,
                    samples: f.samples.map { s in
                        MetricSample(labels: Dictionary(s.labels, uniquingKeysWith: { a, _ in a }), value: s.value)
                    })
            }
        }
    }
}
