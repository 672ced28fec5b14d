import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Pods, ReplicaSets, Jobs, Services, Nodes and the kube-apiserver's EndpointSlices, cluster-wide, kept current
/// by one `Reflector` each, turned into endpoint records:
///
/// * pods (not hostNetwork, not Succeeded/Failed, with IPs) → `EndpointInfo` with identity labels and workload;
/// * services → frontends (ClusterIPs, external and load-balancer IPs) for `source_service`/`destination_service`;
/// * nodes → `reserved:remote-node` (InternalIP, ExternalIP);
/// * EndpointSlices of `default/kubernetes` → `reserved:kube-apiserver`.
///
/// **Workloads** follow owner references: a ReplicaSet is replaced by its controlling owner (a Deployment) by
/// looking the ReplicaSet up; a ReplicaSet not (yet) known falls back to stripping `-<pod-template-hash>` from its
/// name when the pod's `pod-template-hash` label matches (kind Deployment), else stays a ReplicaSet. A Job is
/// replaced by its CronJob the same way (no string fallback: Job names are not reliably derived). StatefulSet,
/// DaemonSet and any other controller are taken as they are. A pod without owners has no workload.
final class KubernetesSource: Sendable {
    static let kinds = ["pods", "replicasets", "jobs", "services", "nodes", "endpointslices"]

    let status: SourceStatus
    private let client: KubeClient
    private let store: EndpointStore
    private let clusterName: String
    private let logger: Logger
    private let cap: Int

    struct PodRecord: Sendable {
        var namespace: String
        var name: String
        var uid: String
        var ips: [IPAddress]
        var labels: [String: String]
        var owner: OwnerReference?
        var serviceAccount: String?
        var active: Bool
        var info: EndpointInfo?
    }

    private struct State {
        var pods: [String: PodRecord] = [:]
        /// ns/name of a ReplicaSet or Job → its controlling owner (nil: none).
        var replicaSets: [String: OwnerReference?] = [:]
        var jobs: [String: OwnerReference?] = [:]
        var services: [String: (Service, [IPAddress])] = [:]
        var nodes: [String: [IPAddress]] = [:]
        var apiServer: [String: [IPAddress]] = [:]
        var synced: [String: Bool] = [:]
    }
    private let state = PThreadMutex(State())

    init(client: KubeClient, store: EndpointStore, clusterName: String, logger: Logger) {
        self.client = client
        self.store = store
        self.clusterName = clusterName
        self.logger = logger
        cap = client.limits.maxObjectsPerKind
        status = SourceStatus(
            name: "kubernetes", kinds: KubernetesSource.kinds,
            reasons: ["connect", "unauthorized", "http_status", "gone", "decode", "too_large", "cap"])
    }

    // MARK: Providers for the store

    var podInfos: [EndpointInfo] { state.withLock { $0.pods.values.compactMap(\.info) } }

    var serviceInfos: [EndpointInfo] {
        state.withLock { s in
            s.services.values.filter { !$0.1.isEmpty }.map {
                EndpointInfo(prefixes: $0.1.map { IPPrefix(host: $0) }, service: $0.0)
            }
        }
    }

    var nodeInfos: [EndpointInfo] {
        let ips = state.withLock { s in s.nodes.values.flatMap { $0 } }
        if ips.isEmpty { return [] }
        return [
            EndpointInfo(
                prefixes: ips.map { IPPrefix(host: $0) }, labels: [ReservedIdentity.remoteNode.label],
                clusterName: clusterName,
                identity: ReservedIdentity.remoteNode.rawValue)
        ]
    }

    /// Node name → its InternalIP/ExternalIP addresses (Hubble's Peer service announces every node).
    var nodeAddresses: [String: [IPAddress]] { state.withLock { $0.nodes } }

    var apiServerInfos: [EndpointInfo] {
        let ips = state.withLock { s in s.apiServer.values.flatMap { $0 } }
        if ips.isEmpty { return [] }
        return [
            EndpointInfo(
                prefixes: ips.map { IPPrefix(host: $0) }, labels: [ReservedIdentity.kubeAPIServer.label],
                clusterName: clusterName, identity: ReservedIdentity.kubeAPIServer.rawValue)
        ]
    }

    // MARK: Running

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for r in reflectors() { group.addTask { await r.run() } }
        }
    }

    /// One reflector per kind, in `kinds` order.
    func reflectors() -> [any AnyReflector] {
        [
            reflector(KubeResource(kind: "pods", path: "/api/v1/pods"), KubePod.self, replacePods, applyPod),
            reflector(
                KubeResource(kind: "replicasets", path: "/apis/apps/v1/replicasets", metadataOnly: true),
                KubeMetadataOnly.self,
                { self.replaceOwners(\.replicaSets, "replicasets", ownerKind: "ReplicaSet", $0) },
                { self.applyOwner(\.replicaSets, "replicasets", ownerKind: "ReplicaSet", $0, $1) }),
            reflector(
                KubeResource(kind: "jobs", path: "/apis/batch/v1/jobs", metadataOnly: true),
                KubeMetadataOnly.self, { self.replaceOwners(\.jobs, "jobs", ownerKind: "Job", $0) },
                { self.applyOwner(\.jobs, "jobs", ownerKind: "Job", $0, $1) }),
            reflector(
                KubeResource(kind: "services", path: "/api/v1/services"), KubeService.self, replaceServices,
                applyService),
            reflector(KubeResource(kind: "nodes", path: "/api/v1/nodes"), KubeNode.self, replaceNodes, applyNode),
            reflector(
                KubeResource(
                    kind: "endpointslices", path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                    query: [("labelSelector", "kubernetes.io/service-name=kubernetes")]),
                KubeEndpointSlice.self, replaceAPIServer, applyAPIServer)
        ]
    }

    private func reflector<T: KubeObject>(
        _ resource: KubeResource, _ type: T.Type, _ replace: @escaping @Sendable ([T]) -> Void,
        _ apply: @escaping @Sendable (WatchEventType, T) -> Void
    ) -> Reflector<T> {
        Reflector(
            resource: resource, client: client, status: status, logger: logger, replace: replace, apply: apply,
            setSynced: { self.setSynced(resource.kind, $0) })
    }

    private func setSynced(_ kind: String, _ v: Bool) {
        let all = state.withLock { s -> Bool in
            s.synced[kind] = v
            return KubernetesSource.kinds.allSatisfy { s.synced[$0] == true }
        }
        status.setSynced(all)
    }

    // MARK: Pods

    private func record(_ p: KubePod) -> PodRecord {
        let phase = p.status?.phase ?? ""
        let ips = p.ips.compactMap { IPAddress($0) }
        return PodRecord(
            namespace: p.metadata.namespace ?? "", name: p.metadata.name ?? "", uid: p.metadata.uid ?? "", ips: ips,
            labels: p.metadata.labels ?? [:], owner: p.metadata.controller,
            serviceAccount: p.spec?.serviceAccountName ?? p.spec?.serviceAccount,
            active: p.spec?.hostNetwork != true && phase != "Succeeded" && phase != "Failed" && !ips.isEmpty)
    }

    private func replacePods(_ items: [KubePod]) {
        let dropped = state.withLock { s -> Int in
            var pods: [String: PodRecord] = [:]
            var dropped = 0
            for p in items {
                if pods.count >= cap { dropped += 1; continue }
                var r = record(p)
                r.info = derive(r, s)
                pods[p.metadata.key] = r
            }
            s.pods = pods
            return dropped
        }
        if dropped > 0 { capped("pods", dropped) }
        status.setObjects("pods", state.withLock { $0.pods.count })
        store.invalidate()
    }

    private func applyPod(_ type: WatchEventType, _ p: KubePod) {
        let key = p.metadata.key
        let refused = state.withLock { s -> Bool in
            if type == .deleted {
                s.pods[key] = nil
                return false
            }
            if s.pods[key] == nil && s.pods.count >= cap { return true }
            var r = record(p)
            r.info = derive(r, s)
            s.pods[key] = r
            return false
        }
        if refused { capped("pods", 1) }
        status.setObjects("pods", state.withLock { $0.pods.count })
        store.invalidate()
    }

    private func derive(_ r: PodRecord, _ s: State) -> EndpointInfo? {
        guard r.active else { return nil }
        return EndpointInfo(
            prefixes: r.ips.map { IPPrefix(host: $0) }, namespace: r.namespace, podName: r.name,
            labels: EndpointLabels.podIdentityLabels(
                labels: r.labels, namespace: r.namespace, serviceAccount: r.serviceAccount, clusterName: clusterName),
            workloads: workload(r, s).map { [$0] } ?? [], clusterName: clusterName,
            endpointID: KubernetesSource.endpointID(uid: r.uid.isEmpty ? "\(r.namespace)/\(r.name)" : r.uid))
    }

    private func workload(_ r: PodRecord, _ s: State) -> Workload? {
        guard let owner = r.owner else { return nil }
        let ownerKey = "\(r.namespace)/\(owner.name)"
        switch owner.kind {
        case "ReplicaSet":
            if let known = s.replicaSets[ownerKey] {
                if let top = known { return Workload(name: top.name, kind: top.kind) }
                return Workload(name: owner.name, kind: "ReplicaSet")
            }
            if let hash = r.labels["pod-template-hash"], !hash.isEmpty, owner.name.hasSuffix("-" + hash) {
                return Workload(name: String(owner.name.dropLast(hash.count + 1)), kind: "Deployment")
            }
            return Workload(name: owner.name, kind: "ReplicaSet")
        case "Job":
            if let known = s.jobs[ownerKey], let top = known { return Workload(name: top.name, kind: top.kind) }
            return Workload(name: owner.name, kind: "Job")
        default:
            return Workload(name: owner.name, kind: owner.kind)
        }
    }

    /// Hubble's endpoint `ID` for a pod: its UID hashed into 1…65535 (Cilium's IDs are node-local counters that
    /// Spyglass does not have; this one is stable for the pod's life and the same on every node).
    static func endpointID(uid: String) -> UInt32 {
        var h: UInt32 = 0x811c_9dc5
        for b in uid.utf8 {
            h ^= UInt32(b)
            h &*= 0x0100_0193
        }
        return 1 + h % 65535
    }

    // MARK: ReplicaSets and Jobs

    private func replaceOwners(
        _ path: WritableKeyPath<State, [String: OwnerReference?]>, _ kind: String, ownerKind: String,
        _ items: [KubeMetadataOnly]
    ) {
        let (count, dropped) = state.withLock { s -> (Int, Int) in
            var m: [String: OwnerReference?] = [:]
            var dropped = 0
            for o in items {
                if m.count >= cap { dropped += 1; continue }
                m[o.metadata.key] = .some(o.metadata.controller)
            }
            s[keyPath: path] = m
            rederive(&s, ownerKind: ownerKind, keys: nil)
            return (m.count, dropped)
        }
        if dropped > 0 { capped(kind, dropped) }
        status.setObjects(kind, count)
        store.invalidate()
    }

    private func applyOwner(
        _ path: WritableKeyPath<State, [String: OwnerReference?]>, _ kind: String, ownerKind: String,
        _ type: WatchEventType, _ o: KubeMetadataOnly
    ) {
        let key = o.metadata.key
        let (count, refused, changed) = state.withLock { s -> (Int, Bool, Bool) in
            let before = s[keyPath: path][key]
            if type == .deleted {
                s[keyPath: path][key] = nil
            } else {
                if before == nil && s[keyPath: path].count >= cap { return (s[keyPath: path].count, true, false) }
                s[keyPath: path][key] = .some(o.metadata.controller)
            }
            let after = s[keyPath: path][key]
            // Most ReplicaSet updates are status changes; only an owner change moves pods to another workload.
            let changed = before != after
            if changed { rederive(&s, ownerKind: ownerKind, keys: [key]) }
            return (s[keyPath: path].count, false, changed)
        }
        if refused { capped(kind, 1) }
        status.setObjects(kind, count)
        if changed { store.invalidate() }
    }

    /// Recomputes the records of pods owned by a `ownerKind` (all of them, or those whose owner key is in `keys`).
    private func rederive(_ s: inout State, ownerKind: String, keys: Set<String>?) {
        var updates: [(String, EndpointInfo?)] = []
        for (k, r) in s.pods where r.active && r.owner?.kind == ownerKind {
            if let keys, !keys.contains("\(r.namespace)/\(r.owner!.name)") { continue }
            updates.append((k, derive(r, s)))
        }
        for (k, info) in updates { s.pods[k]?.info = info }
    }

    // MARK: Services, nodes, apiserver

    private func ips(_ strings: [String]) -> [IPAddress] { strings.compactMap { IPAddress($0) } }

    private func replaceServices(_ items: [KubeService]) {
        replaceMap(\.services, "services", items) {
            (Service(name: $0.metadata.name ?? "", namespace: $0.metadata.namespace ?? ""), ips($0.frontends))
        }
    }

    private func applyService(_ type: WatchEventType, _ o: KubeService) {
        applyMap(\.services, "services", type, o) {
            (Service(name: $0.metadata.name ?? "", namespace: $0.metadata.namespace ?? ""), ips($0.frontends))
        }
    }

    private func replaceNodes(_ items: [KubeNode]) { replaceMap(\.nodes, "nodes", items) { ips($0.ips) } }
    private func applyNode(_ type: WatchEventType, _ o: KubeNode) {
        applyMap(\.nodes, "nodes", type, o) { ips($0.ips) }
    }
    private func replaceAPIServer(_ items: [KubeEndpointSlice]) {
        replaceMap(\.apiServer, "endpointslices", items) { ips($0.ips) }
    }
    private func applyAPIServer(_ type: WatchEventType, _ o: KubeEndpointSlice) {
        applyMap(\.apiServer, "endpointslices", type, o) { ips($0.ips) }
    }

    private func replaceMap<T: KubeObject, V>(
        _ path: WritableKeyPath<State, [String: V]>, _ kind: String, _ items: [T], _ value: (T) -> V
    ) {
        let (count, dropped) = state.withLock { s -> (Int, Int) in
            var m: [String: V] = [:]
            var dropped = 0
            for o in items {
                if m.count >= cap { dropped += 1; continue }
                m[o.metadata.key] = value(o)
            }
            s[keyPath: path] = m
            return (m.count, dropped)
        }
        if dropped > 0 { capped(kind, dropped) }
        status.setObjects(kind, count)
        store.invalidate()
    }

    private func applyMap<T: KubeObject, V>(
        _ path: WritableKeyPath<State, [String: V]>, _ kind: String, _ type: WatchEventType, _ o: T, _ value: (T) -> V
    ) {
        let key = o.metadata.key
        let (count, refused) = state.withLock { s -> (Int, Bool) in
            if type == .deleted {
                s[keyPath: path][key] = nil
            } else {
                if s[keyPath: path][key] == nil && s[keyPath: path].count >= cap {
                    return (s[keyPath: path].count, true)
                }
                s[keyPath: path][key] = value(o)
            }
            return (s[keyPath: path].count, false)
        }
        if refused { capped(kind, 1) }
        status.setObjects(kind, count)
        store.invalidate()
    }

    private func capped(_ kind: String, _ n: Int) {
        for _ in 0..<n { status.error("cap") }
        logger.warning("Kubernetes \(kind): \(n) object(s) refused, over the cap of \(cap)")
    }
}
