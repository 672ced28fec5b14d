import SpyglassSupport

/// A counter or gauge family whose samples another module supplies at render time.
final class Collector: Sendable {
    let header: FamilyHeader
    let collect: @Sendable () -> [MetricSample]

    init(name: String, help: String, type: MetricType, collect: @escaping @Sendable () -> [MetricSample]) {
        header = FamilyHeader(name: name, help: help, type: type)
        self.collect = collect
    }

    var name: String { header.name }

    func render(_ format: ExpositionFormat, into out: inout [UInt8]) {
        let samples = collect()
        guard !samples.isEmpty else { return }
        var rows: [(text: [UInt8], sortKey: [UInt8], value: Double)] = []
        rows.reserveCapacity(samples.count)
        for s in samples {
            var text: [UInt8] = []
            var key: [UInt8] = []
            for (i, name) in s.labels.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                let v = s.labels[name]!
                if i > 0 { text.append(0x2C) }
                text.append(contentsOf: name.utf8)
                text.append(contentsOf: "=\"".utf8)
                Escaping.appendLabelValue(v, to: &text)
                text.append(0x22)
                key.append(contentsOf: v.utf8)
                key.append(0)
            }
            rows.append((text, key, s.value))
        }
        rows.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        header.appendHeader(format, to: &out)
        let name = header.sampleName(format)
        for r in rows {
            out.append(contentsOf: name)
            appendLabels(r.text, nil, &out)
            out.append(0x20)
            if format == .openMetrics {
                GoFloat.appendOpenMetrics(r.value, to: &out)
            } else {
                GoFloat.appendText(r.value, to: &out)
            }
            out.append(0x0A)
        }
    }
}

/// Registering a collector failed.
public enum MetricsRegistrationError: Error, Equatable, CustomStringConvertible, Sendable {
    case duplicateName(String)
    case unsupportedType(name: String, type: MetricType)
    case invalidName(String)

    public var description: String {
        switch self {
        case .duplicateName(let n): "metric family '\(n)' is already registered"
        case .unsupportedType(let n, let t):
            "metric family '\(n)': collectors expose counters or gauges, not \(t.rawValue)s"
        case .invalidName(let n): "invalid metric name '\(n)': must match [a-zA-Z_:][a-zA-Z0-9_:]*"
        }
    }
}
