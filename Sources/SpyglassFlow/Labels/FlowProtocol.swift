extension Flow {
    /// The "flow protocol" (`protocol` label of drop, flow and flows-to-world; docs/hubble-compatibility.md §4.1).
    public var flowProtocol: String {
        guard let et = eventType else { return "Unknown flow" }
        switch et.type {
        case CiliumEventType.accessLog:
            switch l7?.record {
            case .dns: return "DNS"
            case .http: return "HTTP"
            case nil: return "Unknown L7"
            }
        case CiliumEventType.drop, CiliumEventType.capture, CiliumEventType.trace, CiliumEventType.policyVerdict:
            switch l4 {
            case .tcp: return "TCP"
            case .udp: return "UDP"
            case .icmpv4: return "ICMPv4"
            case .icmpv6: return "ICMPv6"
            case .sctp: return "SCTP"
            case .vrrp: return "VRRP"
            case .igmp: return "IGMP"
            case nil: return "Unknown L4"
            }
        default:
            return "Unknown flow"
        }
    }
}
