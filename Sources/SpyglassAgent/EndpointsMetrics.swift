import SpyglassEndpoints
import SpyglassMetrics

/// The endpoint sources' self-metrics (`spyglass_endpoints_*`) on the metrics endpoint.
enum EndpointsMetrics {
    static func register(on engine: MetricsEngine, endpoints: Endpoints) throws {
        for family in endpoints.selfMetrics() {
            let name = family.name
            try engine.registerCollector(name: name, help: family.help, type: family.type == .counter ? .counter : .gauge) {
                let current = endpoints.selfMetrics().first { $0.name == name }
                return current?.samples.map { sample in
                    MetricSample(labels: Dictionary(sample.labels, uniquingKeysWith: { a, _ in a }), value: sample.value)
                } ?? []
            }
        }
    }
}
