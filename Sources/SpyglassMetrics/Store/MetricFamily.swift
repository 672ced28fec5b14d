import SpyglassFlow
import SpyglassSupport
import Synchronization

/// One counter or histogram family: its description and its series behind a `Mutex`.
///
/// Writers (the flow consumer, the lost-event thread, the HTTP server's scrape instrumentation) and readers
/// (`render`) all go through the mutex; each holds it only for one update or one family's render.
final class MetricFamily: Sendable {
    let header: FamilyHeader
    let help: String
    let labelNames: [String]
    let bounds: [Double]?
    /// How series of this family reference endpoints (for `removeSeries(matching:)`).
    let endpointRules: [EndpointRule]
    private let store: PThreadMutex<SeriesStore>
    private let leText: [[UInt8]]
    private let leOpenMetrics: [[UInt8]]

    var name: String { header.name }
    var type: MetricType { header.type }

    init(
        name: String, help: String, type: MetricType, labelNames: [String], buckets: [Double]? = nil,
        exemplars: Bool = false, limit: Int = .max, endpointRules: [EndpointRule] = []
    ) {
        precondition(type != .gauge, "gauges are exposed through collectors")
        let bounds = type == .histogram ? (buckets ?? MetricsEngineOptions.defaultBuckets) : nil
        self.header = FamilyHeader(name: name, help: help, type: type)
        self.help = help
        self.labelNames = labelNames
        self.bounds = bounds
        self.endpointRules = endpointRules
        self.store = PThreadMutex(
            SeriesStore(labelNames: labelNames, histogramBounds: bounds, exemplars: exemplars, limit: limit))
        let all = (bounds ?? []) + [Double.infinity]
        leText = all.map { Array("le=\"\(GoFloat.text($0))\"".utf8) }
        leOpenMetrics = all.map { Array("le=\"\(GoFloat.openMetrics($0))\"".utf8) }
    }

    // MARK: Hot path

    /// Adds `v` to the series whose label values `write` produces (definition order).
    @inline(__always) func add(
        _ v: Double = 1, now: Int64, exemplar: Exemplar? = nil, _ write: (inout LabelWriter) -> Void
    ) {
        store.withLock { s in
            s.writer.reset()
            write(&s.writer)
            s.add(v, now: now, exemplar: exemplar)
        }
    }

    /// Records one histogram observation.
    @inline(__always) func observe(
        _ v: Double, now: Int64, exemplar: Exemplar? = nil, _ write: (inout LabelWriter) -> Void
    ) {
        store.withLock { s in
            s.writer.reset()
            write(&s.writer)
            s.observe(v, now: now, exemplar: exemplar)
        }
    }

    // MARK: Name-based API (self-metrics; not the hot path)

    private func writeByName(_ labels: [String: String], _ w: inout LabelWriter) {
        for n in labelNames { w.value(labels[n] ?? "") }
    }

    func add(_ v: Double, labels: [String: String], now: Int64) {
        add(v, now: now) { writeByName(labels, &$0) }
    }

    func observe(_ v: Double, labels: [String: String], now: Int64) {
        observe(v, now: now) { writeByName(labels, &$0) }
    }

    // MARK: Budget, expiry, removal

    var liveSeries: Int { store.withLock { $0.live } }
    var refusedSeries: UInt64 { store.withLock { $0.refused } }
    var malformedWrites: UInt64 { store.withLock { $0.malformed } }

    func expire(notUpdatedSince cutoff: Int64) -> Int {
        store.withLock { $0.expire(notUpdatedSince: cutoff) }
    }

    func removeSeries(matching ref: EndpointRef) -> Int {
        guard !endpointRules.isEmpty else { return 0 }
        let rules = endpointRules
        return store.withLock { s in
            s.removeAll { values in rules.contains { $0.matches(values, ref) } }
        }
    }

    /// Label values (definition order) of every live series with its counter value or histogram count; for tests.
    func snapshot() -> [(labels: [String], value: Double)] {
        store.withLock { s in
            s.renderOrder().map { slot in
                let i = Int(slot)
                return (s.labelValues[i], s.isHistogram ? Double(s.counts[i]) : s.counterValues[i])
            }
        }
    }

    // MARK: Exposition

    func render(_ format: ExpositionFormat, into out: inout [UInt8]) {
        store.withLock { s in
            guard s.live > 0 else { return }  // the Go client omits families without series
            let order = s.renderOrder()
            header.appendHeader(format, to: &out)
            let om = format == .openMetrics
            let name = header.sampleName(format)
            if s.isHistogram {
                renderHistogram(&s, order, om, name, &out)
            } else {
                for slot in order {
                    let i = Int(slot)
                    out.append(contentsOf: name)
                    appendLabels(s.labelText[i], nil, &out)
                    out.append(0x20)
                    if om {
                        GoFloat.appendOpenMetrics(s.counterValues[i], to: &out)
                        if s.exemplarsEnabled, let e = s.counterExemplars[i] { appendExemplar(e, &out) }
                    } else {
                        GoFloat.appendText(s.counterValues[i], to: &out)
                    }
                    out.append(0x0A)
                }
            }
        }
    }

    private func renderHistogram(
        _ s: inout SeriesStore, _ order: [Int32], _ om: Bool, _ name: [UInt8], _ out: inout [UInt8]
    ) {
        let slots = s.bucketSlots
        let le = om ? leOpenMetrics : leText
        for slot in order {
            let i = Int(slot)
            var cumulative: UInt64 = 0
            for b in 0..<slots {
                cumulative &+= s.bucketCounts[i * slots + b]
                // The +Inf bucket carries the total count.
                let v = b == slots - 1 ? s.counts[i] : cumulative
                out.append(contentsOf: name)
                out.append(contentsOf: "_bucket".utf8)
                appendLabels(s.labelText[i], le[b], &out)
                out.append(0x20)
                if om {
                    GoFloat.appendUInt(v, to: &out)
                    if s.exemplarsEnabled, let e = s.bucketExemplars[i * slots + b] { appendExemplar(e, &out) }
                } else {
                    GoFloat.appendText(Double(v), to: &out)
                }
                out.append(0x0A)
            }
            out.append(contentsOf: name)
            out.append(contentsOf: "_sum".utf8)
            appendLabels(s.labelText[i], nil, &out)
            out.append(0x20)
            if om { GoFloat.appendOpenMetrics(s.sums[i], to: &out) } else { GoFloat.appendText(s.sums[i], to: &out) }
            out.append(0x0A)
            out.append(contentsOf: name)
            out.append(contentsOf: "_count".utf8)
            appendLabels(s.labelText[i], nil, &out)
            out.append(0x20)
            if om {
                GoFloat.appendUInt(s.counts[i], to: &out)
            } else {
                GoFloat.appendText(Double(s.counts[i]), to: &out)
            }
            out.append(0x0A)
        }
    }
}

/// `{labels}` or `{labels,le="x"}` (the extra label goes last, after the sorted ones, as in the Go client); nothing
/// when both are empty.
@inline(__always) func appendLabels(_ text: [UInt8], _ extra: [UInt8]?, _ out: inout [UInt8]) {
    if text.isEmpty && extra == nil { return }
    out.append(0x7B)
    out.append(contentsOf: text)
    if let extra {
        if !text.isEmpty { out.append(0x2C) }
        out.append(contentsOf: extra)
    }
    out.append(0x7D)
}

/// ` # {traceID="..."} <value> <unix seconds>` (OpenMetrics only).
func appendExemplar(_ e: Exemplar, _ out: inout [UInt8]) {
    out.append(contentsOf: " # {traceID=\"".utf8)
    Escaping.appendLabelValue(e.traceID, to: &out)
    out.append(contentsOf: "\"} ".utf8)
    GoFloat.appendOpenMetrics(e.value, to: &out)
    out.append(0x20)
    GoFloat.appendOpenMetrics(Double(e.timestampNanos) / 1e9, to: &out)
}
