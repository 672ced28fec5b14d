import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Where a record came from. The order is the **precedence** for records of the *same* prefix (a longer prefix
/// always wins first, whatever its source):
///
/// 1. `host` — the node's own addresses (`reserved:host`). Nothing can be "behind" an address this kernel owns
///    but the host itself; this also makes hostNetwork pods show as the host, as in Cilium.
/// 2. `pods` — Kubernetes pods: live, authoritative, and pod IPs are reused quickly, so the API beats a file
///    that may be stale.
/// 3. `file` — the endpoints file: what Kubernetes does not know (VMs, databases, external networks), and
///    names for other nodes' addresses if the user wants them.
/// 4. `remoteNode` — Kubernetes node addresses (`reserved:remote-node`).
/// 5. `apiServer` — kube-apiserver backends (`reserved:kube-apiserver`). Where an apiserver address is also the
///    host's or a node's address, the winning record gets the `reserved:kube-apiserver` label added (identity 7
///    for a remote node, 1 stays for the host), as Cilium does.
/// 6. Kubernetes Services name frontends only (`source_service`/`destination_service`); a file entry's
///    `service` on the same address wins over them.
/// 7. Nothing matches: `reserved:world` (see `EndpointsConfig.splitWorldByFamily`).
public enum EndpointSourceRank: Int, Sendable, Comparable, CaseIterable {
    case host = 0, pods, file, remoteNode, apiServer
    /// Service frontends only (no endpoints); services of other sources rank with them.
    case services
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    var departureSource: String? {
        switch self {
        case .pods: "kubernetes"
        case .file: "file"
        default: nil
        }
    }
}

/// An endpoint that went away (and did not come back within the grace period), named in every way a metric
/// context could name it, so the metric store can drop its series.
public struct EndpointDeparture: Sendable, Hashable {
    public var namespace: String
    public var podName: String
    public var workloadName: String
    public var workloadKind: String
    /// Its single addresses (/32, /128) that no live endpoint holds now (a reused IP is left out).
    public var ips: [IPAddress]
    /// Its networks wider than one address (file entries).
    public var prefixes: [IPPrefix]
    /// Its identity labels as flows carried them.
    public var labels: [String]
    /// `kubernetes` or `file`.
    public var source: String
    /// No live endpoint belongs to this workload any more (set when the departure fires): series in `workload`
    /// contexts, shared by all of a workload's endpoints, may go too.
    public var workloadGone = false

    public init(
        namespace: String, podName: String, workloadName: String, workloadKind: String, ips: [IPAddress],
        prefixes: [IPPrefix] = [], labels: [String], source: String
    ) {
        self.namespace = namespace
        self.podName = podName
        self.workloadName = workloadName
        self.workloadKind = workloadKind
        self.ips = ips
        self.prefixes = prefixes
        self.labels = labels
        self.source = source
    }

    /// What identifies it across rebuilds: namespace/pod for pods, namespace/workload/kind for workload-only file
    /// entries, the networks for anonymous file entries.
    var key: String {
        if !podName.isEmpty { return "\(source)|\(namespace)/\(podName)" }
        if !workloadName.isEmpty { return "\(source)|\(namespace)/\(workloadKind)/\(workloadName)" }
        let nets = (ips.map { IPPrefix(host: $0) } + prefixes).sorted().map(\.description).joined(separator: ",")
        return "\(source)|\(namespace)|\(nets)"
    }
}

/// Combines the sources into resolver snapshots and turns disappearances into departures after the grace period.
final class EndpointStore: Sendable {
    typealias Provider = @Sendable () -> [EndpointInfo]

    let resolver: EndpointResolver
    private let world: WorldEndpoints
    private let grace: Duration
    private let coalesce: Duration

    private struct State {
        var providers: [EndpointSourceRank: Provider] = [:]
        var rebuildScheduled = false
        var generation: UInt64 = 0
        var handlers: [@Sendable (EndpointDeparture) -> Void] = []
        /// Live departure keys at the last rebuild, with what a departure would say.
        var live: [String: EndpointDeparture] = [:]
        var liveIPs: Set<IPAddress> = []
        var pending: [String: (departure: EndpointDeparture, due: ContinuousClock.Instant)] = [:]
        var fired: UInt64 = 0
        var cancelled: UInt64 = 0
        var rebuilds: UInt64 = 0
        var stopped = false
    }
    private let state = PThreadMutex(State())
    /// Serialises rebuilds and owns the identity allocator (only rebuilds touch it).
    private let builder = PThreadMutex(IdentityAllocator())

    init(world: WorldEndpoints, grace: Duration, coalesce: Duration) {
        self.world = world
        self.grace = grace
        self.coalesce = coalesce
        resolver = EndpointResolver(world: world)
    }

    func register(_ rank: EndpointSourceRank, provider: @escaping Provider) {
        state.withLock { $0.providers[rank] = provider }
        invalidate()
    }

    func unregister(_ rank: EndpointSourceRank) {
        state.withLock { $0.providers[rank] = nil }
        invalidate()
    }

    func onDeparture(_ handler: @escaping @Sendable (EndpointDeparture) -> Void) {
        state.withLock { $0.handlers.append(handler) }
    }

    /// A source changed: rebuild soon, coalescing bursts (a relist, a rollout) into one rebuild.
    func invalidate() {
        let schedule = state.withLock { s -> Bool in
            if s.rebuildScheduled || s.stopped { return false }
            s.rebuildScheduled = true
            return true
        }
        guard schedule else { return }
        let delay = coalesce
        Task.detached { [weak self] in
            if delay > .zero { try? await Task.sleep(for: delay) }
            self?.rebuildNow()
        }
    }

    func stop() {
        state.withLock {
            $0.stopped = true
            $0.pending.removeAll()
        }
    }

    /// Builds and installs a new snapshot from every source's current records.
    func rebuildNow() {
        builder.withLock { allocator in
            let providers = state.withLock { s -> [(EndpointSourceRank, Provider)] in
                s.rebuildScheduled = false
                return s.providers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            let records = providers.map { ($0.0, $0.1()) }
            let built = build(records, allocator: &allocator)
            let now = ContinuousClock.now
            state.withLock { s in
                s.generation += 1
                s.rebuilds += 1
                resolver.install(
                    ResolverSnapshot(
                        endpoints: built.endpoints, prefixes: built.prefixes, services: built.services,
                        worldV4: world.v4, worldV6: world.v6,
                        generation: s.generation))
                for (key, dep) in s.live where built.live[key] == nil && s.pending[key] == nil {
                    s.pending[key] = (dep, now + grace)
                }
                for key in built.live.keys where s.pending[key] != nil {
                    s.pending[key] = nil
                    s.cancelled += 1
                }
                s.live = built.live
                s.liveIPs = built.liveIPs
            }
        }
    }

    /// Calls the departure handlers for departures whose grace period is over. Returns how many fired.
    @discardableResult
    func fireDue(now: ContinuousClock.Instant = .now) -> Int {
        let (due, handlers) = state.withLock { s -> ([EndpointDeparture], [@Sendable (EndpointDeparture) -> Void]) in
            var out: [EndpointDeparture] = []
            for (key, p) in s.pending where p.due <= now {
                var d = p.departure
                d.ips = d.ips.filter { !s.liveIPs.contains($0) }
                d.workloadGone =
                    !d.workloadName.isEmpty
                    && !s.live.values.contains { $0.namespace == d.namespace && $0.workloadName == d.workloadName }
                out.append(d)
                s.pending[key] = nil
            }
            s.fired += UInt64(out.count)
            return (out, s.handlers)
        }
        for d in due.sorted(by: { $0.key < $1.key }) {
            for h in handlers { h(d) }
        }
        return due.count
    }

    var pendingDepartures: Int { state.withLock { $0.pending.count } }

    func metrics() -> [SelfMetricFamily] {
        let (fired, cancelled, pending, rebuilds) = state.withLock {
            ($0.fired, $0.cancelled, $0.pending.count, $0.rebuilds)
        }
        let counts = resolver.counts
        return [
            SelfMetricFamily(
                name: "spyglass_endpoints_prefixes", kind: .gauge,
                help: "Prefixes in the resolver's current snapshot, by table",
                samples: [
                    .init(labels: ["table": "endpoints"], value: Double(counts.endpoints)),
                    .init(labels: ["table": "services"], value: Double(counts.services))
                ]),
            SelfMetricFamily(
                name: "spyglass_endpoints_departures_total", kind: .counter,
                help: "Endpoint departures: fired after the grace period, or cancelled by re-appearance",
                samples: [
                    .init(labels: ["outcome": "fired"], value: Double(fired)),
                    .init(labels: ["outcome": "cancelled"], value: Double(cancelled))
                ]),
            SelfMetricFamily(
                name: "spyglass_endpoints_departures_pending", kind: .gauge,
                help: "Endpoint departures waiting for their grace period",
                samples: [.init(value: Double(pending))]),
            SelfMetricFamily(
                name: "spyglass_endpoints_rebuilds_total", kind: .counter, help: "Resolver snapshots built",
                samples: [.init(value: Double(rebuilds))])
        ]
    }

    // MARK: - Building

    private struct Built {
        var endpoints: [Endpoint] = []
        var prefixes: [(prefix: IPPrefix, value: Int32)] = []
        var services: [(prefix: IPPrefix, service: Service)] = []
        var live: [String: EndpointDeparture] = [:]
        var liveIPs: Set<IPAddress> = []
    }

    private func build(_ records: [(EndpointSourceRank, [EndpointInfo])], allocator: inout IdentityAllocator) -> Built {
        // Winner per prefix: the first (highest-precedence) record to claim it.
        var winner: [IPPrefix: (rank: EndpointSourceRank, info: Int, source: Int)] = [:]
        var serviceWinner: [IPPrefix: Service] = [:]
        var apiServerPrefixes: [IPPrefix] = []
        for (s, (rank, infos)) in records.enumerated() {
            for (i, info) in infos.enumerated() {
                for p in info.prefixes {
                    if rank == .apiServer { apiServerPrefixes.append(p) }
                    if winner[p] == nil && !info.isServiceOnly { winner[p] = (rank, i, s) }
                    if let svc = info.service, serviceWinner[p] == nil { serviceWinner[p] = svc }
                }
            }
        }
        // Final records: apiserver addresses that are the host's or a node's add the kube-apiserver label.
        var effective: [[EndpointInfo]] = records.map(\.1)
        var overrides: [IPPrefix: EndpointInfo] = [:]
        let apiLabel = ReservedIdentity.kubeAPIServer.label
        for p in apiServerPrefixes {
            guard let w = winner[p], w.rank == .host || w.rank == .remoteNode else { continue }
            var info = effective[w.source][w.info]
            if !info.labels.contains(apiLabel) { info.labels.append(apiLabel) }
            info.identity = nil
            overrides[p] = info
        }
        // Identities for every non-reserved label set in use.
        var labelsOf: [[[String]]] = []
        var needed = Set<String>()
        for infos in effective {
            labelsOf.append(
                infos.map { info in
                    let labels = info.canonicalLabels
                    if info.identity == nil && EndpointStore.reservedIdentity(labels) == nil {
                        needed.insert(IdentityAllocator.canonicalKey(labels))
                    }
                    return labels
                })
        }
        for info in overrides.values where EndpointStore.reservedIdentity(info.canonicalLabels) == nil {
            needed.insert(IdentityAllocator.canonicalKey(info.canonicalLabels))
        }
        let ids = allocator.assign(needed)

        func endpoint(_ info: EndpointInfo, _ labels: [String]) -> Endpoint {
            let identity =
                info.identity ?? EndpointStore.reservedIdentity(labels)?.rawValue
                ?? ids[IdentityAllocator.canonicalKey(labels)] ?? 0
            return Endpoint(
                id: info.endpointID, identity: identity, clusterName: info.clusterName, namespace: info.namespace,
                labels: labels, podName: info.podName, workloads: info.workloads)
        }

        var out = Built()
        var cache: [Int: Int32] = [:]  // (source, info) → index, so a record with many prefixes builds once
        out.prefixes.reserveCapacity(winner.count)
        for (p, w) in winner {
            if let o = overrides[p] {
                out.prefixes.append((p, Int32(out.endpoints.count)))
                out.endpoints.append(endpoint(o, o.canonicalLabels))
                continue
            }
            let cacheKey = w.source << 40 | w.info
            if let c = cache[cacheKey] {
                out.prefixes.append((p, c))
            } else {
                let i = Int32(out.endpoints.count)
                out.endpoints.append(endpoint(effective[w.source][w.info], labelsOf[w.source][w.info]))
                cache[cacheKey] = i
                out.prefixes.append((p, i))
            }
        }
        out.services = serviceWinner.map { ($0.key, $0.value) }
        effective = []

        // Live endpoints that metrics can name (pods, file entries).
        for (rank, infos) in records {
            guard let source = rank.departureSource else { continue }
            for info in infos where !info.isServiceOnly {
                let hosts = info.prefixes.filter(\.isHost).map(\.address)
                let nets = info.prefixes.filter { !$0.isHost }
                let d = EndpointDeparture(
                    namespace: info.namespace, podName: info.podName, workloadName: info.workloads.first?.name ?? "",
                    workloadKind: info.workloads.first?.kind ?? "", ips: hosts, prefixes: nets,
                    labels: info.canonicalLabels, source: source)
                out.live[d.key] = d
                for ip in hosts { out.liveIPs.insert(ip) }
            }
        }
        return out
    }

    /// The reserved identity a label set stands for: host before kube-apiserver before remote-node (Cilium's
    /// choice for addresses with several roles), then any other reserved label.
    static func reservedIdentity(_ labels: [String]) -> ReservedIdentity? {
        let reserved = labels.filter { $0.hasPrefix("reserved:") }
        if reserved.isEmpty { return nil }
        for r in [ReservedIdentity.host, .kubeAPIServer, .remoteNode] where reserved.contains(r.label) { return r }
        for l in reserved { if let r = ReservedIdentity(label: l) { return r } }
        return nil
    }
}
