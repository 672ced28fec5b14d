import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SpyglassAPI
import SpyglassFlow
import SpyglassObserver
import SwiftProtobuf
import Testing

/// observer.Observer, peer.Peer and grpc.health.v1 over a real unix socket with grpc-swift's client.
@Suite(.serialized) struct ObserverAPITests {
    @Test func getFlowsLastFirstAndFilters() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        for i in 0..<40 { s.ring.append(SeedFlows.flow(i)) }

        var r = Observer_GetFlowsRequest()
        r.number = 5
        let last = try await getFlows(try s.unixTransport, r)
        #expect(last.count == 5)
        #expect(last.map { $0.flow.time.nanos / 1_000_000 } == [35, 36, 37, 38, 39])
        #expect(last.allSatisfy { $0.nodeName == SeedFlows.node && !$0.flow.uuid.isEmpty })

        r.first = true
        let first = try await getFlows(try s.unixTransport, r)
        #expect(first.map { $0.flow.time.nanos / 1_000_000 } == [0, 1, 2, 3, 4])

        // --pod default/xwing --verdict DROPPED: exactly the xwing drops, with Hubble's drop fields.
        var f = ObserveFilterBuilder()
        try f.add(.pod, "default/xwing")
        try f.add(.verdict, "DROPPED")
        var drops = Observer_GetFlowsRequest()
        drops.whitelist = f.filters
        let dropped = try await getFlows(try s.unixTransport, drops)
        #expect(dropped.count == 10)
        for d in dropped {
            #expect(d.flow.verdict == .dropped)
            #expect(d.flow.source.podName == "xwing")
            #expect(d.flow.dropReasonDesc == .policyDenied)
            #expect(d.flow.summary == "TCP Flags: SYN")
        }

        // Blacklist: everything but L7.
        var noL7 = Observer_GetFlowsRequest()
        var deny = Flow_FlowFilter()
        deny.eventType = [
            {
                var e = Flow_EventTypeFilter(); e.type = 129; return e
            }()
        ]
        noL7.blacklist = [deny]
        let l34 = try await getFlows(try s.unixTransport, noL7)
        #expect(l34.count == 20)
        #expect(l34.allSatisfy { $0.flow.type == .l3L4 })

        // HTTP: the landing requests with Hubble's L7 summary.
        var http = ObserveFilterBuilder()
        try http.add(.pod, "default/tiefighter")
        try http.add(.protocol, "http")
        var httpReq = Observer_GetFlowsRequest()
        httpReq.whitelist = http.filters
        let landings = try await getFlows(try s.unixTransport, httpReq)
        #expect(landings.count == 10)
        #expect(
            landings.allSatisfy {
                $0.flow.summary == "HTTP/1.1 POST http://deathstar.default.svc.cluster.local/v1/request-landing"
                    && $0.flow.l7.http.method == "POST" && $0.flow.type == .l7 && $0.flow.eventType.type == 129
            })
    }

    @Test func sinceUntilAndFieldMask() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        for i in 0..<3000 { s.ring.append(SeedFlows.flow(i)) }  // 3 s of flows
        var r = Observer_GetFlowsRequest()
        r.since = Google_Protobuf_Timestamp(seconds: 1_764_921_601, nanos: 0)
        r.until = Google_Protobuf_Timestamp(seconds: 1_764_921_601, nanos: 499_000_000)
        r.fieldMask = Google_Protobuf_FieldMask(protoPaths: ["time", "verdict", "source.pod_name"])
        let got = try await getFlows(try s.unixTransport, r)
        #expect(got.count == 500)
        let f = try #require(got.first?.flow)
        #expect(f.time.seconds == 1_764_921_601 && f.time.nanos == 0)
        #expect(f.source.podName == "tiefighter")
        #expect(f.source.namespace.isEmpty && !f.hasDestination && !f.hasIp && f.summary.isEmpty)
    }

    @Test func badRequestsGetHubblesStatusCodes() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        func code(_ r: Observer_GetFlowsRequest) async -> RPCError.Code? {
            do {
                _ = try await getFlows(try s.unixTransport, r)
                return nil
            } catch let e as RPCError {
                return e.code
            } catch {
                return nil
            }
        }
        var bothWays = Observer_GetFlowsRequest()
        bothWays.first = true
        bothWays.follow = true
        #expect(await code(bothWays) == .invalidArgument)

        var badFilter = Observer_GetFlowsRequest()
        var f = Flow_FlowFilter()
        f.sourceIp = ["not-an-ip"]
        badFilter.whitelist = [f]
        #expect(await code(badFilter) == .invalidArgument)

        var badProto = Observer_GetFlowsRequest()
        var p = Flow_FlowFilter()
        p.protocol = ["carrier-pigeon"]
        badProto.blacklist = [p]
        #expect(await code(badProto) == .invalidArgument)

        var backwards = Observer_GetFlowsRequest()
        backwards.since = Google_Protobuf_Timestamp(seconds: 200, nanos: 0)
        backwards.until = Google_Protobuf_Timestamp(seconds: 100, nanos: 0)
        #expect(await code(backwards) == .invalidArgument)

        var badMask = Observer_GetFlowsRequest()
        badMask.fieldMask = Google_Protobuf_FieldMask(protoPaths: ["no_such_field"])
        #expect(await code(badMask) == .invalidArgument)

        let agentEvents: RPCError.Code? = await {
            do {
                try await withGRPCClient(transport: try s.unixTransport) { client in
                    try await Observer_Observer.Client(wrapping: client).getAgentEvents(
                        Observer_GetAgentEventsRequest()
                    ) { r in
                        for try await _ in r.messages {}
                    }
                }
                return nil
            } catch let e as RPCError { return e.code } catch { return nil }
        }()
        #expect(agentEvents == .unimplemented)
    }

    @Test func statusNodesNamespacesPeerAndHealth() async throws {
        let s = try await TestServer(capacity: 63)
        defer { Task { await s.stop() } }
        for i in 0..<100 { s.ring.append(SeedFlows.flow(i)) }
        s.ring.appendLost(source: "PERF_EVENT_RING_BUFFER", count: 3, time: .now)
        try await withGRPCClient(transport: try s.unixTransport) { client in
            let observer = Observer_Observer.Client(wrapping: client)
            let status = try await observer.serverStatus(Observer_ServerStatusRequest())
            #expect(status.maxFlows == 63)
            #expect(status.numFlows == 62)  // one slot holds the lost event
            #expect(status.seenFlows == 100)
            #expect(status.uptimeNs > 0)
            #expect(status.version == "0.1.0")

            let nodes = try await observer.getNodes(Observer_GetNodesRequest())
            #expect(nodes.nodes.count == 1)
            #expect(nodes.nodes.first?.name == SeedFlows.node && nodes.nodes.first?.state == .nodeConnected)

            let ns = try await observer.getNamespaces(Observer_GetNamespacesRequest())
            #expect(ns.namespaces.map(\.namespace) == ["default", "kube-system"])

            let first = try await Peer_Peer.Client(wrapping: client).notify(Peer_NotifyRequest()) {
                r -> Peer_ChangeNotification? in
                for try await m in r.messages { return m }
                return nil
            }
            #expect(first?.name == SeedFlows.node)
            #expect(first?.type == .peerAdded)

            let health = try await Grpc_Health_V1_Health.Client(wrapping: client).check(
                Grpc_Health_V1_HealthCheckRequest())
            #expect(health.status == .serving)
        }
        // The lost event is in GetFlows too, as Hubble's lost_events.
        var r = Observer_GetFlowsRequest()
        r.number = 1
        let last = try await getFlows(try s.unixTransport, r)
        #expect(last.first?.lostEvents.source == .perfEventRingBuffer)
        #expect(last.first?.lostEvents.numEventsLost == 3)
    }

    /// `follow` sees new flows as they arrive.
    @Test func followStreamsNewFlows() async throws {
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        s.ring.append(SeedFlows.flow(0))
        var r = Observer_GetFlowsRequest()
        r.number = 1
        r.follow = true
        let got = try await withGRPCClient(transport: try s.unixTransport) { client in
            try await Observer_Observer.Client(wrapping: client).getFlows(r) { response in
                var out: [Observer_GetFlowsResponse] = []
                for try await m in response.messages {
                    out.append(m)
                    if out.count == 1 { for i in 1...20 { s.ring.append(SeedFlows.flow(i)) } }
                    if out.count == 21 { break }
                }
                return out
            }
        }
        #expect(got.count == 21)
        #expect(got.map { Int($0.flow.time.nanos / 1_000_000) } == Array(0...20))
    }

    /// A follower that stops reading while 20000 flows pass through a 63-slot ring: the producer never waits for
    /// it, the follower is told how many it missed (LostEvent HUBBLE_RING_BUFFER, counted in the metric callback),
    /// and flows received + lost = flows produced, exactly.
    @Test func slowFollowerGetsLostEventsAndNeverBlocksThePipeline() async throws {
        let s = try await TestServer(capacity: 63)
        defer { Task { await s.stop() } }
        s.ring.append(SeedFlows.flow(0))
        let produced = 20_000
        var r = Observer_GetFlowsRequest()
        r.number = 1
        r.follow = true
        let (flows, lost) = try await withGRPCClient(transport: try s.unixTransport) { client in
            try await Observer_Observer.Client(wrapping: client).getFlows(r) { response in
                var flows = 0, lost: UInt64 = 0, started = false
                for try await m in response.messages {
                    if !started {
                        started = true
                        // The producer runs to the end while this client reads nothing.
                        for i in 1...produced { s.ring.append(SeedFlows.flow(i)) }
                        #expect(s.ring.nextSequence == UInt64(produced + 1))
                        continue
                    }
                    switch m.responseTypes {
                    case .flow: flows += 1
                    case .lostEvents(let l):
                        #expect(l.source == .hubbleRingBuffer)
                        lost += l.numEventsLost
                    default: break
                    }
                    if UInt64(flows) + lost >= UInt64(produced) { break }
                }
                return (flows, lost)
            }
        }
        #expect(lost > 0)
        #expect(UInt64(flows) + lost == UInt64(produced))
        #expect(s.lost.total == lost)
    }
}

/// Peer.Notify follows the cluster's nodes: every node at first, then additions, address changes and removals.
@Suite struct PeerNotifyTests {
    final class Nodes: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [HubblePeer]
        init(_ l: [HubblePeer]) { list = l }
        func set(_ l: [HubblePeer]) { lock.lock(); list = l; lock.unlock() }
        func get() -> [HubblePeer] { lock.lock(); defer { lock.unlock() }; return list }
    }

    @Test func notifyAnnouncesEveryNodeAndItsChanges() async throws {
        let a = HubblePeer(name: "c1/node-a", address: "10.0.0.1:4244"),
            b = HubblePeer(name: "c1/node-b", address: "10.0.0.2:4244")
        let nodes = Nodes([a, b])
        let path = "/tmp/spyglass-peer-test-\(UUID().uuidString.prefix(8)).sock"
        let server = HubbleServer(
            config: HubbleServerConfig(socketPath: path), ring: EventRing(capacity: 7),
            node: ObserverNodeInfo(nodeName: "c1/node-a", version: "0.1.0"), logger: .init(label: "test"),
            peers: { nodes.get() }, peerPollInterval: .milliseconds(50))
        try await server.start()
        defer { Task { await server.stop() } }
        let transport = try HTTP2ClientTransport.Posix(
            target: .unixDomainSocket(path: path), transportSecurity: .plaintext)
        let seen = try await withGRPCClient(transport: transport) { client in
            try await Peer_Peer.Client(wrapping: client).notify(Peer_NotifyRequest()) { r in
                var out: [String] = []
                for try await m in r.messages {
                    out.append("\(m.type) \(m.name) \(m.address)")
                    if out.count == 2 {  // node-b moves, node-c joins
                        nodes.set([
                            a, HubblePeer(name: "c1/node-b", address: "10.0.0.22:4244"),
                            HubblePeer(name: "c1/node-c", address: "10.0.0.3:4244")
                        ])
                    }
                    if out.count == 4 { nodes.set([a, HubblePeer(name: "c1/node-c", address: "10.0.0.3:4244")]) }
                    if out.count == 5 { break }
                }
                return out
            }
        }
        #expect(
            seen == [
                "peerAdded c1/node-a 10.0.0.1:4244", "peerAdded c1/node-b 10.0.0.2:4244",
                "peerUpdated c1/node-b 10.0.0.22:4244", "peerAdded c1/node-c 10.0.0.3:4244",
                "peerDeleted c1/node-b 10.0.0.22:4244"
            ])
    }
}
