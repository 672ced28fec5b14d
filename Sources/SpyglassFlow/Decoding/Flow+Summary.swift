extension Flow {
    /// Hubble's deprecated `Summary` (flow.proto field 100000), derived from the L4/L3 fields:
    /// `TCP Flags: SYN, ACK` (flag names in FIN SYN RST PSH ACK URG ECE CWR NS order), `UDP`, `SCTP`,
    /// `ICMPv4 EchoRequest`, `ICMPv6 EchoReply`, …; without L4 `IPv4`/`IPv6`; otherwise "".
    public var summary: String {
        switch l4 {
        case .tcp(let tcp):
            var s = "TCP Flags: "
            var first = true
            let flags = tcp.flags ?? []
            for (flag, name) in TCPFlags.protoOrder where flags.contains(flag) {
                if !first { s += ", " }
                s += name
                first = false
            }
            return s
        case .udp: return "UDP"
        case .sctp: return "SCTP"
        case .icmpv4(let icmp): return "ICMPv4 " + ICMPTypeName.v4(type: icmp.type, code: icmp.code)
        case .icmpv6(let icmp): return "ICMPv6 " + ICMPTypeName.v6(type: icmp.type, code: icmp.code)
        case .vrrp, .igmp, nil:
            switch ip?.ipVersion {
            case .ipv4: return "IPv4"
            case .ipv6: return "IPv6"
            default: return ""
            }
        }
    }
}
