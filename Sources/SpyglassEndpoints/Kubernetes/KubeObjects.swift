/// The few fields Spyglass reads from Kubernetes objects (everything else in the JSON is skipped).

struct ObjectMeta: Decodable, Sendable {
    var name: String?
    var namespace: String?
    var uid: String?
    var resourceVersion: String?
    var labels: [String: String]?
    var ownerReferences: [OwnerReference]?

    var key: String { "\(namespace ?? "")/\(name ?? "")" }

    /// The controlling owner, else the first owner.
    var controller: OwnerReference? {
        ownerReferences?.first(where: { $0.controller == true }) ?? ownerReferences?.first
    }
}

struct OwnerReference: Decodable, Sendable, Equatable, Hashable {
    var kind: String
    var name: String
    var controller: Bool?
}

protocol KubeObject: Decodable, Sendable {
    var metadata: ObjectMeta { get }
}

struct KubePod: KubeObject {
    struct Spec: Decodable, Sendable {
        var nodeName: String?
        var hostNetwork: Bool?
        var serviceAccountName: String?
        var serviceAccount: String?
    }
    struct PodIP: Decodable, Sendable { var ip: String }
    struct Status: Decodable, Sendable {
        var phase: String?
        var podIP: String?
        var podIPs: [PodIP]?
    }
    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?

    var ips: [String] {
        var out: [String] = []
        for p in status?.podIPs ?? [] where !out.contains(p.ip) { out.append(p.ip) }
        if let ip = status?.podIP, !ip.isEmpty, !out.contains(ip) { out.append(ip) }
        return out
    }
}

/// ReplicaSets and Jobs: only their owners matter (fetched as PartialObjectMetadata where the server can).
struct KubeMetadataOnly: KubeObject {
    var metadata: ObjectMeta
}

struct KubeService: KubeObject {
    struct Spec: Decodable, Sendable {
        var type: String?
        var clusterIP: String?
        var clusterIPs: [String]?
        var externalIPs: [String]?
    }
    struct Ingress: Decodable, Sendable { var ip: String? }
    struct LoadBalancer: Decodable, Sendable { var ingress: [Ingress]? }
    struct Status: Decodable, Sendable { var loadBalancer: LoadBalancer? }
    var metadata: ObjectMeta
    var spec: Spec?
    var status: Status?

    /// ClusterIPs, external IPs and load-balancer ingress IPs ("None" of headless services left out).
    var frontends: [String] {
        var out: [String] = []
        func add(_ s: String?) {
            guard let s, !s.isEmpty, s != "None", !out.contains(s) else { return }
            out.append(s)
        }
        for ip in spec?.clusterIPs ?? [] { add(ip) }
        add(spec?.clusterIP)
        for ip in spec?.externalIPs ?? [] { add(ip) }
        for i in status?.loadBalancer?.ingress ?? [] { add(i.ip) }
        return out
    }
}

struct KubeNode: KubeObject {
    struct Address: Decodable, Sendable {
        var type: String
        var address: String
    }
    struct Status: Decodable, Sendable { var addresses: [Address]? }
    var metadata: ObjectMeta
    var status: Status?

    var ips: [String] {
        (status?.addresses ?? []).filter { $0.type == "InternalIP" || $0.type == "ExternalIP" }.map(\.address)
    }
}

/// EndpointSlices of the `default/kubernetes` service: the kube-apiserver's own addresses.
struct KubeEndpointSlice: KubeObject {
    struct Endpoint: Decodable, Sendable { var addresses: [String]? }
    var metadata: ObjectMeta
    var endpoints: [Endpoint]?
    var ips: [String] { (endpoints ?? []).flatMap { $0.addresses ?? [] } }
}

struct KubeList<T: KubeObject>: Decodable {
    struct ListMeta: Decodable {
        var resourceVersion: String?
        var `continue`: String?
    }
    var metadata: ListMeta?
    var items: [T]?
}

/// `metav1.Status`, as sent with error responses and in watch ERROR events.
struct KubeStatus: Decodable, Sendable, Error {
    var code: Int?
    var reason: String?
    var message: String?
}

enum WatchEventType: String, Sendable {
    case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
}

struct WatchEvent<T: KubeObject>: Decodable {
    var type: WatchEventType
    var object: T?
    var status: KubeStatus?

    enum CodingKeys: String, CodingKey { case type, object }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let raw = try c.decode(String.self, forKey: .type)
        guard let t = WatchEventType(rawValue: raw) else {
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown watch event type \(raw)")
        }
        type = t
        switch t {
        case .error: status = try c.decodeIfPresent(KubeStatus.self, forKey: .object)
        case .bookmark:
            // Bookmarks carry an object of the watched kind with only metadata.resourceVersion.
            let b = try c.decode(KubeMetadataOnly.self, forKey: .object)
            bookmarkVersion = b.metadata.resourceVersion
        default: object = try c.decode(T.self, forKey: .object)
        }
    }
    var bookmarkVersion: String?
}
