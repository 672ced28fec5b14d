import Foundation
import Logging
import SpyglassDatapath
import SpyglassEndpoints
import SpyglassExport
import SpyglassFlow
import SpyglassMetrics
import SpyglassObserver
import SpyglassPipeline
import SpyglassServer
import SpyglassSupport
import Synchronization

/// The running agent: tc programs on the watched interfaces, the ring-buffer reader, the flow pipeline
/// (decode → metrics) on its own thread, and the metrics server.
///
/// Threads: `spyglass-ringbuf` (RingBufferReader) → EventQueue → `spyglass-flows` (FlowPipeline) → MetricsEngine;
/// `spyglass-housekeeping` rescans interfaces, polls datapath counters and accounts lost events; the metrics
/// server and the Hubble API run on SwiftNIO's threads.
public final class Agent: @unchecked Sendable {
    // @unchecked: mutable state is set in start() before any thread starts and cleared in stop() after they end.
    public let config: AgentConfig
    public let metrics: MetricsEngine
    let logger: Logger
    let programs: TCPrograms
    let drops: DropPrograms?
    let attacher: TCAttacher
    let queue: EventQueue
    let reader: RingBufferReader
    let pipeline: FlowPipeline
    /// HTTP body parts the L7 assembler tells the kernel to leave out.
    let l7Skip: L7SkipMap
    let exporters: FlowExporters?
    /// Recent flows and losses for Hubble's API (nil when the API is off) and its server.
    let observerRing: EventRing?
    let hubbleServer: HubbleServer?
    public let endpoints: Endpoints
    let dynamicMetrics: DynamicMetricsConfigWatcher?
    private var dynamicMetricsTask: Task<Void, Never>?
    var server: MetricsServer?
    private var housekeeping: Housekeeping?
    /// Between a successful `start()` and `stop()` (the probes answer 503 outside it).
    var isRunning: Bool { housekeeping != nil }
    public private(set) var serverPort: Int = 0
    /// Names of every interface attached so far: one of them that comes back (re-created) is attached again.
    private let watchedNames = PThreadMutex<Set<String>>([])
    /// Hooks put back after someone else removed them (`spyglass_datapath_hooks_restored_total`).
    let hooksRestored = PThreadMutex<UInt64>(0)
    /// Interfaces left to another running agent (logged once each).
    private let leftToAnotherAgent = PThreadMutex<Set<UInt32>>([])
    /// The node's addresses and default routes at the last scan (roles and `spy_host_addrs` follow them).
    private let network = PThreadMutex<NodeNetwork?>(nil)
    /// The same addresses for the L7 assembler (which role the node itself plays).
    private let nodeAddresses = NodeAddressSet()
    /// Every node address is in the kernel's map (else no receive-side point is suppressed: none may vanish).
    private let hostAddressesComplete = PThreadMutex<Bool>(true)

    /// Builds every stage, in dependency order (nothing runs until `start()`): metrics, the kernel side, flow logs
    /// and endpoints, the pipeline between them, Hubble's API, then the agent's own metrics.
    public init(config: AgentConfig, logger: Logger = Logger(label: "spyglass")) throws {
        self.config = config
        self.logger = logger
        (metrics, dynamicMetrics) = try Agent.makeMetrics(config, logger: logger)
        // Check names before touching the kernel, so a typo fails fast with the flag named.
        try Agent.checkInterfaceNames(config)

        programs = try TCPrograms(config: config.datapath, verboseLibbpf: config.verboseLibbpf)
        let reasons = KernelDropReasons.load()
        drops = config.dropsEnabled ? try DropPrograms(sharing: programs, config: config.drops, reasons: reasons) : nil
        attacher = TCAttacher(programs: programs)
        queue = EventQueue(capacity: config.eventQueueBatches)
        reader = try RingBufferReader(programs: programs, queue: queue)

        exporters = try Agent.makeExporters(config, logger: logger)
        endpoints = Endpoints(config: config.endpoints, logger: logger)
        observerRing = config.hubbleAPI.map { EventRing(capacity: $0.eventBufferCapacity) }
        l7Skip = L7SkipMap(programs: programs)
        pipeline = Agent.makePipeline(
            config, queue: queue, metrics: metrics, dropReasons: reasons.resolver(), endpoints: endpoints,
            exporters: exporters, observerRing: observerRing, nodeAddresses: nodeAddresses, bodySkip: l7Skip)
        LostEventAccounting.registerSeries(on: metrics)
        hubbleServer = Agent.makeHubbleServer(
            config, ring: observerRing, metrics: metrics, endpoints: endpoints, logger: logger)

        try registerSelfMetrics()
        removeSeriesOfDepartedEndpoints()
    }

    /// Attaches, starts the threads and the server. Throws (after undoing what it did) on any failure.
    public func start() async throws {
        let all = NetworkInterfaces.list()
        let stale = TCAttacher.removeStaleHooks(on: all)
        if !stale.isEmpty { logger.info("removed stale hooks of an earlier run: \(stale.joined(separator: ", "))") }
        do {
            try await endpoints.start()
            let roles = interfaceRoles(all)
            for iface in all {
                let role = roles[iface.index] ?? .other
                let watched =
                    config.interfaces.isEmpty
                    ? role.watchedByDefault : !NetworkInterfaces.select(config.interfaces, from: [iface]).isEmpty
                logger.info(
                    "interface \(iface.name) (ifindex \(iface.index), \(iface.driver.isEmpty ? "?" : iface.driver)): role \(role.rawValue)\(watched ? "" : ", not watched")"
                )
            }
            for iface in wantedInterfaces(all, roles) {
                do {
                    try attacher.attach(iface, role: roles[iface.index] ?? .other)
                } catch DatapathError.watchedByAnotherAgent(let name) where !config.interfaces.contains(name) {
                    // Matched by a glob or the default: leave it to the agent that has it. A name given literally
                    // stops start-up instead (the error says why).
                    noteLeftToAnotherAgent(iface)
                    continue
                }
                watchedNames.withLock { _ = $0.insert(iface.name) }
                logger.info(
                    "attached to \(iface.name) (ifindex \(iface.index), \(iface.driver.isEmpty ? "?" : iface.driver))")
            }
            updateSuppression(all, roles)
            pipeline.start()
            reader.start()
            let srv = try MetricsEndpoint.makeServer(config: config, engine: metrics, logger: logger, agent: self)
            server = srv
            serverPort = try await srv.start().port
            try await hubbleServer?.start()
            if let watcher = dynamicMetrics { dynamicMetricsTask = Task { await watcher.run() } }
            let hk = Housekeeping(agent: self)
            hk.start()
            housekeeping = hk
            logger.info(
                "serving metrics on \(config.metricsServer) (port \(serverPort)): \(metrics.enabledHandlers.joined(separator: " "))"
            )
        } catch {
            await stop()
            throw error
        }
    }

    /// Detaches every hook, drains the pipeline and stops the server. Idempotent.
    public func stop() async {
        dynamicMetricsTask?.cancel()
        dynamicMetricsTask = nil
        let hk = housekeeping
        hk?.stop()
        housekeeping = nil
        attacher.detachAll()
        reader.stop()
        queue.close()
        pipeline.stop()
        // Losses of the last moments (after the housekeeping thread ended, before the hooks were gone) are
        // counted too, and reach the flow log as a lost_events record before it is closed.
        hk?.accountLosses(self)
        // After the pipeline drained: flush the flow logs and close their files (bounded).
        if let exporters, !exporters.shutdown(timeout: .seconds(5)) {
            logger.warning("flow logs did not finish writing within 5 s")
        }
        if hk != nil { logger.info("\(shutdownSummary)") }
        await hubbleServer?.stop()
        await server?.shutdown()
        server = nil
        await endpoints.stop()
    }

    /// One line of final counts, logged on stop so a run's accounting survives the process: flows handed on,
    /// events lost and flow-log records written / not written.
    public var shutdownSummary: String {
        let s = programs.stats()
        var text =
            "stopped: flows l3_l4=\(pipeline.flowsProcessed) l7=\(pipeline.l7FlowsProcessed)"
            + " l7_only_events=\(pipeline.l7OnlyEventsProcessed)"
            + " lost ring_buffer=\(s.ringBufferFull + s.dropRingBufferFull) queue=\(queue.lost)"
            + " decode_errors=\(pipeline.decodeErrorCounts.values.reduce(0, +))"
        if let exporters {
            let families = exporters.selfMetrics()
            func total(_ name: String) -> UInt64 {
                UInt64(families.first { $0.name == name }?.samples.reduce(0) { $0 + $1.value } ?? 0)
            }
            text +=
                " flow_log written=\(total("spyglass_export_events_written_total")) dropped=\(total("spyglass_export_dropped_total"))"
        }
        return text
    }

    /// Attaches to interfaces that appeared since the last scan and forgets those that went away; follows role
    /// changes (an interface that gained a default route, a device that appeared).
    func rescanInterfaces() {
        let all = NetworkInterfaces.list()
        let present = Set(all.map(\.index))
        for gone in attacher.attachedInterfaces where !present.contains(gone.index) {
            attacher.forget(ifindex: gone.index)
            logger.info("interface \(gone.name) is gone")
        }
        let roles = interfaceRoles(all)
        for lost in attacher.interfacesWithLostHooks() {
            do {
                try attacher.attach(lost, role: roles[lost.index] ?? .other)
                hooksRestored.withLock { $0 += 1 }
                logger.warning("the hooks on \(lost.name) were removed by someone else: attached again")
            } catch {
                attacher.forget(ifindex: lost.index)  // e.g. another agent took it: the loop below decides anew
                logger.warning("the hooks on \(lost.name) were removed and cannot be restored: \(error)")
            }
        }
        let known = Set(attacher.attachedInterfaces.map(\.index))
        for iface in wantedInterfaces(all, roles) where !known.contains(iface.index) {
            do {
                let role = roles[iface.index] ?? .other
                try attacher.attach(iface, role: role)
                watchedNames.withLock { _ = $0.insert(iface.name) }
                logger.info("attached to new interface \(iface.name) (ifindex \(iface.index)): role \(role.rawValue)")
            } catch DatapathError.watchedByAnotherAgent {
                noteLeftToAnotherAgent(iface)
            } catch {
                logger.warning("cannot attach to \(iface.name): \(error)")
            }
        }
        updateSuppression(all, roles)
    }

    /// Roles of the interfaces, from a fresh rtnetlink read (the previous one when it fails); also keeps the
    /// kernel's copy of the node's addresses current.
    private func interfaceRoles(_ all: [InterfaceInfo]) -> [UInt32: InterfaceRole] {
        let previous = network.withLock { $0 }
        let now: NodeNetwork
        do {
            now = try NodeNetwork.read()
        } catch {
            if previous == nil { logger.warning("\(error): devices are only those named by --devices") }
            now = previous ?? NodeNetwork()
        }
        if now != previous {
            network.withLock { $0 = now }
            let failed = programs.setHostAddresses(now.hostAddresses)
            // Traffic to an address left out could be suppressed where it enters and then never seen again.
            if failed > 0 {
                logger.warning(
                    "\(failed) of the node's addresses do not fit the kernel's address map: receive-side points are not suppressed"
                )
            }
            hostAddressesComplete.withLock { $0 = failed == 0 }
            nodeAddresses.replace(
                with: Set(
                    now.addresses.compactMap { IPAddress(bytes: $0.isIPv4 ? Array($0.bytes.prefix(4)) : $0.bytes) }))
        }
        let devices = DevicePatterns(config.devices)
        return Dictionary(
            all.map { ($0.index, InterfaceRoles.role(of: $0, devices: devices, network: now)) },
            uniquingKeysWith: { a, _ in a })
    }

    /// Without `--interface`: every endpoint, device and tunnel, plus any interface watched before that came back
    /// (re-created with a new ifindex). With it: the interfaces it names.
    private func wantedInterfaces(_ all: [InterfaceInfo], _ roles: [UInt32: InterfaceRole]) -> [InterfaceInfo] {
        guard config.interfaces.isEmpty else { return NetworkInterfaces.select(config.interfaces, from: all) }
        let names = watchedNames.withLock { $0 }
        return all.filter { (roles[$0.index]?.watchedByDefault ?? false) || names.contains($0.name) }
    }

    /// Sets each watched interface's role and suppression flag from what is watched now (README "Monitor
    /// aggregation"): a receive-side point is dropped only where the sending-side point is watched.
    private func updateSuppression(_ all: [InterfaceInfo], _ roles: [UInt32: InterfaceRole]) {
        let attached = attacher.attachedInterfaces
        let watched = Set(attached.map(\.index))
        let allSending =
            all.allSatisfy { !(roles[$0.index]?.watchedByDefault ?? false) || watched.contains($0.index) }
            && hostAddressesComplete.withLock { $0 }
        let deviceWatched = attached.contains { roles[$0.index] == .device }
        let aggregating = config.datapath.aggregation != .none
        let tunnelPort =
            aggregating
            ? attached.lazy.filter { roles[$0.index] == .overlay }.compactMap {
                self.network.withLock { $0 }?.tunnelPorts[$0.index]
            }.first ?? 0
            : 0
        for iface in attached {
            let role = roles[iface.index] ?? .other
            let setting = InterfaceSetting(
                role: role,
                flags: InterfaceRoles.flags(
                    for: role, aggregation: config.datapath.aggregation,
                    allSendingPointsWatched: allSending, deviceWatched: deviceWatched),
                tunnelPort: role == .device ? tunnelPort : 0)
            guard let current = attacher.configuration(of: iface.index), current != setting else { continue }
            do {
                try attacher.configure(iface.index, setting)
                if current.role != role {
                    logger.info("interface \(iface.name): role \(current.role.rawValue) → \(role.rawValue)")
                }
            } catch {
                logger.warning("cannot configure \(iface.name): \(error)")
            }
        }
    }

    private func noteLeftToAnotherAgent(_ iface: InterfaceInfo) {
        if leftToAnotherAgent.withLock({ $0.insert(iface.index).inserted }) {
            logger.warning("\(iface.name) is watched by another running Spyglass agent: left to it")
        }
    }

    /// Every Kubernetes node as a Hubble peer on the API's TCP port (nil without Kubernetes or a TCP listener:
    /// the Peer service then names this node only).
    static func hubblePeers(_ nodes: [String: [IPAddress]]?, cluster: String, port: Int?, tls: Bool) -> [HubblePeer]? {
        guard let nodes, !nodes.isEmpty, let port else { return nil }
        return nodes.compactMap { name, ips in
            guard let ip = ips.first(where: { !$0.isIPv6 }) ?? ips.first else { return nil }
            return HubblePeer(
                name: cluster.isEmpty ? name : "\(cluster)/\(name)",
                address: ip.isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)",
                tlsServerName: tls ? "\(name).\(cluster.isEmpty ? "default" : cluster).hubble-grpc.cilium.io" : "")
        }
    }

    /// Current datapath counters.
    public var datapathStats: DatapathStats { programs.stats() }
    public var attachedInterfaces: [InterfaceInfo] { attacher.attachedInterfaces }
}

/// Periodic work off the hot path: interface rescans and loss accounting.
final class Housekeeping: @unchecked Sendable {
    // @unchecked: `losses` is only touched by the housekeeping thread (and by `stop()` after it ended).
    private weak var agent: Agent?
    private let running = NSCondition()
    private var stopped = false
    private var finished = false
    private var losses = LostEventAccounting()

    init(agent: Agent) { self.agent = agent }

    func start() {
        let t = Thread { [self] in
            while true {
                running.lock()
                if !stopped {
                    _ = running.wait(
                        until: Date().addingTimeInterval(Double(agent?.config.interfaceRescanMs ?? 1000) / 1000))
                }
                let stop = stopped
                running.unlock()
                guard let agent, !stop else { break }
                agent.rescanInterfaces()
                accountLosses(agent)
            }
            running.lock()
            finished = true
            running.broadcast()
            running.unlock()
        }
        t.name = "spyglass-housekeeping"
        t.start()
    }

    func accountLosses(_ agent: Agent) {
        let stats = agent.programs.stats()
        func report(_ source: EventLossSource, _ count: UInt64) {
            agent.exporters?.exportLost(source: source.hubble, count: count, cpu: nil)
            agent.observerRing?.appendLost(source: source.hubble, count: count, time: .now)
        }
        losses.account(
            .ringBuffer, total: stats.ringBufferFull + stats.dropRingBufferFull, metrics: agent.metrics, report: report)
        losses.account(.eventsQueue, total: agent.queue.lost, metrics: agent.metrics, report: report)
    }

    func stop() {
        running.lock()
        stopped = true
        running.broadcast()
        while !finished { running.wait() }
        running.unlock()
        if let agent { accountLosses(agent) }
    }
}
