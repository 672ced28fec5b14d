import Foundation
import SpyglassFlow
import SpyglassMetrics
import SpyglassPipeline
import SpyglassTesting
import Synchronization

/// A `FlowPipelineStep` wired as the agent wires it — a real `MetricsEngine` with Hubble's default families (plus
/// pod contexts on `flow`, so enrichment shows in the labels), an enricher that names two pods, an export sink that
/// keeps every flow — and builders for the records the tc program emits.
final class StepHarness {
    static let client = "10.0.0.1"
    static let server = "10.0.0.2"
    static let dnsServer = "10.0.0.53"
    static let spec = MetricsConfig.defaultSpec.replacingOccurrences(
        of: "flow", with: "flow:sourceContext=pod;destinationContext=pod")
    /// Kernel drop reason 77 resolves to POLICY_DENIED (what an nftables drop maps to).
    static let policyDropReason: UInt32 = 77

    let metrics: MetricsEngine
    let step: FlowPipelineStep
    let sink = FlowSink()

    init(l7: L7Config? = L7Config(dnsPorts: [53], httpPorts: [80])) throws {
        let (config, _) = try MetricsConfig.parse(Self.spec)
        metrics = MetricsEngine(config: config)
        let decoder = EventDecoder(
            nodeName: "lab/node-1", bootToWallOffsetNs: 0, interfaceName: { $0 == 2 ? "lxc1" : nil },
            dropReasonResolver: {
                $0 == StepHarness.policyDropReason ? (.policyDenied, "NETFILTER_DROP") : (.unknown, nil)
            })
        let sink = self.sink
        step = FlowPipelineStep(
            decoder: decoder, metrics: metrics, l7: l7, enrich: StepHarness.enrich, export: { sink.append($0) })
    }

    /// Pods by address, as the endpoints resolver would set them.
    static let enrich: FlowPipelineStep.Enricher = { flow in
        func pod(_ ip: IPAddress) -> Endpoint? {
            switch ip.description {
            case client: Endpoint(identity: 1001, namespace: "default", labels: ["k8s:app=client"], podName: "client-1")
            case server: Endpoint(identity: 1002, namespace: "default", labels: ["k8s:app=server"], podName: "server-1")
            default: nil
            }
        }
        guard let ip = flow.ip else { return }
        flow.source = pod(ip.source)
        flow.destination = pod(ip.destination)
    }

    var exported: [Flow] { sink.flows }

    func exposition() -> PrometheusText {
        PrometheusText(String(decoding: metrics.render(.prometheusText), as: UTF8.self))
    }

    // MARK: Records

    /// The record of a packet seen on the client pod's veth (ifindex 2) at `obs`; `isReply` sets what the kernel's
    /// connection tracking knew, `l7` SPY_F_L7_CANDIDATE as the tc program does for DNS/HTTP ports.
    static func trace(
        _ frame: [UInt8], obs: UInt8 = SpyEventLayout.ObservationCode.fromEndpoint, timeNs: UInt64,
        isReply: Bool? = nil, l7: Bool = false, l7Only: Bool = false
    ) -> [UInt8] {
        var e = EventBuilder.trace(
            frame: frame, obsPoint: obs, isReply: isReply, ifindex: 2, timestampNs: timeNs,
            snapLen: SpyEventLayout.maxSnapLen)
        if l7 { e.flags.insert(.l7Candidate) }
        if l7Only { e.flags.insert(.l7Only) }
        return e.build()
    }

    /// The record of a packet the kernel dropped (skb:kfree_skb) with the kernel reason `reason`.
    static func drop(_ frame: [UInt8], reason: UInt32 = policyDropReason, timeNs: UInt64, l7: Bool = false) -> [UInt8] {
        var e = EventBuilder.trace(
            frame: frame, obsPoint: 0xff, ifindex: 2, timestampNs: timeNs, snapLen: SpyEventLayout.maxSnapLen)
        e.kind = SpyEventLayout.Kind.drop.rawValue
        e.dropReason = reason
        if l7 { e.flags.insert(.l7Candidate) }
        return e.build()
    }

    static func udp(from: String, to: String, sport: UInt16, dport: UInt16, _ payload: [UInt8]) -> [UInt8] {
        PacketBuilder.ethernet(src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02")
            .ipv4(src: from, dst: to).udp(sport: sport, dport: dport).payload(payload).build()
    }

    static func tcp(
        from: String, to: String, sport: UInt16, dport: UInt16, flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
        _ payload: [UInt8] = []
    ) -> [UInt8] {
        PacketBuilder.ethernet(src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02")
            .ipv4(src: from, dst: to).tcp(sport: sport, dport: dport, flags: flags, seq: seq, ack: ack).payload(payload)
            .build()
    }
}

/// The export sink: every flow, in order.
final class FlowSink: Sendable {
    private let store = Mutex<[Flow]>([])
    func append(_ flow: Flow) { store.withLock { $0.append(flow) } }
    var flows: [Flow] { store.withLock { $0 } }
}

/// DNS messages written byte by byte (independent of the parser under test).
enum DNSWire {
    static func name(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in text.split(separator: ".") {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        return out + [0]
    }

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }

    static func query(id: UInt16, _ name: String) -> [UInt8] {
        u16(id) + u16(0x0100) + u16(1) + u16(0) + u16(0) + u16(0) + self.name(name) + u16(1) + u16(1)
    }

    /// A NOERROR response with one A record (owner: a pointer to the question name).
    static func aResponse(id: UInt16, _ name: String, ip: [UInt8]) -> [UInt8] {
        u16(id) + u16(0x8180) + u16(1) + u16(1) + u16(0) + u16(0) + self.name(name) + u16(1) + u16(1)
            + [0xc0, 12] + u16(1) + u16(1) + [0, 0, 1, 0x2c] + u16(4) + ip
    }
}

extension Flow {
    var dns: DNS? { l7?.dns }
    var http: HTTP? { l7?.http }
}
