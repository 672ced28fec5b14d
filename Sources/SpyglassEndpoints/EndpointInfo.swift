import SpyglassFlow

/// What one source knows about the addresses of one endpoint: the record every source (Kubernetes, the endpoints
/// file, the node itself) produces and the resolver turns into a `SpyglassFlow.Endpoint`.
public struct EndpointInfo: Sendable, Hashable {
    /// Addresses and networks this endpoint owns (host prefixes for pods).
    public var prefixes: [IPPrefix]
    public var namespace: String
    public var podName: String
    /// Identity labels in `source:key=value` form (`k8s:app=web`, `reserved:host`). Sorted when turned into an
    /// `Endpoint`; duplicates are dropped.
    public var labels: [String]
    /// Owning workloads, the top-level controller first (Hubble fills at most one).
    public var workloads: [Workload]
    public var clusterName: String
    /// Numeric identity; nil = derived from `labels` (reserved labels map to their reserved identity, anything else
    /// is hashed into the cluster-local range, see `IdentityAllocator`).
    public var identity: UInt32?
    /// Hubble's endpoint `ID`; 0 where there is none.
    public var endpointID: UInt32
    /// When set, these addresses are this service's frontends: flows to/from them get `destination_service` /
    /// `source_service`.
    public var service: Service?

    public init(
        prefixes: [IPPrefix], namespace: String = "", podName: String = "", labels: [String] = [],
        workloads: [Workload] = [], clusterName: String = "", identity: UInt32? = nil, endpointID: UInt32 = 0,
        service: Service? = nil
    ) {
        self.prefixes = prefixes
        self.namespace = namespace
        self.podName = podName
        self.labels = labels
        self.workloads = workloads
        self.clusterName = clusterName
        self.identity = identity
        self.endpointID = endpointID
        self.service = service
    }

    /// A record that only names service frontends (a Kubernetes Service, or a file entry with nothing but
    /// `addresses` and `service`): its addresses get a service but no endpoint, so their endpoint is whatever
    /// else matches, usually `reserved:world`, as Hubble shows ClusterIPs.
    public var isServiceOnly: Bool {
        service != nil && namespace.isEmpty && podName.isEmpty && workloads.isEmpty && labels.isEmpty && identity == nil
    }

    /// Labels sorted and de-duplicated, as flows carry them.
    var canonicalLabels: [String] { Array(Set(labels)).sorted() }
}

/// Cilium's reserved numeric identities and their labels (docs/hubble-compatibility.md §4.6).
public enum ReservedIdentity: UInt32, Sendable, CaseIterable {
    case unknown = 0, host = 1, world = 2, unmanaged = 3, health = 4, initializing = 5, remoteNode = 6
    case kubeAPIServer = 7, ingress = 8, worldIPv4 = 9, worldIPv6 = 10

    /// The label (`reserved:host`, ...) flows carry for this identity.
    public var label: String {
        switch self {
        case .unknown: "reserved:unknown"
        case .host: "reserved:host"
        case .world: "reserved:world"
        case .unmanaged: "reserved:unmanaged"
        case .health: "reserved:health"
        case .initializing: "reserved:init"
        case .remoteNode: "reserved:remote-node"
        case .kubeAPIServer: "reserved:kube-apiserver"
        case .ingress: "reserved:ingress"
        case .worldIPv4: "reserved:world-ipv4"
        case .worldIPv6: "reserved:world-ipv6"
        }
    }

    public init?(label: String) {
        guard let match = ReservedIdentity.allCases.first(where: { $0.label == label }) else { return nil }
        self = match
    }
}

/// Kubernetes label conventions shared by the Kubernetes source and the endpoints file.
public enum EndpointLabels {
    public static let namespaceKey = "io.kubernetes.pod.namespace"
    public static let serviceAccountKey = "io.cilium.k8s.policy.serviceaccount"
    public static let clusterKey = "io.cilium.k8s.policy.cluster"

    /// Pod labels that change with every rollout or pod and would give each pod its own identity; they are left
    /// out of identity labels (the same idea as Cilium's default label filter, our own list):
    /// hash and revision labels set by controllers, per-pod StatefulSet/Job labels, and labels in the
    /// `kubernetes.io/`, `k8s.io/`, `io.kubernetes.` and `*.beta.kubernetes.io` namespaces.
    public static func isIdentityRelevant(key: String) -> Bool {
        if volatileKeys.contains(key) { return false }
        if key.hasPrefix("kubernetes.io/") || key.hasPrefix("k8s.io/") || key.hasPrefix("io.kubernetes.") {
            return false
        }
        if key.contains("beta.kubernetes.io") { return false }
        return true
    }

    static let volatileKeys: Set<String> = [
        "pod-template-hash", "controller-revision-hash", "pod-template-generation",
        "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/controller-uid", "controller-uid", "batch.kubernetes.io/job-completion-index"
    ]

    /// Identity labels of a pod, as Hubble shows them on flows: the identity-relevant pod labels plus the
    /// namespace, service-account and cluster labels, all with the `k8s:` source, sorted.
    public static func podIdentityLabels(
        labels: [String: String], namespace: String, serviceAccount: String?, clusterName: String
    ) -> [String] {
        var out: [String] = []
        out.reserveCapacity(labels.count + 3)
        for (k, v) in labels where isIdentityRelevant(key: k) { out.append("k8s:\(k)=\(v)") }
        out.append("k8s:\(namespaceKey)=\(namespace)")
        if let sa = serviceAccount, !sa.isEmpty { out.append("k8s:\(serviceAccountKey)=\(sa)") }
        if !clusterName.isEmpty { out.append("k8s:\(clusterKey)=\(clusterName)") }
        return out.sorted()
    }
}
