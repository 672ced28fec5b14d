/// Pre-rendered family names and header lines for both formats.
struct FamilyHeader: Sendable {
    let name: String
    let type: MetricType
    let textHeader: [UInt8]
    let openMetricsHeader: [UInt8]
    /// Sample name in text format (the family name).
    let textSampleName: [UInt8]
    /// Counter sample name in OpenMetrics: `<family without _total>_total`.
    let openMetricsSampleName: [UInt8]

    init(name: String, help: String, type: MetricType) {
        self.name = name
        self.type = type
        var t: [UInt8] = Array("# HELP \(name) ".utf8)
        Escaping.appendTextHelp(help, to: &t)
        t.append(contentsOf: "\n# TYPE \(name) \(type.rawValue)\n".utf8)
        textHeader = t
        let omName = type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        var o: [UInt8] = Array("# HELP \(omName) ".utf8)
        Escaping.appendLabelValue(help, to: &o)
        o.append(contentsOf: "\n# TYPE \(omName) \(type.rawValue)\n".utf8)
        openMetricsHeader = o
        textSampleName = Array(name.utf8)
        openMetricsSampleName = type == .counter ? Array((omName + "_total").utf8) : Array(name.utf8)
    }

    func appendHeader(_ format: ExpositionFormat, to out: inout [UInt8]) {
        out.append(contentsOf: format == .openMetrics ? openMetricsHeader : textHeader)
    }

    func sampleName(_ format: ExpositionFormat) -> [UInt8] {
        format == .openMetrics ? openMetricsSampleName : textSampleName
    }
}

/// Metric types as the exposition names them.
public enum MetricType: String, Sendable, Equatable {
    case counter, gauge, histogram
}
