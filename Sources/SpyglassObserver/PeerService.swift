import GRPCCore
import SpyglassAPI

/// One Hubble server Relay should connect to.
public struct HubblePeer: Sendable, Hashable {
    /// `cluster/node`
    public var name: String
    /// `host:port`
    public var address: String
    /// Empty without TLS.
    public var tlsServerName: String
    public init(name: String, address: String, tlsServerName: String = "") {
        self.name = name
        self.address = address
        self.tlsServerName = tlsServerName
    }
}

/// `peer.Peer`: Hubble Relay calls Notify (through the node-local `hubble-peer` Service) to learn which Hubble
/// servers to dial. Like Cilium's agent, the answer is every node of the cluster when the Kubernetes source knows
/// them (`peers`), else this node alone: PEER_ADDED for each at first, then PEER_ADDED / PEER_UPDATED / PEER_DELETED
/// as nodes come, change address or go (checked every `pollInterval`). The stream stays open until the client ends it.
public struct PeerService: Peer_Peer.SimpleServiceProtocol {
    let node: ObserverNodeInfo
    let peers: @Sendable () -> [HubblePeer]?
    let pollInterval: Duration

    public init(
        node: ObserverNodeInfo, pollInterval: Duration = .seconds(5),
        peers: @escaping @Sendable () -> [HubblePeer]? = { nil }
    ) {
        self.node = node
        self.peers = peers
        self.pollInterval = pollInterval
    }

    func current() -> [String: HubblePeer] {
        let list =
            peers() ?? [
                HubblePeer(
                    name: node.nodeName, address: node.peerAddress,
                    tlsServerName: node.tlsEnabled ? node.tlsServerName : "")
            ]
        return Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func message(_ p: HubblePeer, _ type: Peer_ChangeNotificationType) -> Peer_ChangeNotification {
        var n = Peer_ChangeNotification()
        n.name = p.name
        n.address = p.address
        n.type = type
        if !p.tlsServerName.isEmpty {
            var tls = Peer_TLS()
            tls.serverName = p.tlsServerName
            n.tls = tls
        }
        return n
    }

    public func notify(
        request: Peer_NotifyRequest, response: RPCWriter<Peer_ChangeNotification>, context: ServerContext
    ) async throws {
        var known = current()
        for name in known.keys.sorted() { try await response.write(Self.message(known[name]!, .peerAdded)) }
        while !Task.isCancelled {
            do { try await Task.sleep(for: pollInterval) } catch { return }
            let now = current()
            for (name, p) in now.sorted(by: { $0.key < $1.key }) {
                if let old = known[name] {
                    if old != p { try await response.write(Self.message(p, .peerUpdated)) }
                } else {
                    try await response.write(Self.message(p, .peerAdded))
                }
            }
            for (name, p) in known.sorted(by: { $0.key < $1.key }) where now[name] == nil {
                try await response.write(Self.message(p, .peerDeleted))
            }
            known = now
        }
    }
}

/// `grpc.health.v1.Health`, which `hubble status` asks first: SERVING for the server and its two services.
public struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    static let known: Set<String> = ["", "observer.Observer", "peer.Peer"]

    public init() {}

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws
        -> Grpc_Health_V1_HealthCheckResponse
    {
        guard Self.known.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = .serving
        return r
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest, response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        var r = Grpc_Health_V1_HealthCheckResponse()
        r.status = Self.known.contains(request.service) ? .serving : .serviceUnknown
        try await response.write(r)
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(3600)) } catch { return }
        }
    }
}
