import SpyglassFlow

/// A validated metric: the handler name, its context options, its own options and its flow filters.
public struct HandlerConfig: Sendable, Equatable {
    public var name: String
    public var context: ContextOptions
    /// Lower-cased keys of the flag-style options that were given (`query`, `ignoreaaaa`, `any-drop`, `port`,
    /// `syn-only`).
    public var flags: Set<String>
    /// `exemplars=true` (http, httpV2).
    public var exemplars: Bool
    /// FlowFilters a flow must match (any of them) to be counted; empty = every flow (docs/hubble-compatibility.md §5).
    /// The static `--hubble-metrics` syntax cannot express filters, so only the dynamic configuration sets them.
    public var includeFilters: [FlowFilter]
    /// FlowFilters of flows that are not counted (any of them).
    public var excludeFilters: [FlowFilter]

    public init(
        name: String, context: ContextOptions = ContextOptions(), flags: Set<String> = [], exemplars: Bool = false,
        includeFilters: [FlowFilter] = [], excludeFilters: [FlowFilter] = []
    ) {
        self.name = name
        self.context = context
        self.flags = flags
        self.exemplars = exemplars
        self.includeFilters = includeFilters
        self.excludeFilters = excludeFilters
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag.lowercased()) }

    /// Whether `other` produces the same families with the same label sets and label values (everything but the
    /// filters): a reload keeps such a handler and its series.
    public func hasSameLabels(as other: HandlerConfig) -> Bool {
        name == other.name && context == other.context && flags == other.flags && exemplars == other.exemplars
    }
}
