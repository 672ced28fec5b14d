/// Enums of flow.proto with their proto names (docs/hubble-compatibility.md §4.5, §7).

public enum Verdict: Int32, Sendable, CaseIterable {
    case verdictUnknown = 0, forwarded = 1, dropped = 2, error = 3, audit = 4, redirected = 5, traced = 6, translated =
        7

    /// Proto enum name, as used in JSON and metric labels.
    public var name: String {
        switch self {
        case .verdictUnknown: "VERDICT_UNKNOWN"
        case .forwarded: "FORWARDED"
        case .dropped: "DROPPED"
        case .error: "ERROR"
        case .audit: "AUDIT"
        case .redirected: "REDIRECTED"
        case .traced: "TRACED"
        case .translated: "TRANSLATED"
        }
    }
}

public enum FlowType: Int32, Sendable, CaseIterable {
    case unknownType = 0, l3L4 = 1, l7 = 2, sock = 3
    public var name: String {
        switch self {
        case .unknownType: "UNKNOWN_TYPE"
        case .l3L4: "L3_L4"
        case .l7: "L7"
        case .sock: "SOCK"
        }
    }
}

public enum TrafficDirection: Int32, Sendable, CaseIterable {
    case unknown = 0, ingress = 1, egress = 2
    public var name: String {
        switch self {
        case .unknown: "TRAFFIC_DIRECTION_UNKNOWN"
        case .ingress: "INGRESS"
        case .egress: "EGRESS"
        }
    }
}

public enum IPVersion: Int32, Sendable, CaseIterable {
    case ipNotUsed = 0, ipv4 = 1, ipv6 = 2
    public var name: String {
        switch self {
        case .ipNotUsed: "IP_NOT_USED"
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        }
    }
}

public enum L7FlowType: Int32, Sendable, CaseIterable {
    case unknownL7Type = 0, request = 1, response = 2, sample = 3
    public var name: String {
        switch self {
        case .unknownL7Type: "UNKNOWN_L7_TYPE"
        case .request: "REQUEST"
        case .response: "RESPONSE"
        case .sample: "SAMPLE"
        }
    }
}

/// `trace_observation_point` (proto enum) and the datapath code carried in `event_type.sub_type`
/// (docs/hubble-compatibility.md §4.3).
public enum TraceObservationPoint: Int32, Sendable, CaseIterable {
    case unknownPoint = 0
    case toProxy = 1, toHost = 2, toStack = 3, toOverlay = 4, fromEndpoint = 5, fromProxy = 6, fromHost = 7
    case fromStack = 8, fromOverlay = 9, fromNetwork = 10, toNetwork = 11, fromCrypto = 12, toCrypto = 13
    case toEndpoint = 101

    public var name: String {
        switch self {
        case .unknownPoint: "UNKNOWN_POINT"
        case .toProxy: "TO_PROXY"
        case .toHost: "TO_HOST"
        case .toStack: "TO_STACK"
        case .toOverlay: "TO_OVERLAY"
        case .fromEndpoint: "FROM_ENDPOINT"
        case .fromProxy: "FROM_PROXY"
        case .fromHost: "FROM_HOST"
        case .fromStack: "FROM_STACK"
        case .fromOverlay: "FROM_OVERLAY"
        case .fromNetwork: "FROM_NETWORK"
        case .toNetwork: "TO_NETWORK"
        case .fromCrypto: "FROM_CRYPTO"
        case .toCrypto: "TO_CRYPTO"
        case .toEndpoint: "TO_ENDPOINT"
        }
    }

    /// The datapath code (`event_type.sub_type` of trace events); nil for UNKNOWN_POINT.
    public var datapathCode: Int32? {
        switch self {
        case .unknownPoint: nil
        case .toEndpoint: 0
        default: rawValue
        }
    }

    /// From the datapath code of a trace event.
    public init(datapathCode: Int32) {
        switch datapathCode {
        case 0: self = .toEndpoint
        case 1...13: self = TraceObservationPoint(rawValue: datapathCode) ?? .unknownPoint
        default: self = .unknownPoint
        }
    }

    /// Monitor name of a datapath code, the `subtype` label of `hubble_flows_processed_total`; "" if unknown.
    public static func monitorName(datapathCode: Int32) -> String {
        switch datapathCode {
        case 0: "to-endpoint"
        case 1: "to-proxy"
        case 2: "to-host"
        case 3: "to-stack"
        case 4: "to-overlay"
        case 5: "from-endpoint"
        case 6: "from-proxy"
        case 7: "from-host"
        case 8: "from-stack"
        case 9: "from-overlay"
        case 10: "from-network"
        case 11: "to-network"
        case 12: "from-crypto"
        case 13: "to-crypto"
        default: ""
        }
    }

    /// True for points where the packet enters something (`to-*` side is false).
    public var isFromPoint: Bool {
        switch self {
        case .fromEndpoint, .fromProxy, .fromHost, .fromStack, .fromOverlay, .fromNetwork, .fromCrypto: true
        default: false
        }
    }
}
