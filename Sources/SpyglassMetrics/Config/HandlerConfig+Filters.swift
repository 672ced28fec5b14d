import SpyglassFlow

extension HandlerConfig {
    /// The flow predicate of the handler's filters (docs/hubble-compatibility.md §5, §8): a flow is counted when it
    /// matches at least one include filter (or there are none) and no exclude filter; nil = count every flow. Throws
    /// for a filter the matcher cannot compile (a bad regular expression, CIDR or port). Runs on the flow consumer
    /// thread, once per flow and handler.
    func flowPredicate() throws(FlowFilterError) -> (@Sendable (Flow) -> Bool)? {
        if includeFilters.isEmpty && excludeFilters.isEmpty { return nil }
        let set = try FlowFilterSet(allow: includeFilters, deny: excludeFilters)
        return { set.accepts($0) }
    }
}
