import SpyglassExport
import SpyglassMetrics

/// The flow-log exporters' self-metrics (`spyglass_export_*`, `hubble_dynamic_exporter_*`) on the metrics endpoint.
enum ExportMetrics {
    static func register(on engine: MetricsEngine, exporters: FlowExporters) throws {
        for family in exporters.selfMetrics() {
            let name = family.name
            try engine.registerCollector(name: name, help: family.help, type: family.kind == .counter ? .counter : .gauge) {
                let current = exporters.selfMetrics().first { $0.name == name }
                return current?.samples.map { sample in
                    MetricSample(
                        labels: Dictionary(sample.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                        value: sample.value)
                } ?? []
            }
        }
    }
}
