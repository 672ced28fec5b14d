import Synchronization

/// The node's own addresses, shared between the agent (which reads them over rtnetlink) and the L7 assembler
/// (which asks whether the node itself is a client or server). Reads take a lock, but only L7 messages seen on a
/// device or tunnel ask.
public final class NodeAddressSet: Sendable {
    private let addresses = Mutex<Set<IPAddress>>([])
    public init(_ initial: Set<IPAddress> = []) { addresses.withLock { $0 = initial } }
    public func replace(with new: Set<IPAddress>) { addresses.withLock { $0 = new } }
    public func contains(_ a: IPAddress) -> Bool { addresses.withLock { $0.contains(a) } }
}

/// Which observation site reports an L7 exchange, so that a node reports each role once (README "L7 once per
/// role"). A request crosses up to two watched points on a node (the client's veth, then the server's veth or the
/// uplink); only the point that faces the role's owner reports it:
/// - HTTP `reporter="client"` (EGRESS) where the client is a local endpoint (`from-endpoint`) or the node itself
///   (the request leaves by a device or tunnel from a node address); `reporter="server"` (INGRESS) where the server
///   is a local endpoint (`to-endpoint`) or the node itself (it arrives at a node address).
/// - DNS once: at the client's endpoint, else at the server's endpoint, else at the device (transit), using a
///   node-wide claim of each query (`claimed`) made where it was first reported.
/// Points that say nothing about the roles (`unknown`, as in hand-made flows) keep the facing-point rule.
struct L7Reporter {
    var nodeAddresses: NodeAddressSet?

    private func isNode(_ a: IPAddress) -> Bool { nodeAddresses?.contains(a) ?? false }

    /// The reporter role of a request seen at `point`, nil when this site does not report it.
    func request(at point: TraceObservationPoint, source: IPAddress, destination: IPAddress) -> TrafficDirection? {
        switch point {
        case .fromEndpoint: .egress
        case .toEndpoint: .ingress
        case .toNetwork, .toOverlay: isNode(source) ? .egress : nil
        case .fromNetwork, .fromOverlay: isNode(destination) ? .ingress : nil
        case .unknownPoint: .unknown
        default: nil
        }
    }

    /// A response whose request this site never saw (the agent started in between): reported where the request
    /// would have been, by the facing point of the same site. `source` is the server.
    func unmatchedResponse(at point: TraceObservationPoint, source: IPAddress, destination: IPAddress)
        -> TrafficDirection?
    {
        switch point {
        case .toEndpoint: .egress  // request left this endpoint
        case .fromEndpoint: .ingress  // request arrived at this endpoint
        case .fromNetwork, .fromOverlay: isNode(destination) ? .egress : nil
        case .toNetwork, .toOverlay: isNode(source) ? .ingress : nil
        case .unknownPoint: .unknown
        default: nil
        }
    }

    /// DNS: the direction of a query seen at `point`, nil when another site of the node reports it. `claimed`: the
    /// query was already reported at another point of this node (the client's endpoint).
    func dnsQuery(at point: TraceObservationPoint, destination: IPAddress, claimed: Bool) -> TrafficDirection? {
        switch point {
        case .fromEndpoint: .egress
        case .toEndpoint: claimed ? nil : .ingress
        case .toNetwork, .toOverlay: claimed ? nil : .egress
        // Arriving from the network: the server's endpoint (or the next device) sees it next, unless the node serves.
        case .fromNetwork, .fromOverlay: isNode(destination) ? .ingress : nil
        case .unknownPoint: .unknown
        default: nil
        }
    }

    /// DNS: a response without a pending query at this site. `claimed`: another site owns the query.
    func dnsUnmatchedResponse(at point: TraceObservationPoint, source: IPAddress, destination: IPAddress, claimed: Bool)
        -> TrafficDirection?
    {
        if claimed { return nil }
        switch point {
        case .toEndpoint: return .egress
        case .fromEndpoint: return isNode(destination) ? .ingress : nil
        default: return unmatchedResponse(at: point, source: source, destination: destination)
        }
    }
}

extension ObservationSite {
    /// The site of node-wide keys (DNS claims): every point of the node.
    static let node = ObservationSite(raw: 0)
    init(raw: UInt64) { self.raw = raw }
}
