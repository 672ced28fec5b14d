import SpyglassFlow
import SpyglassSupport
import Synchronization

/// One configured handler: its configuration, the handler (which owns the families and their series) and the flow
/// predicate built from its include/exclude filters (nil = every flow).
///
/// A final class so that `MetricsEngine.process` walks the entries by reference: a struct entry (configuration,
/// existential, closure) was copied, retained and released field by field for every flow.
final class ActiveHandler: Sendable {
    let config: HandlerConfig
    let handler: any MetricHandler
    let predicate: (@Sendable (Flow) -> Bool)?

    init(config: HandlerConfig, handler: any MetricHandler, predicate: (@Sendable (Flow) -> Bool)?) {
        self.config = config
        self.handler = handler
        self.predicate = predicate
    }
}

/// The handlers in effect: immutable, replaced as a whole when the configuration changes.
final class HandlerSet: Sendable {
    let config: MetricsConfig
    let entries: [ActiveHandler]
    let handlers: [any MetricHandler]
    let families: [MetricFamily]

    init(config: MetricsConfig, entries: [ActiveHandler]) {
        self.config = config
        self.entries = entries
        self.handlers = entries.map(\.handler)
        self.families = handlers.flatMap(\.families)
    }

    static let empty = HandlerSet(config: MetricsConfig(handlers: []), entries: [])

    /// Builds the set for `config`, reusing from `previous` every handler whose label-relevant configuration
    /// (`HandlerConfig.hasSameLabels`) is unchanged, so its series survive. Throws `MetricsConfigError` for a
    /// duplicate name, the http/httpV2 conflict or filters the matcher rejects; `previous` is never modified.
    static func build(
        _ config: MetricsConfig, reusing previous: HandlerSet, factory: FamilyFactory
    ) throws(MetricsConfigError) -> HandlerSet {
        var seen: Set<String> = []
        for h in config.handlers where !seen.insert(h.name).inserted { throw .duplicateMetric(h.name) }
        if seen.contains("http") && seen.contains("httpV2") {
            let order = config.handlers.map(\.name).filter { $0 == "http" || $0 == "httpV2" }
            throw .conflictingMetrics(order[0], order[1])
        }
        var entries: [ActiveHandler] = []
        for h in config.handlers {
            guard let kind = HandlerCatalog.kinds[h.name] else { continue }  // validate() warned about it
            let predicate: (@Sendable (Flow) -> Bool)?
            do {
                predicate = try h.flowPredicate()
            } catch {
                throw .invalidFilters(metric: h.name, message: "\(error)")
            }
            let handler = previous.entries.first { $0.config.hasSameLabels(as: h) }?.handler ?? kind.make(h, factory)
            entries.append(ActiveHandler(config: h, handler: handler, predicate: predicate))
        }
        return HandlerSet(config: config, entries: entries)
    }
}

/// The engine's current handler set. A small box of its own so that self-metric collectors can read it without
/// retaining the engine.
final class HandlerSetSlot: Sendable {
    private let current: PThreadMutex<HandlerSet>
    init(_ set: HandlerSet) { current = PThreadMutex(set) }

    /// A strong reference to the set in effect (one uncontended lock and a retain).
    @inline(__always) func load() -> HandlerSet { current.withLock { $0 } }

    func store(_ set: HandlerSet) { current.withLock { $0 = set } }
}

/// What `MetricsEngine.apply(_:)` changed, by handler name.
public struct MetricsReconfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Newly enabled handlers.
    public var added: [String] = []
    /// Handlers no longer configured: their families left the exposition.
    public var removed: [String] = []
    /// Handlers whose label set or options changed: their families were rebuilt and start empty.
    public var relabelled: [String] = []
    /// Handlers kept with their series whose include/exclude filters changed.
    public var refiltered: [String] = []
    /// Handlers kept as they were.
    public var unchanged: [String] = []

    public init() {}

    public var isNoChange: Bool { added.isEmpty && removed.isEmpty && relabelled.isEmpty && refiltered.isEmpty }

    public var description: String {
        var parts: [String] = []
        func list(_ what: String, _ names: [String]) {
            if !names.isEmpty { parts.append("\(what) \(names.joined(separator: " "))") }
        }
        list("added", added)
        list("removed", removed)
        list("relabelled", relabelled)
        list("filters changed", refiltered)
        list("unchanged", unchanged)
        return parts.isEmpty ? "no metrics" : parts.joined(separator: "; ")
    }

    static func between(_ old: MetricsConfig, _ new: MetricsConfig) -> MetricsReconfiguration {
        var r = MetricsReconfiguration()
        let known = Set(HandlerCatalog.kinds.keys)
        let oldByName = Dictionary(old.handlers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.handlers.map(\.name))
        for h in new.handlers where known.contains(h.name) {
            guard let o = oldByName[h.name] else { r.added.append(h.name); continue }
            if !o.hasSameLabels(as: h) {
                r.relabelled.append(h.name)
            } else if o.includeFilters != h.includeFilters || o.excludeFilters != h.excludeFilters {
                r.refiltered.append(h.name)
            } else {
                r.unchanged.append(h.name)
            }
        }
        r.removed = old.handlers.map(\.name).filter { known.contains($0) && !newNames.contains($0) }
        return r
    }
}
