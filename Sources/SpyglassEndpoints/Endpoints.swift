import Foundation
import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Configuration of the endpoint sources.
public struct EndpointsConfig: Sendable {
    public enum Kubernetes: Sendable, Equatable {
        /// No Kubernetes (`--k8s-kubeconfig-path` unset and not in a cluster).
        case none
        /// The pod's service account (`KUBERNETES_SERVICE_HOST/PORT`, `/var/run/secrets/kubernetes.io/serviceaccount`).
        case inCluster
        /// `--k8s-kubeconfig-path` (current context unless one is named).
        case kubeconfig(path: String, context: String? = nil)
        /// Explicit credentials (tests, tools).
        case credentials(KubeCredentials)
        /// In-cluster when `KUBERNETES_SERVICE_HOST` is set, else none.
        case automatic
    }

    public var kubernetes: Kubernetes = .none
    /// `--endpoints-file`; nil = none.
    public var endpointsFile: String? = nil
    /// How often the endpoints file is checked for changes (by content hash).
    public var fileCheckInterval: Duration = .seconds(2)
    /// The node's own addresses as `reserved:host`.
    public var nodeAddresses = true
    public var nodeAddressInterval: Duration = .seconds(10)
    /// Replaces getifaddrs (tests, tools).
    public var nodeAddressProvider: (@Sendable () throws -> [IPAddress])? = nil
    /// `--endpoint-departure-grace`: how long a vanished endpoint waits before its departure is announced
    /// (Hubble: 1 minute).
    public var departureGrace: Duration = .seconds(60)
    /// `cluster_name` of endpoints and the `k8s:io.cilium.k8s.policy.cluster` label; Cilium's default is `default`.
    public var clusterName = "default"
    /// `reserved:world-ipv4`/`-ipv6` (9/10) instead of `reserved:world` (2) for unknown addresses.
    public var splitWorldByFamily = false
    public var kubeLimits = KubeLimits()
    /// Source changes within this window are folded into one resolver rebuild.
    public var rebuildCoalesce: Duration = .milliseconds(50)

    public init() {}
}

/// Who is behind an IP: the agent's entry point to the endpoint sources and the resolver.
public final class Endpoints: Sendable {
    public let config: EndpointsConfig
    private let logger: Logger
    private let store: EndpointStore
    private let fileSource: EndpointsFileSource?
    private let nodeSource: NodeAddressSource?
    private struct Running {
        var tasks: [Task<Void, Never>] = []
        var kube: KubernetesSource?
        var client: KubeClient?
        var started = false
    }
    private let running = PThreadMutex(Running())

    public init(config: EndpointsConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        let store = EndpointStore(
            world: WorldEndpoints(splitByFamily: config.splitWorldByFamily), grace: config.departureGrace,
            coalesce: config.rebuildCoalesce)
        self.store = store
        fileSource = config.endpointsFile.map {
            EndpointsFileSource(
                path: $0, interval: config.fileCheckInterval, clusterName: config.clusterName, store: store,
                logger: logger)
        }
        nodeSource =
            config.nodeAddresses
            ? NodeAddressSource(clusterName: config.clusterName, store: store, provider: config.nodeAddressProvider)
            : nil
    }

    public var resolver: EndpointResolver { store.resolver }

    /// Called (on a background task) for every endpoint that went away and stayed away for the grace period.
    public func onDeparture(_ handler: @escaping @Sendable (EndpointDeparture) -> Void) {
        store.onDeparture(handler)
    }

    /// Loads the endpoints file and the node's addresses, connects the Kubernetes source, and starts watching.
    /// Throws for what the user must fix: an unreadable or invalid endpoints file at start, unusable Kubernetes
    /// credentials. It does not wait for Kubernetes to sync (see `waitUntilSynced`); an unreachable API server is
    /// retried with backoff and shows in `spyglass_endpoints_source_synced`.
    public func start() async throws {
        guard
            running.withLock({ r -> Bool in
                defer { r.started = true }
                return !r.started
            })
        else { return }

        if let fileSource {
            if let error = fileSource.reload() { throw error }
            store.register(.file) { fileSource.infos }
        }
        if let nodeSource {
            nodeSource.refresh()
            store.register(.host) { nodeSource.infos }
        }
        var credentials: KubeCredentials?
        switch config.kubernetes {
        case .none: credentials = nil
        case .inCluster: credentials = try KubeCredentials.inCluster()
        case .automatic:
            do {
                credentials = try KubeCredentials.inCluster()
            } catch {
                // Outside a cluster this is expected; inside one (the service variables are set) it is not.
                if ProcessInfo.processInfo.environment["KUBERNETES_SERVICE_HOST"] != nil {
                    logger.warning("Kubernetes endpoint source not started", metadata: ["error": "\(error)"])
                }
                credentials = nil
            }
        case .kubeconfig(let path, let context):
            credentials = try KubeCredentials.kubeconfig(path: path, context: context)
        case .credentials(let c): credentials = c
        }
        var kube: KubernetesSource?
        var client: KubeClient?
        if let credentials {
            for w in credentials.securityWarnings { logger.warning("Kubernetes: \(w)") }
            let c = try KubeClient(credentials: credentials, limits: config.kubeLimits)
            let k = KubernetesSource(client: c, store: store, clusterName: config.clusterName, logger: logger)
            store.register(.pods) { k.podInfos }
            store.register(.remoteNode) { k.nodeInfos }
            store.register(.apiServer) { k.apiServerInfos }
            // Services only name frontends; they take part at the lowest precedence.
            store.register(.services) { k.serviceInfos }
            kube = k
            client = c
            logger.info("Kubernetes endpoint source", metadata: ["server": "\(credentials.server)"])
        }
        store.rebuildNow()

        var tasks: [Task<Void, Never>] = []
        if let fileSource {
            tasks.append(Task.detached { await fileSource.run() })
        }
        if let nodeSource {
            let interval = config.nodeAddressInterval
            tasks.append(Task.detached { await nodeSource.run(interval: interval) })
        }
        if let kube { tasks.append(Task.detached { await kube.run() }) }
        let store = self.store
        let tick = min(Duration.seconds(1), max(.milliseconds(5), config.departureGrace / 4))
        tasks.append(
            Task.detached {
                while !Task.isCancelled {
                    try? await Task.sleep(for: tick)
                    store.fireDue()
                }
            })
        running.withLock {
            $0.tasks = tasks
            $0.kube = kube
            $0.client = client
        }
    }

    /// The cluster's nodes and their addresses as the Kubernetes source sees them; nil without that source.
    public var kubernetesNodes: [String: [IPAddress]]? {
        running.withLock { $0.kube }?.nodeAddresses
    }

    /// Stops every source. Pending departures are dropped (the process is going away with its metrics).
    public func stop() async {
        let r = running.withLock { r -> Running in
            defer {
                r.tasks = []
                r.client = nil
                r.kube = nil
            }
            return r
        }
        for t in r.tasks { t.cancel() }
        for t in r.tasks { await t.value }
        await r.client?.shutdown()
        store.stop()
    }

    /// Waits until every configured source reports synced, or the timeout passes. Returns whether all synced.
    public func waitUntilSynced(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if statuses.allSatisfy(\.synced) {
                store.rebuildNow()
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    private var statuses: [SourceStatus] {
        var out: [SourceStatus] = []
        if let k = running.withLock({ $0.kube }) { out.append(k.status) }
        if let f = fileSource { out.append(f.status) }
        if let n = nodeSource { out.append(n.status) }
        return out
    }

    /// The sources' own metrics (`spyglass_endpoints_*`), for the agent to expose.
    public func selfMetrics() -> [SelfMetricFamily] {
        metricFamilies(for: statuses, store: store.metrics())
    }

    /// The last endpoints-file problem, if the current file is bad (the last good entries are in use).
    public var endpointsFileError: EndpointsFileError? { fileSource?.lastError }

    /// Re-reads the endpoints file now (SIGHUP) instead of at the next poll; its error if the file is bad (the last
    /// good entries stay in use), nil when it is fine or there is no file.
    public func reloadFile() -> EndpointsFileError? { fileSource?.reload() }

    /// Sources that have not synced yet (`/readyz`), by their metric name.
    public var unsyncedSources: [String] { statuses.filter { !$0.synced }.map(\.name) }

    /// Rebuilds the resolver now instead of after the coalescing window (tests, tools).
    public func rebuildNow() { store.rebuildNow() }

    /// Announces the departures due at `instant` (tests, tools); returns how many.
    @discardableResult
    public func fireDueDepartures(at instant: ContinuousClock.Instant = .now) -> Int { store.fireDue(now: instant) }
}
