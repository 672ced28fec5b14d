import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import SpyglassAPI
import SpyglassFlow
import SpyglassObserver

/// Seed-shaped flows (the Star Wars demo): tiefighter lands, xwing is dropped by policy, DNS and HTTP in between.
enum SeedFlows {
    static let node = "kind-kind/kind-worker"
    static let tiefighter = Endpoint(
        id: 1201, identity: 62396, namespace: "default",
        labels: ["k8s:class=tiefighter", "k8s:org=empire"], podName: "tiefighter")
    static let xwing = Endpoint(
        id: 1202, identity: 6009, namespace: "default",
        labels: ["k8s:class=xwing", "k8s:org=alliance"], podName: "xwing")
    static let deathstar = Endpoint(
        id: 1203, identity: 50122, namespace: "default",
        labels: ["k8s:class=deathstar", "k8s:org=empire"], podName: "deathstar-6c94dcc57b-7xwq6",
        workloads: [Workload(name: "deathstar", kind: "Deployment")])
    static let kubeDNS = Endpoint(
        id: 1204, identity: 102, namespace: "kube-system", labels: ["k8s:k8s-app=kube-dns"], podName: "kube-dns")

    static func ip(_ last: UInt8) -> IPAddress { IPAddress(ipv4: 10, 199, 0, last) }

    /// Flow `i` of a repeating mix; times one millisecond apart from `base`.
    static func flow(_ i: Int, base: Int64 = 1_764_921_600) -> Flow {
        let t = Timestamp(seconds: base + Int64(i / 1000), nanos: Int32((i % 1000) * 1_000_000))
        switch i % 4 {
        case 0:  // tiefighter SYN, forwarded to the Death Star
            return Flow(
                time: t, verdict: .forwarded, ip: IPHeader(source: ip(20), destination: ip(10), ipVersion: .ipv4),
                l4: .tcp(TCP(sourcePort: 51000, destinationPort: 80, flags: .syn)), source: tiefighter,
                destination: deathstar, type: .l3L4, nodeName: node,
                eventType: CiliumEventType(type: CiliumEventType.trace, subType: 0),
                trafficDirection: .ingress, traceObservationPoint: .toEndpoint, isReply: false,
                interface: NetworkInterface(index: 7, name: "lxc-deathstar"))
        case 1:  // xwing SYN, dropped by the policy
            return Flow(
                time: t, verdict: .dropped, dropReasonDesc: .policyDenied, kernelDropReason: "NETFILTER_DROP",
                ip: IPHeader(source: ip(30), destination: ip(10), ipVersion: .ipv4),
                l4: .tcp(TCP(sourcePort: 38552, destinationPort: 80, flags: .syn)), source: xwing,
                destination: deathstar, type: .l3L4, nodeName: node,
                eventType: CiliumEventType(type: CiliumEventType.drop, subType: 133), trafficDirection: .ingress,
                isReply: false)
        case 2:  // tiefighter's landing request
            return Flow(
                time: t, verdict: .forwarded, ip: IPHeader(source: ip(20), destination: ip(10), ipVersion: .ipv4),
                l4: .tcp(TCP(sourcePort: 51000, destinationPort: 80)), source: tiefighter, destination: deathstar,
                type: .l7, nodeName: node,
                l7: Layer7(
                    type: .request,
                    record: .http(
                        HTTP(
                            method: "POST", url: "http://deathstar.default.svc.cluster.local/v1/request-landing",
                            protocol: "HTTP/1.1"))),
                eventType: CiliumEventType(type: CiliumEventType.accessLog, subType: 0),
                trafficDirection: .egress, isReply: false)
        default:  // its DNS answer
            return Flow(
                time: t, verdict: .forwarded, ip: IPHeader(source: ip(2), destination: ip(20), ipVersion: .ipv4),
                l4: .udp(UDP(sourcePort: 53, destinationPort: 40001)), source: kubeDNS, destination: tiefighter,
                type: .l7, nodeName: node,
                l7: Layer7(
                    type: .response, latencyNs: 1_500_000,
                    record: .dns(
                        DNS(
                            query: "deathstar.default.svc.cluster.local.", ips: ["10.199.0.10"], ttl: 30,
                            observationSource: "proxy", qtypes: ["A"], rrtypes: ["A"]))),
                eventType: CiliumEventType(type: CiliumEventType.accessLog, subType: 0),
                trafficDirection: .egress, isReply: true)
        }
    }
}

/// A HubbleServer on a fresh unix socket (and optionally TCP), stopped and removed by `stop()`.
final class TestServer: @unchecked Sendable {
    let ring: EventRing
    let server: HubbleServer
    let socketPath: String
    let lost = LostCounter()

    init(capacity: Int = 4095, listenAddress: String = "", tls: HubbleServerConfig.TLS? = nil) async throws {
        socketPath = "/tmp/spyglass-api-test-\(UUID().uuidString.prefix(8)).sock"
        ring = EventRing(capacity: capacity)
        let config = HubbleServerConfig(
            socketPath: socketPath, listenAddress: listenAddress, tls: tls, eventBufferCapacity: capacity)
        let node = ObserverNodeInfo(
            nodeName: SeedFlows.node, version: "0.1.0", peerAddress: config.peerAddress(),
            tlsEnabled: tls != nil, tlsServerName: "kind-worker.kind-kind.hubble-grpc.cilium.io")
        let counter = lost
        server = HubbleServer(
            config: config, ring: ring, node: node, logger: Logger(label: "test"), onLost: { counter.add($0) })
        try await server.start()
    }

    func stop() async { await server.stop() }

    var unixTransport: HTTP2ClientTransport.Posix {
        get throws {
            try HTTP2ClientTransport.Posix(target: .unixDomainSocket(path: socketPath), transportSecurity: .plaintext)
        }
    }
}

final class LostCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value: UInt64 = 0
    func add(_ n: UInt64) { lock.lock(); value += n; lock.unlock() }
    var total: UInt64 { lock.lock(); defer { lock.unlock() }; return value }
}

/// Every message of one GetFlows call.
func getFlows(_ transport: HTTP2ClientTransport.Posix, _ request: Observer_GetFlowsRequest) async throws
    -> [Observer_GetFlowsResponse]
{
    try await withGRPCClient(transport: transport) { client in
        try await Observer_Observer.Client(wrapping: client).getFlows(request) { response in
            var out: [Observer_GetFlowsResponse] = []
            for try await m in response.messages { out.append(m) }
            return out
        }
    }
}
