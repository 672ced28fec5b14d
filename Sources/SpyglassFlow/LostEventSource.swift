/// Where events were lost before they became flows: `LostEventSource` of flow.proto (docs/hubble-compatibility.md §7.3).
/// The flow logs' `lost_events` records, the API's LostEvent and `hubble_lost_events_total{source}` all name it.
public enum LostEventSource: String, Sendable, CaseIterable {
    case unknown = "UNKNOWN_LOST_EVENT_SOURCE"
    case perfEventRingBuffer = "PERF_EVENT_RING_BUFFER"
    case observerEventsQueue = "OBSERVER_EVENTS_QUEUE"
    case hubbleRingBuffer = "HUBBLE_RING_BUFFER"

    /// From the enum name or the lower-case metric label (`perf_event_ring_buffer`); anything else is `unknown`.
    public init(name: String) {
        self = LostEventSource(rawValue: name.uppercased()) ?? .unknown
    }
}

extension LostEventSource {
    /// The `source` label of `hubble_lost_events_total` (the enum name in lower case, as Hubble writes it).
    public var metricLabel: String { rawValue.lowercased() }
}
