import SpyglassFlow
import SpyglassSupport
import Synchronization

/// The metric engine: Hubble-compatible flow metrics, served as Prometheus text or OpenMetrics.
///
/// Public API (everything else in this module is internal):
/// ```swift
/// let (config, warnings) = try MetricsConfig.parse(flag ?? MetricsConfig.defaultSpec)   // MetricsConfigError
/// let engine = MetricsEngine(config: config, options: MetricsEngineOptions())
/// engine.process(flow)                                   // consumer thread, once per decoded flow
/// let format = negotiateExposition(accept: request.accept, openMetricsEnabled: enableOpenMetrics)
/// let body: [UInt8] = engine.render(format)              // any thread; Content-Type: format.contentType
/// engine.recordScrape(code: 200, seconds: elapsed)       // after writing the response
/// engine.addLost(source: "perf_event_ring_buffer", count: n)
/// try engine.registerCollector(name: "spyglass_datapath_events_total", help: "...", type: .counter) { [...] }
/// engine.removeSeries(matching: EndpointRef(namespace: "default", podName: "web-1", ips: [ip]))
/// engine.sweepIdleSeries()                               // also done by render when idleSeriesTTL is set
/// engine.enabledHandlers                                 // ["dns", "drop", ...] in configuration order
/// engine.handlerStatus                                   // one descriptive line per handler
/// try engine.apply(newConfig)                            // replace handlers at run time (MetricsConfigError)
///
/// // Dynamic configuration (--hubble-dynamic-metrics-config-path), instead of a static --hubble-metrics:
/// try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: flag, dynamicConfigPath: path)
/// let engine = MetricsEngine(config: MetricsConfig(handlers: []))
/// let watcher = try DynamicMetricsConfigWatcher(path: path, engine: engine) { level, message in log(...) }
/// try watcher.loadInitial()                              // DynamicMetricsConfigError: file, metric, field
/// Task { await watcher.run() }                           // polls every 5 s; reloads on content change
/// ```
///
/// Thread-safety: the handlers in effect form an immutable `HandlerSet`, swapped atomically by `apply` (a
/// `Mutex`-guarded reference: `process` and `render` take one reference per call and work on that set). Every metric
/// family keeps its series behind its own `Mutex`, held for one update (hot path, a few hundred nanoseconds) or for
/// rendering that one family. `process` runs on one consumer thread, `render` on HTTP server threads, `addLost` on
/// the datapath's thread; they only meet on a family's mutex. Collectors are a `Mutex`-protected list whose closures
/// run during render.
///
/// Reconfiguration: `apply` keeps every handler whose labels and options are unchanged (its series survive; its
/// include/exclude filters may change); removed or relabelled handlers leave the exposition with their series.
/// A handler's include/exclude FlowFilters are evaluated (`FlowFilterSet`) before the handler runs.
///
/// Hot path: a handler writes label values as bytes into a per-family scratch buffer; a 64-bit hash of the bytes
/// finds the series and a byte comparison confirms it, so an update to an existing series allocates nothing.
/// Label pair text (sorted, escaped) is rendered once, when the series is created.
public final class MetricsEngine: Sendable {
    public let options: MetricsEngineOptions
    /// The handlers in effect; replaced as a whole by `apply(_:)`.
    let slot: HandlerSetSlot
    /// Serialises `apply(_:)` calls (building a set compiles the filters, outside the slot's lock).
    private let applyLock = PThreadMutex<Void>(())
    let lostEvents: MetricFamily
    let scrapeRequests: MetricFamily
    let scrapeDuration: MetricFamily
    private let collectors: PThreadMutex<[Collector]>
    private let lastRenderSize = Atomic<Int>(4096)
    /// Labels-context values formatted for the flow in `process` (uncontended: one consumer thread).
    private let contextCache = PThreadMutex(LabelsContextCache())

    /// - Precondition: every handler's filters compile (`FlowFilterSet`). Configurations from
    ///   `MetricsConfig.parse` have no filters; for configurations that may (dynamic files) use `apply(_:)`, which
    ///   throws instead.
    public init(config: MetricsConfig, options: MetricsEngineOptions = MetricsEngineOptions()) {
        self.options = options
        let set: HandlerSet
        do {
            set = try HandlerSet.build(config, reusing: .empty, factory: FamilyFactory(options: options))
        } catch {
            preconditionFailure("MetricsEngine(config:): \(error)")
        }
        slot = HandlerSetSlot(set)
        lostEvents = MetricFamily(
            name: "hubble_lost_events_total", help: "Number of lost events", type: .counter, labelNames: ["source"])
        scrapeRequests = MetricFamily(
            name: "hubble_metrics_http_handler_requests_total",
            help: "A counter for requests to the wrapped handler.", type: .counter, labelNames: ["code"])
        scrapeDuration = MetricFamily(
            name: "hubble_metrics_http_handler_request_duration_seconds",
            help: "A histogram of latencies for Hubble metrics handler.", type: .histogram, labelNames: ["code"],
            buckets: options.buckets(for: "hubble_metrics_http_handler_request_duration_seconds"))
        var initial: [Collector] = []
        if options.selfMetrics {
            // Read the current set at each render; families without series are omitted, so an engine without
            // handlers shows neither.
            let slot = self.slot
            initial.append(
                Collector(
                    name: "spyglass_metrics_series", help: "Live series per Hubble metric family", type: .gauge
                ) {
                    slot.load().families.map { MetricSample(labels: ["metric": $0.name], value: Double($0.liveSeries)) }
                })
            initial.append(
                Collector(
                    name: "spyglass_metrics_series_refused_total",
                    help: "Label sets not created because the metric family reached its series limit", type: .counter
                ) {
                    slot.load().families.map {
                        MetricSample(labels: ["metric": $0.name], value: Double($0.refusedSeries))
                    }
                })
        }
        collectors = PThreadMutex(initial)
    }

    /// The configuration in effect.
    public var config: MetricsConfig { slot.load().config }

    /// Handler names in configuration order.
    public var enabledHandlers: [String] { slot.load().handlers.map(\.name) }

    /// One status line per handler: what it counts, its families and options.
    public var handlerStatus: [String] {
        slot.load().entries.map { e in
            let (i, x) = (e.config.includeFilters.count, e.config.excludeFilters.count)
            return i + x == 0 ? e.handler.status : e.handler.status + " {filters: \(i) include, \(x) exclude}"
        }
    }

    var handlers: [any MetricHandler] { slot.load().handlers }
    var handlerFamilies: [MetricFamily] { slot.load().families }

    // MARK: Reconfiguration

    /// Replaces the handler configuration while `process` and `render` keep running on other threads.
    ///
    /// Handlers whose label set and options are unchanged (`HandlerConfig.hasSameLabels`) keep their families and
    /// series; only their filters are replaced. Handlers that are gone, or whose labels changed, leave the
    /// exposition with all their series (a relabelled handler starts again with new, empty families). Unlike Hubble,
    /// label-set changes need no restart. The swap is atomic: a render sees the old set or the new one, never a mix;
    /// a flow being processed during the swap may still be counted by the old set.
    ///
    /// Throws (and changes nothing) on a duplicate name, the http/httpV2 conflict, or filters that do not compile,
    /// or when a new family name is taken by a registered collector.
    @discardableResult
    public func apply(_ newConfig: MetricsConfig) throws(MetricsConfigError) -> MetricsReconfiguration {
        try applyLock.withLock { _ throws(MetricsConfigError) -> MetricsReconfiguration in
            let old = slot.load()
            let set = try HandlerSet.build(newConfig, reusing: old, factory: FamilyFactory(options: options))
            let collectorNames = Set(collectors.withLock { $0.map(\.name) })
            for e in set.entries {
                if let clash = e.handler.families.first(where: { collectorNames.contains($0.name) }) {
                    throw MetricsConfigError.familyNameTaken(metric: e.config.name, family: clash.name)
                }
            }
            slot.store(set)
            return MetricsReconfiguration.between(old.config, newConfig)
        }
    }

    // MARK: Flows

    /// Counts one flow in every enabled handler whose filters it passes. Call from one consumer thread.
    public func process(_ flow: Flow) {
        let set = slot.load()
        let now = options.monotonicClock()
        contextCache.withLock { cache in
            cache.reset()
            let env = ProcessEnv(now: now, contextCache: cache)
            for e in set.entries {
                if let p = e.predicate, !p(flow) { continue }
                e.handler.process(flow, env)
            }
        }
    }

    // MARK: Internal metrics

    /// `hubble_lost_events_total{source}` (e.g. `perf_event_ring_buffer`, `observer_events_queue`).
    public func addLost(source: String, count: UInt64) {
        lostEvents.add(Double(count), labels: ["source": source], now: options.monotonicClock())
    }

    /// One scrape of /metrics: `hubble_metrics_http_handler_requests_total{code}` and
    /// `hubble_metrics_http_handler_request_duration_seconds{code}`.
    public func recordScrape(code: Int, seconds: Double) {
        let now = options.monotonicClock()
        let labels = ["code": String(code)]
        scrapeRequests.add(1, labels: labels, now: now)
        scrapeDuration.observe(seconds, labels: labels, now: now)
    }

    /// Exposes a counter or gauge family whose samples `collect` returns at each render (e.g. the datapath's
    /// `spyglass_datapath_*` statistics). Counter names should end in `_total`. A family with no samples is omitted.
    public func registerCollector(
        name: String, help: String, type: MetricType, collect: @escaping @Sendable () -> [MetricSample]
    ) throws {
        guard type != .histogram else { throw MetricsRegistrationError.unsupportedType(name: name, type: type) }
        guard MetricsEngine.isValidMetricName(name) else { throw MetricsRegistrationError.invalidName(name) }
        let taken = Set(allFamilies.map(\.name))
        try collectors.withLock { list in
            guard !taken.contains(name), !list.contains(where: { $0.name == name }) else {
                throw MetricsRegistrationError.duplicateName(name)
            }
            list.append(Collector(name: name, help: help, type: type, collect: collect))
        }
    }

    /// Exposes the families another stage reports about itself (`read` returns all of them, and is called once now
    /// to learn their names and then at every render). Throws as `registerCollector` does.
    public func registerFamilies(_ read: @escaping @Sendable () -> [SelfMetricFamily]) throws {
        for family in read() {
            let name = family.name
            try registerCollector(name: name, help: family.help, type: family.kind == .counter ? .counter : .gauge) {
                read().first { $0.name == name }?.samples ?? []
            }
        }
    }

    static func isValidMetricName(_ n: String) -> Bool {
        guard let first = n.unicodeScalars.first else { return false }
        func ok(_ c: Unicode.Scalar, _ digit: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (digit && c >= "0" && c <= "9")
        }
        return ok(first, false) && n.unicodeScalars.allSatisfy { ok($0, true) }
    }

    var allFamilies: [MetricFamily] { allFamilies(slot.load()) }

    private func allFamilies(_ set: HandlerSet) -> [MetricFamily] {
        set.families + [lostEvents, scrapeRequests, scrapeDuration]
    }

    // MARK: Cardinality

    /// Removes, from every family, every series whose context labels reference `endpoint`. Returns how many.
    @discardableResult
    public func removeSeries(matching endpoint: EndpointRef) -> Int {
        handlerFamilies.reduce(0) { $0 + $1.removeSeries(matching: endpoint) }
    }

    /// Removes handler series idle for longer than `idleSeriesTTL` (no-op without a TTL). Returns how many.
    @discardableResult
    public func sweepIdleSeries() -> Int {
        guard let ttl = options.idleSeriesTTL else { return 0 }
        let c = ttl.components
        let ttlNanos = c.seconds &* 1_000_000_000 &+ c.attoseconds / 1_000_000_000
        let cutoff = options.monotonicClock() &- ttlNanos
        return handlerFamilies.reduce(0) { $0 + $1.expire(notUpdatedSince: cutoff) }
    }

    // MARK: Exposition

    /// The whole registry in `format`, families sorted by name; families without series are omitted.
    public func render(_ format: ExpositionFormat) -> [UInt8] {
        sweepIdleSeries()
        enum Item {
            case family(MetricFamily)
            case collector(Collector)
        }
        var items: [(name: String, item: Item)] = allFamilies(slot.load()).map { ($0.name, .family($0)) }
        items += collectors.withLock { $0 }.map { ($0.name, .collector($0)) }
        items.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(lastRenderSize.load(ordering: .relaxed) + 1024)
        for (_, item) in items {
            switch item {
            case .family(let f): f.render(format, into: &out)
            case .collector(let c): c.render(format, into: &out)
            }
        }
        if format == .openMetrics { out.append(contentsOf: "# EOF\n".utf8) }
        lastRenderSize.store(out.count, ordering: .relaxed)
        return out
    }
}
