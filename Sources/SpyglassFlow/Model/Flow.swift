import SpyglassSupport

/// A network event in Hubble's shape (`api/v1/flow/flow.proto`, see docs/hubble-compatibility.md §7).
///
/// Field names follow the proto so the JSON exporter and metric handlers read like Hubble's. Optional
/// fields are `nil` where the proto message would be absent; `isReply == nil` means "unknown", as the
/// proto's BoolValue wrapper does.
public struct Flow: Sendable, Equatable {
    public var time: Timestamp
    /// Filled by exporters that need it (generating one per event is not free); empty otherwise.
    public var uuid: String
    public var verdict: Verdict
    public var dropReasonDesc: DropReason
    /// The kernel's own drop reason name without the `SKB_DROP_REASON_` prefix (drop flows only).
    public var kernelDropReason: String?
    public var ethernet: Ethernet?
    public var ip: IPHeader?
    public var l4: Layer4?
    public var source: Endpoint?
    public var destination: Endpoint?
    public var type: FlowType
    public var nodeName: String
    public var sourceNames: [String]
    public var destinationNames: [String]
    public var l7: Layer7?
    public var eventType: CiliumEventType?
    public var sourceService: Service?
    public var destinationService: Service?
    public var trafficDirection: TrafficDirection
    public var traceObservationPoint: TraceObservationPoint
    public var isReply: Bool?
    public var interface: NetworkInterface?
    public var traceContext: TraceContext?
    /// Packets and bytes the kernel folded into this report (monitor aggregation); 1 and the packet length
    /// at aggregation level `none`.
    public var aggregatedPackets: UInt32
    public var aggregatedBytes: UInt64
    /// `policy_match_type` (flow.proto field 23) of policy-verdict events; nil when the event carries none.
    public var policyMatchType: UInt32?

    public init(
        time: Timestamp = Timestamp(seconds: 0, nanos: 0),
        uuid: String = "",
        verdict: Verdict = .verdictUnknown,
        dropReasonDesc: DropReason = .unknown,
        kernelDropReason: String? = nil,
        ethernet: Ethernet? = nil,
        ip: IPHeader? = nil,
        l4: Layer4? = nil,
        source: Endpoint? = nil,
        destination: Endpoint? = nil,
        type: FlowType = .unknownType,
        nodeName: String = "",
        sourceNames: [String] = [],
        destinationNames: [String] = [],
        l7: Layer7? = nil,
        eventType: CiliumEventType? = nil,
        sourceService: Service? = nil,
        destinationService: Service? = nil,
        trafficDirection: TrafficDirection = .unknown,
        traceObservationPoint: TraceObservationPoint = .unknownPoint,
        isReply: Bool? = nil,
        interface: NetworkInterface? = nil,
        traceContext: TraceContext? = nil,
        aggregatedPackets: UInt32 = 1,
        aggregatedBytes: UInt64 = 0,
        policyMatchType: UInt32? = nil
    ) {
        self.time = time
        self.uuid = uuid
        self.verdict = verdict
        self.dropReasonDesc = dropReasonDesc
        self.kernelDropReason = kernelDropReason
        self.ethernet = ethernet
        self.ip = ip
        self.l4 = l4
        self.source = source
        self.destination = destination
        self.type = type
        self.nodeName = nodeName
        self.sourceNames = sourceNames
        self.destinationNames = destinationNames
        self.l7 = l7
        self.eventType = eventType
        self.sourceService = sourceService
        self.destinationService = destinationService
        self.trafficDirection = trafficDirection
        self.traceObservationPoint = traceObservationPoint
        self.isReply = isReply
        self.interface = interface
        self.traceContext = traceContext
        self.aggregatedPackets = aggregatedPackets
        self.aggregatedBytes = aggregatedBytes
        self.policyMatchType = policyMatchType
    }
}

/// Wall-clock time of an observation (protobuf Timestamp).
public struct Timestamp: Sendable, Equatable, Hashable, Comparable {
    public var seconds: Int64
    public var nanos: Int32
    public init(seconds: Int64, nanos: Int32) {
        self.seconds = seconds
        self.nanos = nanos
    }
    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanos) < (b.seconds, b.nanos)
    }
    /// Seconds since the Unix epoch as a Double (for exemplar timestamps).
    public var unixSeconds: Double { Double(seconds) + Double(nanos) / 1e9 }

    /// Wall-clock now.
    public static var now: Timestamp {
        let (seconds, nanos) = SystemClock.wall()
        return Timestamp(seconds: seconds, nanos: nanos)
    }

    /// An RFC 3339 date-time (`2023-10-09T23:59:59-07:00`); nil when the text is not one.
    public init?(rfc3339 text: String) {
        guard let (seconds, nanos) = RFC3339.parse(text) else { return nil }
        self.init(seconds: seconds, nanos: nanos)
    }
}

/// `event_type` of a flow: the monitor message type and subtype (docs/hubble-compatibility.md §7.1).
public struct CiliumEventType: Sendable, Equatable, Hashable {
    public var type: Int32
    public var subType: Int32
    public init(type: Int32, subType: Int32) {
        self.type = type
        self.subType = subType
    }
    public static let drop: Int32 = 1
    public static let debug: Int32 = 2
    public static let capture: Int32 = 3
    public static let trace: Int32 = 4
    public static let policyVerdict: Int32 = 5
    public static let traceSock: Int32 = 7
    public static let accessLog: Int32 = 129
    public static let agent: Int32 = 130
}

public struct Ethernet: Sendable, Equatable, Hashable {
    public var source: MACAddress
    public var destination: MACAddress
    public init(source: MACAddress, destination: MACAddress) {
        self.source = source
        self.destination = destination
    }
}

public struct IPHeader: Sendable, Equatable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var ipVersion: IPVersion
    public var encrypted: Bool
    public init(source: IPAddress, destination: IPAddress, ipVersion: IPVersion, encrypted: Bool = false) {
        self.source = source
        self.destination = destination
        self.ipVersion = ipVersion
        self.encrypted = encrypted
    }
}

public struct TCPFlags: Sendable, Equatable, Hashable, OptionSet {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
    public static let urg = TCPFlags(rawValue: 0x20)
    public static let ece = TCPFlags(rawValue: 0x40)
    public static let cwr = TCPFlags(rawValue: 0x80)
    public static let ns = TCPFlags(rawValue: 0x100)
    /// Proto field order of the TCPFlags message: FIN SYN RST PSH ACK URG ECE CWR NS.
    public static let protoOrder: [(TCPFlags, String)] = [
        (.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"), (.ack, "ACK"),
        (.urg, "URG"), (.ece, "ECE"), (.cwr, "CWR"), (.ns, "NS")
    ]
}

public struct TCP: Sendable, Equatable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var flags: TCPFlags?
    public init(sourcePort: UInt16, destinationPort: UInt16, flags: TCPFlags? = nil) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.flags = flags
    }
}

public struct UDP: Sendable, Equatable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public init(sourcePort: UInt16, destinationPort: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }
}

public struct SCTP: Sendable, Equatable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public init(sourcePort: UInt16, destinationPort: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }
}

public struct ICMP: Sendable, Equatable, Hashable {
    public var type: UInt8
    public var code: UInt8
    public init(type: UInt8, code: UInt8) {
        self.type = type
        self.code = code
    }
}

/// The `l4` oneof.
public enum Layer4: Sendable, Equatable, Hashable {
    case tcp(TCP)
    case udp(UDP)
    case icmpv4(ICMP)
    case icmpv6(ICMP)
    case sctp(SCTP)
    case vrrp(VRRP)
    case igmp(IGMP)
}

public struct VRRP: Sendable, Equatable, Hashable {
    public var type: UInt32
    public var vrid: UInt32
    public var priority: UInt32
    public init(type: UInt32, vrid: UInt32, priority: UInt32) {
        self.type = type
        self.vrid = vrid
        self.priority = priority
    }
}

public struct IGMP: Sendable, Equatable, Hashable {
    public var type: UInt32
    /// The group of the message; nil when the message carries none in its fixed header (IGMPv3 reports).
    public var groupAddress: IPAddress?
    public init(type: UInt32, groupAddress: IPAddress?) {
        self.type = type
        self.groupAddress = groupAddress
    }
}

public struct Workload: Sendable, Equatable, Hashable {
    public var name: String
    public var kind: String
    public init(name: String, kind: String) {
        self.name = name
        self.kind = kind
    }
}

/// `source` / `destination` endpoint (docs/hubble-compatibility.md §7.2).
///
/// Interned: the fields live in one immutable, shared record, so putting an endpoint on a flow (enrichment, once
/// per event and side) and copying or destroying that flow costs one reference count, not one per string and array.
/// Setting a field gives this value a record of its own (copy on write); equality and hashing compare the fields.
public struct Endpoint: Sendable, Equatable, Hashable {
    /// The fields, as plain stored properties.
    struct Fields: Sendable, Equatable, Hashable {
        var id: UInt32
        var identity: UInt32
        var clusterName: String
        var namespace: String
        var labels: [String]
        var podName: String
        var workloads: [Workload]
    }

    final class Record: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var record: Record

    public init(
        id: UInt32 = 0, identity: UInt32 = 0, clusterName: String = "", namespace: String = "",
        labels: [String] = [], podName: String = "", workloads: [Workload] = []
    ) {
        record = Record(
            Fields(
                id: id, identity: identity, clusterName: clusterName, namespace: namespace, labels: labels,
                podName: podName, workloads: workloads))
    }

    @inline(__always) private mutating func update(_ change: (inout Fields) -> Void) {
        var f = record.fields
        change(&f)
        record = Record(f)
    }

    public var id: UInt32 {
        get { record.fields.id }
        set { update { $0.id = newValue } }
    }
    public var identity: UInt32 {
        get { record.fields.identity }
        set { update { $0.identity = newValue } }
    }
    public var clusterName: String {
        get { record.fields.clusterName }
        set { update { $0.clusterName = newValue } }
    }
    public var namespace: String {
        get { record.fields.namespace }
        set { update { $0.namespace = newValue } }
    }
    /// `source:key=value` form, e.g. `k8s:app=web`, `reserved:world`; sorted.
    public var labels: [String] {
        get { record.fields.labels }
        set { update { $0.labels = newValue } }
    }
    public var podName: String {
        get { record.fields.podName }
        set { update { $0.podName = newValue } }
    }
    public var workloads: [Workload] {
        get { record.fields.workloads }
        set { update { $0.workloads = newValue } }
    }

    public static func == (a: Endpoint, b: Endpoint) -> Bool {
        a.record === b.record || a.record.fields == b.record.fields
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(record.fields) }
}

public struct Service: Sendable, Equatable, Hashable {
    public var name: String
    public var namespace: String
    public init(name: String, namespace: String) {
        self.name = name
        self.namespace = namespace
    }
}

public struct NetworkInterface: Sendable, Equatable, Hashable {
    public var index: UInt32
    public var name: String
    public init(index: UInt32, name: String) {
        self.index = index
        self.name = name
    }
}

public struct TraceContext: Sendable, Equatable, Hashable {
    /// 32 lower-case hex characters (W3C trace-id).
    public var traceID: String
    public init(traceID: String) { self.traceID = traceID }
}
