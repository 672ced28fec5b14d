import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Health and counters of one source (`kubernetes`, `file`, `node`), read at scrape time.
final class SourceStatus: Sendable {
    let name: String
    private struct State {
        var synced = false
        var lastEvent: ContinuousClock.Instant?
        var objects: [String: Int] = [:]
        var errors: [String: UInt64] = [:]
        var lastError: String?
    }
    private let state = PThreadMutex(State())

    init(name: String, kinds: [String] = [], reasons: [String] = []) {
        self.name = name
        state.withLock { s in
            for k in kinds { s.objects[k] = 0 }
            for r in reasons { s.errors[r] = 0 }
        }
    }

    func setSynced(_ v: Bool) { state.withLock { $0.synced = v } }
    var synced: Bool { state.withLock { $0.synced } }
    func event() { state.withLock { $0.lastEvent = .now } }
    func setObjects(_ kind: String, _ n: Int) { state.withLock { $0.objects[kind] = n } }
    func error(_ reason: String, message: String? = nil) {
        state.withLock {
            $0.errors[reason, default: 0] += 1
            if let message { $0.lastError = message }
        }
    }
    func errorCount(_ reason: String) -> UInt64 { state.withLock { $0.errors[reason] ?? 0 } }
    func objects(_ kind: String) -> Int { state.withLock { $0.objects[kind] ?? 0 } }
    var lastError: String? { state.withLock { $0.lastError } }

    fileprivate func read() -> (synced: Bool, age: Double?, objects: [String: Int], errors: [String: UInt64]) {
        state.withLock { s in
            let age = s.lastEvent.map { d -> Double in
                let c = (ContinuousClock.now - d).components
                return Double(c.seconds) + Double(c.attoseconds) / 1e18
            }
            return (s.synced, age, s.objects, s.errors)
        }
    }
}

func metricFamilies(for statuses: [SourceStatus], store: [SelfMetricFamily]) -> [SelfMetricFamily] {
    var synced: [MetricSample] = []
    var age: [MetricSample] = []
    var objects: [MetricSample] = []
    var errors: [MetricSample] = []
    for st in statuses {
        let r = st.read()
        synced.append(.init(labels: ["source": st.name], value: r.synced ? 1 : 0))
        // No event yet: the age is how long the process has waited, reported as -1 to be distinguishable.
        age.append(.init(labels: ["source": st.name], value: r.age ?? -1))
        for (k, n) in r.objects.sorted(by: { $0.key < $1.key }) {
            objects.append(.init(labels: ["source": st.name, "kind": k], value: Double(n)))
        }
        for (reason, n) in r.errors.sorted(by: { $0.key < $1.key }) {
            errors.append(.init(labels: ["source": st.name, "reason": reason], value: Double(n)))
        }
    }
    return [
        SelfMetricFamily(
            name: "spyglass_endpoints_source_synced", kind: .gauge,
            help: "1 when the endpoint source has a complete, current view (listed and watching, or file loaded)",
            samples: synced),
        SelfMetricFamily(
            name: "spyglass_endpoints_last_event_age_seconds", kind: .gauge,
            help: "Seconds since the endpoint source last received an event or reload (-1: none yet)",
            samples: age),
        SelfMetricFamily(
            name: "spyglass_endpoints_objects", kind: .gauge,
            help: "Objects the endpoint source currently knows, by kind",
            samples: objects),
        SelfMetricFamily(
            name: "spyglass_endpoints_errors_total", kind: .counter, help: "Errors of the endpoint source, by reason",
            samples: errors)
    ] + store
}
