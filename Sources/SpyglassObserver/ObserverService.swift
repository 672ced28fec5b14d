import Foundation
import GRPCCore
import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SwiftProtobuf

/// What the API says about this node (ServerStatus, GetNodes, Peer.Notify).
public struct ObserverNodeInfo: Sendable {
    /// `cluster/node` (or the bare node name without a cluster), as in flows.
    public var nodeName: String
    public var version: String
    /// `host:port` Hubble Relay should dial (empty: no TCP listener).
    public var peerAddress: String
    public var tlsEnabled: Bool
    /// The TLS server name Relay verifies (Hubble's `<node>.<cluster>.hubble-grpc.cilium.io`).
    public var tlsServerName: String
    public init(
        nodeName: String, version: String, peerAddress: String = "", tlsEnabled: Bool = false,
        tlsServerName: String = ""
    ) {
        self.nodeName = nodeName
        self.version = version
        self.peerAddress = peerAddress
        self.tlsEnabled = tlsEnabled
        self.tlsServerName = tlsServerName
    }
}

/// `observer.Observer` over the event ring.
public struct ObserverService: Observer_Observer.SimpleServiceProtocol {
    let ring: EventRing
    let node: ObserverNodeInfo
    let started: ContinuousClock.Instant
    let encoder: FlowResponseEncoder
    /// Called with the number of events a slow follower missed (the ring overwrote them first).
    let onLost: @Sendable (UInt64) -> Void
    /// How long a follower sleeps when it has caught up with the ring.
    let pollInterval: Duration
    /// Events read from the ring per step; a follower that cannot write them before the ring wraps loses the rest.
    let batch: Int

    public init(
        ring: EventRing, node: ObserverNodeInfo, encoder: FlowResponseEncoder = FlowResponseEncoder(),
        pollInterval: Duration = .milliseconds(20), batch: Int = 256,
        onLost: @escaping @Sendable (UInt64) -> Void = { _ in }
    ) {
        self.ring = ring
        self.node = node
        self.started = .now
        self.encoder = encoder
        self.onLost = onLost
        self.pollInterval = pollInterval
        self.batch = batch
    }

    var uptimeNs: UInt64 {
        let d = ContinuousClock.now - started
        return UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
    }

    public func getFlows(
        request: Observer_GetFlowsRequest, response: RPCWriter<Observer_GetFlowsResponse>, context: ServerContext
    ) async throws {
        let plan: GetFlowsPlan
        do {
            plan = try GetFlowsPlan(request)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
        let (held, next) = ring.snapshot()
        for e in plan.history(held) {
            try await response.write(try message(e, plan))
        }
        guard plan.follow else { return }
        var cursor = next
        while !Task.isCancelled {
            let r = ring.read(from: cursor, limit: batch)
            cursor = r.next
            if r.missed > 0 {
                onLost(r.missed)
                try await response.write(
                    FlowResponseEncoder.lost(
                        source: .hubbleRingBuffer, count: r.missed, nodeName: node.nodeName, time: Self.now()))
            }
            for e in r.events {
                if let until = plan.until, until < e.time { return }
                if plan.accepts(e) { try await response.write(try message(e, plan)) }
            }
            if r.events.isEmpty && r.missed == 0 {
                if let until = plan.until, until < Self.now() { return }
                do { try await Task.sleep(for: pollInterval) } catch { return }
            }
        }
    }

    func message(_ e: ObservedEvent, _ plan: GetFlowsPlan) throws -> Observer_GetFlowsResponse {
        switch e {
        case .flow(let f, let uuid):
            var r: Observer_GetFlowsResponse
            do {
                r = try encoder.response(for: f, uuid: uuid)
            } catch {
                throw RPCError(code: .internalError, message: "cannot encode flow: \(error)")
            }
            if let mask = plan.fieldMask, case .flow(var flow)? = r.responseTypes {
                flow.trim(keeping: mask)
                r.flow = flow
            }
            return r
        case .lost(let source, let count, let time):
            return FlowResponseEncoder.lost(source: source, count: count, nodeName: node.nodeName, time: time)
        }
    }

    static func now() -> Timestamp { .now }

    public func getAgentEvents(
        request: Observer_GetAgentEventsRequest, response: RPCWriter<Observer_GetAgentEventsResponse>,
        context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "Spyglass has no Cilium agent events")
    }

    public func getDebugEvents(
        request: Observer_GetDebugEventsRequest, response: RPCWriter<Observer_GetDebugEventsResponse>,
        context: ServerContext
    ) async throws {
        throw RPCError(code: .unimplemented, message: "Spyglass has no Cilium datapath debug events")
    }

    public func getNodes(request: Observer_GetNodesRequest, context: ServerContext) async throws
        -> Observer_GetNodesResponse
    {
        let (held, seen) = ring.counts
        var n = Observer_Node()
        n.name = node.nodeName
        n.version = node.version
        n.address = node.peerAddress
        n.state = .nodeConnected
        n.tls.enabled = node.tlsEnabled
        n.tls.serverName = node.tlsServerName
        n.uptimeNs = uptimeNs
        n.numFlows = held
        n.maxFlows = UInt64(ring.capacity)
        n.seenFlows = seen
        var r = Observer_GetNodesResponse()
        r.nodes = [n]
        return r
    }

    public func getNamespaces(
        request: Observer_GetNamespacesRequest, context: ServerContext
    ) async throws -> Observer_GetNamespacesResponse {
        var seen = Set<[String]>()
        var out: [Observer_Namespace] = []
        for case .flow(let f, _) in ring.snapshot().events {
            for ep in [f.source, f.destination] {
                guard let ep, !ep.namespace.isEmpty, seen.insert([ep.clusterName, ep.namespace]).inserted else {
                    continue
                }
                var ns = Observer_Namespace()
                ns.cluster = ep.clusterName
                ns.namespace = ep.namespace
                out.append(ns)
            }
        }
        var r = Observer_GetNamespacesResponse()
        r.namespaces = out.sorted { ($0.cluster, $0.namespace) < ($1.cluster, $1.namespace) }
        return r
    }

    public func serverStatus(
        request: Observer_ServerStatusRequest, context: ServerContext
    ) async throws -> Observer_ServerStatusResponse {
        let (held, seen) = ring.counts
        var r = Observer_ServerStatusResponse()
        r.numFlows = held
        r.maxFlows = UInt64(ring.capacity)
        r.seenFlows = seen
        r.uptimeNs = uptimeNs
        r.version = node.version
        r.flowsRate = flowsRate()
        return r
    }

    /// Flows per second over the last minute of flows held (Hubble's `flows_rate`).
    func flowsRate() -> Double {
        let now = Self.now()
        let cutoff = Timestamp(seconds: now.seconds - 60, nanos: now.nanos)
        var n = 0
        for case .flow(let f, _) in ring.snapshot().events where cutoff < f.time { n += 1 }
        return Double(n) / 60
    }
}
