import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SwiftProtobuf

/// Spyglass's `Flow` → Hubble's `GetFlowsResponse`, through the flow-log encoder: the API carries exactly what the
/// export files carry (one implementation of Hubble's flow content), decoded by swift-protobuf's protojson reader.
public struct FlowResponseEncoder: Sendable {
    let encoder: FlowRecordEncoder
    static let jsonOptions: JSONDecodingOptions = {
        var o = JSONDecodingOptions()
        o.ignoreUnknownFields = true
        return o
    }()

    public init(encoder: FlowRecordEncoder = FlowRecordEncoder()) {
        self.encoder = encoder
    }

    /// `uuid` gives the flow a fresh UUID when it has none (Hubble's API flows always carry one).
    public func response(for flow: Flow, uuid: UUIDv4? = nil) throws -> Observer_GetFlowsResponse {
        let line = encoder.encode(flow, uuid: flow.uuid.isEmpty ? uuid : nil)
        return try Observer_GetFlowsResponse(jsonUTF8Bytes: line, options: Self.jsonOptions)
    }

    public static func lost(source: LostEventSource, count: UInt64, nodeName: String, time: Timestamp)
        -> Observer_GetFlowsResponse
    {
        var r = Observer_GetFlowsResponse()
        var l = Flow_LostEvent()
        l.source = Flow_LostEventSource(name: source.rawValue)
        l.numEventsLost = count
        r.lostEvents = l
        r.nodeName = nodeName
        r.time = Google_Protobuf_Timestamp(seconds: time.seconds, nanos: time.nanos)
        return r
    }
}

extension Flow_LostEventSource {
    /// The source named as the printers name it (`FlowPrinter.name`), in any case.
    init(name: String) {
        let upper = name.uppercased()
        self = Self.allCases.first { FlowPrinter.name($0) == upper } ?? .unknownLostEventSource
    }
}

extension FlowFilter {
    /// A protobuf FlowFilter (GetFlows whitelist/blacklist) through the same protojson parser as the export
    /// allow/deny lists, so the API and the flow logs select with one matcher.
    public init(proto: Flow_FlowFilter) throws(FlowFilterError) {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        let text: String
        do {
            text = try proto.jsonString(options: options)
        } catch {
            throw FlowFilterError(field: "", message: "cannot encode filter: \(error)")
        }
        let list = try FlowFilter.parseList(text)
        self = list.first ?? FlowFilter()
    }
}

extension Flow {
    /// The fields of a Hubble protobuf Flow that filters and printers read, back in Spyglass's model (for
    /// `observe --input-file`, which filters flow logs with the same matcher as the server).
    public init(proto p: Flow_Flow) {
        self.init()
        time = Timestamp(seconds: p.time.seconds, nanos: p.time.nanos)
        uuid = p.uuid
        verdict = Verdict(rawValue: Int32(p.verdict.rawValue)) ?? .verdictUnknown
        dropReasonDesc = DropReason(rawValue: Int32(p.dropReasonDesc.rawValue))
        if p.hasEthernet, let s = MACAddress(text: p.ethernet.source), let d = MACAddress(text: p.ethernet.destination)
        {
            ethernet = Ethernet(source: s, destination: d)
        }
        if p.hasIp, let s = IPAddress(p.ip.source), let d = IPAddress(p.ip.destination) {
            ip = IPHeader(
                source: s, destination: d, ipVersion: IPVersion(rawValue: Int32(p.ip.ipVersion.rawValue)) ?? .ipNotUsed,
                encrypted: p.ip.encrypted)
        }
        switch p.l4.protocol {
        case .tcp(let t):
            var flags: TCPFlags = []
            let f = t.flags
            if f.fin { flags.insert(.fin) }
            if f.syn { flags.insert(.syn) }
            if f.rst { flags.insert(.rst) }
            if f.psh { flags.insert(.psh) }
            if f.ack { flags.insert(.ack) }
            if f.urg { flags.insert(.urg) }
            if f.ece { flags.insert(.ece) }
            if f.cwr { flags.insert(.cwr) }
            if f.ns { flags.insert(.ns) }
            l4 = .tcp(
                TCP(
                    sourcePort: UInt16(truncatingIfNeeded: t.sourcePort),
                    destinationPort: UInt16(truncatingIfNeeded: t.destinationPort),
                    flags: t.hasFlags ? flags : nil))
        case .udp(let u):
            l4 = .udp(
                UDP(
                    sourcePort: UInt16(truncatingIfNeeded: u.sourcePort),
                    destinationPort: UInt16(truncatingIfNeeded: u.destinationPort)))
        case .sctp(let u):
            l4 = .sctp(
                SCTP(
                    sourcePort: UInt16(truncatingIfNeeded: u.sourcePort),
                    destinationPort: UInt16(truncatingIfNeeded: u.destinationPort)))
        case .icmpv4(let i):
            l4 = .icmpv4(ICMP(type: UInt8(truncatingIfNeeded: i.type), code: UInt8(truncatingIfNeeded: i.code)))
        case .icmpv6(let i):
            l4 = .icmpv6(ICMP(type: UInt8(truncatingIfNeeded: i.type), code: UInt8(truncatingIfNeeded: i.code)))
        case .vrrp(let v): l4 = .vrrp(VRRP(type: v.type, vrid: v.vrid, priority: v.priority))
        case .igmp(let g): l4 = .igmp(IGMP(type: g.type, groupAddress: IPAddress(g.groupAddress)))
        case nil: l4 = nil
        }
        if p.hasSource { source = Endpoint(proto: p.source) }
        if p.hasDestination { destination = Endpoint(proto: p.destination) }
        type = FlowType(rawValue: Int32(p.type.rawValue)) ?? .unknownType
        nodeName = p.nodeName
        sourceNames = p.sourceNames
        destinationNames = p.destinationNames
        if p.hasL7 {
            var l7 = Layer7(
                type: L7FlowType(rawValue: Int32(p.l7.type.rawValue)) ?? .unknownL7Type, latencyNs: p.l7.latencyNs)
            switch p.l7.record {
            case .dns(let d):
                l7.record = .dns(
                    DNS(
                        query: d.query, ips: d.ips, ttl: d.ttl, cnames: d.cnames,
                        observationSource: d.observationSource,
                        rcode: d.rcode, qtypes: d.qtypes, rrtypes: d.rrtypes))
            case .http(let h):
                l7.record = .http(
                    HTTP(
                        code: h.code, method: h.method, url: h.url, protocol: h.protocol,
                        headers: h.headers.map { HTTPHeader(key: $0.key, value: $0.value) }))
            default: break
            }
            self.l7 = l7
        }
        if p.hasEventType { eventType = CiliumEventType(type: p.eventType.type, subType: p.eventType.subType) }
        if p.hasSourceService {
            sourceService = Service(name: p.sourceService.name, namespace: p.sourceService.namespace)
        }
        if p.hasDestinationService {
            destinationService = Service(name: p.destinationService.name, namespace: p.destinationService.namespace)
        }
        trafficDirection = TrafficDirection(rawValue: Int32(p.trafficDirection.rawValue)) ?? .unknown
        traceObservationPoint =
            TraceObservationPoint(rawValue: Int32(p.traceObservationPoint.rawValue)) ?? .unknownPoint
        isReply = p.hasIsReply ? p.isReply.value : nil
        if p.hasInterface { interface = NetworkInterface(index: p.interface.index, name: p.interface.name) }
        if p.hasTraceContext, !p.traceContext.parent.traceID.isEmpty {
            traceContext = TraceContext(traceID: p.traceContext.parent.traceID)
        }
        policyMatchType = p.policyMatchType == 0 ? nil : p.policyMatchType
    }
}

extension Endpoint {
    init(proto e: Flow_Endpoint) {
        self.init(
            id: e.id, identity: e.identity, clusterName: e.clusterName, namespace: e.namespace, labels: e.labels,
            podName: e.podName, workloads: e.workloads.map { Workload(name: $0.name, kind: $0.kind) })
    }
}
