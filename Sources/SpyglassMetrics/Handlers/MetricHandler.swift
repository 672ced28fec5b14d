import SpyglassFlow
import SpyglassSupport

/// A metric handler (one `--hubble-metrics` name): it owns its families and counts flows into them.
///
/// `process` is called for every flow from the single consumer thread. Handlers check their preconditions first,
/// then write label values straight into the family's key buffer (see `LabelWriter`).
protocol MetricHandler: Sendable {
    var name: String { get }
    var families: [MetricFamily] { get }
    /// One line describing what the handler counts and with which options.
    var status: String { get }
    func process(_ flow: Flow, _ env: ProcessEnv)
}

/// Per-flow facts shared by all handlers.
struct ProcessEnv {
    /// Monotonic nanoseconds (last-update stamp for idle expiry).
    var now: Int64
    /// Labels-context values already formatted for this flow (nil: format every time).
    var contextCache: LabelsContextCache? = nil

    /// Exemplar timestamp: the flow's observation time, or the wall clock when the flow has none.
    func exemplarTime(_ flow: Flow) -> Int64 {
        if flow.time.seconds != 0 || flow.time.nanos != 0 {
            return flow.time.seconds &* 1_000_000_000 &+ Int64(flow.time.nanos)
        }
        return SystemClock.wallNs()
    }
}

/// Builds families with the engine's budget and bucket settings, context labels before or after the handler's own.
struct FamilyFactory {
    let options: MetricsEngineOptions

    enum ContextPlacement { case first, last }

    func make(
        _ name: String, help: String, type: MetricType, labels own: [String], context: ContextOptions,
        placement: ContextPlacement, exemplars: Bool = false
    ) -> MetricFamily {
        let ctxNames = context.labelNames
        let names = placement == .first ? ctxNames + own : own + ctxNames
        let offset = placement == .first ? 0 : own.count
        return MetricFamily(
            name: name, help: help, type: type, labelNames: names,
            buckets: type == .histogram ? options.buckets(for: name) : nil,
            exemplars: exemplars, limit: options.seriesLimit(for: name),
            endpointRules: EndpointRule.rules(for: context, offset: offset))
    }
}

/// A registered handler name: which options it takes and how to build it.
struct HandlerKind: Sendable {
    let name: String
    /// Lower-cased flag-style option keys.
    let flags: Set<String>
    let acceptsExemplars: Bool
    let make: @Sendable (HandlerConfig, FamilyFactory) -> any MetricHandler
}

/// Every handler Spyglass implements (docs/hubble-compatibility.md §2; `kafka` and `sctp` are not, so they are warned
/// about).
enum HandlerCatalog {
    static let all: [HandlerKind] = [
        HandlerKind(name: "dns", flags: ["query", "ignoreaaaa"], acceptsExemplars: false) { DNSHandler($0, $1) },
        HandlerKind(name: "drop", flags: [], acceptsExemplars: false) { DropHandler($0, $1) },
        HandlerKind(name: "flow", flags: [], acceptsExemplars: false) { FlowHandler($0, $1) },
        HandlerKind(name: "flows-to-world", flags: ["any-drop", "port", "syn-only"], acceptsExemplars: false) {
            FlowsToWorldHandler($0, $1)
        },
        HandlerKind(name: "http", flags: [], acceptsExemplars: true) { HTTPHandler($0, $1) },
        HandlerKind(name: "httpV2", flags: [], acceptsExemplars: true) { HTTPV2Handler($0, $1) },
        HandlerKind(name: "icmp", flags: [], acceptsExemplars: false) { ICMPHandler($0, $1) },
        HandlerKind(name: "policy", flags: [], acceptsExemplars: false) { PolicyHandler($0, $1) },
        HandlerKind(name: "port-distribution", flags: [], acceptsExemplars: false) { PortDistributionHandler($0, $1) },
        HandlerKind(name: "tcp", flags: [], acceptsExemplars: false) { TCPHandler($0, $1) }
    ]
    static let kinds: [String: HandlerKind] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}

/// Help strings (docs/hubble-compatibility.md §2.10), kept as Hubble has them, oddities included.
enum Help {
    static let dns = "Number of DNS queries observed"
    static let drop = "Number of drops"
    static let flow = "Total number of flows processed"
    static let flowsToWorld = "Total number of flows to reserved:world"
    static let httpRequests = "Count of HTTP requests"
    static let httpResponses = "Count of HTTP responses"
    static let httpDuration = "Quantiles of HTTP request duration in seconds"
    static let icmp = "Number of ICMP messages"
    static let policy = "Total number of Cilium network policy verdicts"
    static let portDistribution = "Numbers of packets distributed by destination port"
    static let tcp = "TCP flag occurrences"
}

extension MetricHandler {
    func describe(_ what: String, _ context: ContextOptions, _ extra: [String] = []) -> String {
        var opts = extra
        let c = context.summary
        if !c.isEmpty { opts.append(c) }
        let names = families.map(\.name).joined(separator: ", ")
        return "\(name): \(what) → \(names)" + (opts.isEmpty ? "" : " [\(opts.joined(separator: "; "))]")
    }
}
