/// An allow list and a deny list of compiled FlowFilters (docs/hubble-compatibility.md §8): an event is kept when it
/// matches at least one allow filter (or the allow list is empty) and no deny filter.
public struct FlowFilterSet: Sendable {
    public let allow: [FlowFilterMatcher]
    public let deny: [FlowFilterMatcher]

    public init(allow: [FlowFilter] = [], deny: [FlowFilter] = []) throws(FlowFilterError) {
        self.allow = try allow.map { (f) throws(FlowFilterError) in try FlowFilterMatcher(f) }
        self.deny = try deny.map { (f) throws(FlowFilterError) in try FlowFilterMatcher(f) }
    }

    public var isEmpty: Bool { allow.isEmpty && deny.isEmpty }

    /// Whether a flow passes the lists.
    public func accepts(_ flow: Flow) -> Bool {
        if !allow.isEmpty && !allow.contains(where: { $0.matches(flow) }) { return false }
        if deny.contains(where: { $0.matches(flow) }) { return false }
        return true
    }

    /// Whether a non-flow event (lost events) passes: only filters whose set fields are all `event_type` match it
    /// (as in Hubble: lost events always match an `event_type` filter, every other field fails).
    public func acceptsNonFlowEvent() -> Bool {
        if !allow.isEmpty && !allow.contains(where: { $0.matchesNonFlowEvents }) { return false }
        if deny.contains(where: { $0.matchesNonFlowEvents }) { return false }
        return true
    }
}
