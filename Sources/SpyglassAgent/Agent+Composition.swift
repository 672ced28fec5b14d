import Logging
import SpyglassDatapath
import SpyglassEndpoints
import SpyglassExport
import SpyglassFlow
import SpyglassMetrics
import SpyglassObserver
import SpyglassSupport

/// The parts `Agent.init` is built from, one stage each. Each throws a start-up error that names the flag or file.
extension Agent {
    /// The metrics engine from `--hubble-metrics`, or empty and filled by the dynamic metrics file (whose first read
    /// must succeed: a bad file stops start-up, naming file, metric and field).
    static func makeMetrics(_ config: AgentConfig, logger: Logger) throws -> (
        MetricsEngine, DynamicMetricsConfigWatcher?
    ) {
        try MetricsConfig.checkStaticAndDynamic(
            hubbleMetrics: config.hubbleMetrics, dynamicConfigPath: config.dynamicMetricsPath)
        let (metricsConfig, warnings) =
            config.dynamicMetricsPath != nil
            ? (MetricsConfig(handlers: []), [])
            : try MetricsConfig.parse(config.hubbleMetrics ?? MetricsConfig.defaultSpec)
        for w in warnings { logger.warning("\(w)") }
        var options = MetricsEngineOptions()
        options.defaultSeriesLimit = config.maxSeriesPerMetric
        options.idleSeriesTTL = config.seriesTTLNs > 0 ? .nanoseconds(Int64(clamping: config.seriesTTLNs)) : nil
        let metrics = MetricsEngine(config: metricsConfig, options: options)
        guard let path = config.dynamicMetricsPath else { return (metrics, nil) }
        let watcher = try DynamicMetricsConfigWatcher(path: path, engine: metrics) { level, message in
            switch level {
            case .info: logger.info("\(message)")
            case .warning: logger.warning("\(message)")
            case .error: logger.error("\(message)")
            }
        }
        _ = try watcher.loadInitial()
        return (metrics, watcher)
    }

    /// Every `--interface` given literally (not as a glob) must exist.
    static func checkInterfaceNames(_ config: AgentConfig) throws {
        let missing = NetworkInterfaces.missingLiterals(config.interfaces, in: NetworkInterfaces.list())
        if let first = missing.first { throw DatapathError.noSuchInterface(first) }
    }

    /// Flow logs (static and dynamic), nil when neither is configured. Bad settings stop start-up with the flag
    /// named (ExportConfigError's text).
    static func makeExporters(_ config: AgentConfig, logger: Logger) throws -> FlowExporters? {
        guard config.staticExport != nil || config.flowLogsConfigPath != nil else { return nil }
        return try FlowExporters(
            static: config.staticExport, dynamicConfigPath: config.flowLogsConfigPath, nodeName: config.nodeName,
            logger: logger, dynamicBaseDirectory: config.flowLogsBaseDirectory)
    }

    /// The consumer of the event queue: L7 on the datapath's DNS/HTTP ports, endpoints enrichment, and every flow
    /// offered to the flow logs and Hubble's API ring.
    static func makePipeline(
        _ config: AgentConfig, queue: EventQueue, metrics: MetricsEngine,
        dropReasons: @escaping EventDecoder.DropReasonResolver,
        endpoints: Endpoints, exporters: FlowExporters?, observerRing: EventRing?, nodeAddresses: NodeAddressSet,
        bodySkip: (any L7BodySkipWriter)? = nil
    ) -> FlowPipeline {
        var l7 = config.l7
        l7?.dnsPorts = Set(config.datapath.dnsPorts)
        l7?.httpPorts = Set(config.datapath.httpPorts)
        l7?.httpDetect = config.datapath.httpDetect
        if config.l7BodySkip { l7?.bodySkip = bodySkip.map(L7BodySkip.init) }
        return FlowPipeline(
            queue: queue, metrics: metrics, nodeName: config.hubbleNodeName, dropReasons: dropReasons, l7: l7,
            enrich: enricher(endpoints), export: exportSink(exporters, observerRing), nodeAddresses: nodeAddresses)
    }

    /// Hubble's Observer and Peer API over `ring`, nil when the API is off. Events a slow client missed count as
    /// lost (`hubble_ring_buffer`).
    static func makeHubbleServer(
        _ config: AgentConfig, ring: EventRing?, metrics: MetricsEngine, endpoints: Endpoints, logger: Logger
    ) -> HubbleServer? {
        guard let api = config.hubbleAPI, let ring else { return nil }
        metrics.addLost(source: LostEventSource.hubbleRingBuffer.metricLabel, count: 0)
        let node = ObserverNodeInfo(
            nodeName: config.hubbleNodeName, version: SpyglassExportInfo.version, peerAddress: api.peerAddress(),
            tlsEnabled: api.tls != nil,
            tlsServerName:
                "\(config.nodeName).\(config.clusterName.isEmpty ? "default" : config.clusterName).hubble-grpc.cilium.io"
        )
        let cluster = config.clusterName
        let port = HubbleServerConfig.splitHostPort(api.listenAddress)?.port
        return HubbleServer(
            config: api, ring: ring, node: node, logger: logger,
            peers: { Agent.hubblePeers(endpoints.kubernetesNodes, cluster: cluster, port: port, tls: api.tls != nil) }
        ) { missed in
            metrics.addLost(source: LostEventSource.hubbleRingBuffer.metricLabel, count: missed)
        }
    }

    /// The agent's own families: datapath, pipeline and L7 counters, flow logs, endpoints, the process, restored
    /// hooks and watched interfaces.
    func registerSelfMetrics() throws {
        try DatapathMetrics.register(on: metrics, programs: programs, drops: drops, queue: queue, pipeline: pipeline)
        try metrics.registerFamilies { [l7Skip] in l7Skip.selfMetrics() }
        if let exporters { try metrics.registerFamilies { exporters.selfMetrics() } }
        try metrics.registerFamilies { [endpoints] in endpoints.selfMetrics() }
        try ProcessMetrics.register(on: metrics, version: SpyglassExportInfo.version)
        try metrics.registerCollector(
            name: "spyglass_datapath_hooks_restored_total",
            help: "tc hooks attached again after something else removed them from a watched interface", type: .counter
        ) { [hooksRestored] in [MetricSample(value: Double(hooksRestored.withLock { $0 }))] }
        try metrics.registerCollector(
            name: "spyglass_datapath_interfaces",
            help: "Watched interfaces and their role (endpoint, device, overlay; README \"Interface roles\")",
            type: .gauge
        ) { [attacher] in
            attacher.attachedInterfaces.compactMap { iface in
                attacher.configuration(of: iface.index).map {
                    MetricSample(labels: ["interface": iface.name, "role": $0.role.rawValue], value: 1)
                }
            }
        }
    }

    /// A departed endpoint takes every series that names it with it, in any context (after the grace period).
    func removeSeriesOfDepartedEndpoints() {
        let engine = metrics, log = logger
        endpoints.onDeparture { gone in
            let removed = engine.removeSeries(
                matching: EndpointRef(
                    namespace: gone.namespace, podName: gone.podName, ips: gone.ips,
                    workloadName: gone.workloadGone ? gone.workloadName : nil))
            log.debug("endpoint \(gone.namespace)/\(gone.podName) departed: \(removed) series removed")
        }
    }

    private static func enricher(_ endpoints: Endpoints) -> FlowPipeline.Enricher {
        let resolver = endpoints.resolver
        return { flow in resolver.enrich(&flow) }
    }

    private static func exportSink(_ exporters: FlowExporters?, _ ring: EventRing?) -> FlowPipeline.Sink? {
        switch (exporters, ring) {
        case (nil, nil): return nil
        case (let exporters?, nil): return { flow in exporters.export(flow) }
        case (nil, let ring?): return { flow in ring.append(flow) }
        case (let exporters?, let ring?):
            return { flow in
                exporters.export(flow); ring.append(flow)
            }
        }
    }
}
