import SpyglassFlow
import SpyglassMetrics

/// Where events were lost before they reached the pipeline step.
public enum EventLossSource: Sendable, CaseIterable {
    /// The kernel → agent ring buffers were full (trace and drop programs).
    case ringBuffer
    /// The reader → pipeline queue was full (the consumer fell behind).
    case eventsQueue

    /// The same source in Hubble's terms (flow logs, the API, the metric label).
    public var hubble: LostEventSource {
        switch self {
        case .ringBuffer: .perfEventRingBuffer
        case .eventsQueue: .observerEventsQueue
        }
    }

    /// The `source` label of `hubble_lost_events_total`.
    public var metricLabel: String { hubble.metricLabel }
}

/// Turns the datapath's cumulative loss counters into reports of what was lost since the previous call: counted in
/// `hubble_lost_events_total{source}` and handed to `report` (the flow logs and the API ring record them). A total
/// that did not grow reports nothing. Called by the agent's housekeeping thread (one instance, one thread).
public struct LostEventAccounting {
    private var reported: [EventLossSource: UInt64] = [:]

    public init() {}

    /// The `hubble_lost_events_total` series of every source, at zero, so dashboards and alerts see "nothing lost"
    /// rather than nothing.
    public static func registerSeries(on metrics: MetricsEngine) {
        for source in EventLossSource.allCases { metrics.addLost(source: source.metricLabel, count: 0) }
    }

    public mutating func account(
        _ source: EventLossSource, total: UInt64, metrics: MetricsEngine, report: (EventLossSource, UInt64) -> Void
    ) {
        let last = reported[source, default: 0]
        guard total > last else { return }
        metrics.addLost(source: source.metricLabel, count: total - last)
        report(source, total - last)
        reported[source] = total
    }
}
