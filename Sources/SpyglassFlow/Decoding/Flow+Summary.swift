extension Flow {
    /// Hubble's deprecated `Summary` (flow.proto field 100000), what Hubble's compact printer shows in parentheses.
    /// L7 flows describe the message, as Hubble's L7 parser does: `HTTP/1.1 POST http://host/path`,
    /// `HTTP/1.1 200 12ms (POST http://host/path)`, `DNS Query example.com. A`,
    /// `DNS Answer "10.0.0.1" TTL: 30 (Proxy example.com. A)`. L3/L4 flows describe the packet: `TCP Flags: SYN, ACK`
    /// (flag names in FIN SYN RST PSH ACK URG ECE CWR NS order), `UDP`, `SCTP`, `ICMPv4 EchoRequest`,
    /// `ICMPv6 EchoReply`, …; without L4 `IPv4`/`IPv6`; otherwise "".
    public var summary: String {
        if type == .l7, let l7, let s = l7.summary { return s }
        return l4Summary
    }

    var l4Summary: String {
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

extension Layer7 {
    /// The summary of an L7 record; nil without a record.
    var summary: String? {
        switch record {
        case .http(let h):
            let request = h.method + " " + h.url
            switch type {
            case .request: return h.protocol + " " + request
            case .response: return "\(h.protocol) \(h.code) \(latencyNs / 1_000_000)ms (\(request))"
            default: return h.protocol + " " + request
            }
        case .dns(let d):
            let qtypes = d.qtypes.joined(separator: ",")
            switch type {
            case .response:
                let answer =
                    d.rcode == 0 ? "\"" + d.ips.joined(separator: ",") + "\"" : "RCode: " + Self.rcodeName(d.rcode)
                let source = d.observationSource == "proxy" ? "Proxy" : "Query"
                return "DNS Answer \(answer) TTL: \(d.ttl) (\(source) \(d.query) \(qtypes))"
            default:
                return "DNS Query \(d.query) \(qtypes)"
            }
        case nil:
            return nil
        }
    }

    static func rcodeName(_ code: UInt32) -> String {
        switch code {
        case 1: "Format Error"
        case 2: "Server Failure"
        case 3: "Non-Existent Domain"
        case 4: "Not Implemented"
        case 5: "Query Refused"
        default: String(code)
        }
    }
}
