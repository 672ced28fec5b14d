/// What a kernel `skb_drop_reason` means for a Hubble user: is the packet lost to its destination (a drop), or is
/// the free part of a healthy life (a socket closing, TCP discarding a stale segment, a copy whose original went on)?
/// Only class `drop` becomes a drop flow and `hubble_drop_total` by default; `spyglass_drops_total{reason,class}`
/// counts every class. The README's "Drops" section is the table below with the reasons why.
public enum DropClass: String, Sendable, CaseIterable, Hashable {
    /// The packet did not reach its destination: policy/firewall, routing, neighbour, no socket for a new
    /// connection or datagram, checksum, full queues and backlogs, fragments, other host, malformed headers.
    case drop
    /// Socket and connection lifecycle, and TCP's own state checks: the data had reached its socket (or a
    /// connection that is gone), which discards what it no longer wants.
    case socket
    /// Delivered anyway or meant for no one: a socket filter declining its copy, an ICMP echo reply a raw socket
    /// received (`NO_SOCKET` for the ping socket lookup), duplicates, neighbour solicitations for another host,
    /// `NOT_SPECIFIED` (multicast control with no listener: IPv6 router solicitations, MLD reports).
    case benign

    /// Kernel-side code (`spy_drop_class` values in the drop program).
    public var code: UInt8 {
        switch self {
        case .drop: 0
        case .socket: 1
        case .benign: 2
        }
    }

    public init?(code: UInt8) {
        guard let c = DropClass.allCases.first(where: { $0.code == code }) else { return nil }
        self = c
    }
}

/// One kernel reason's decision: its class and the Hubble `DropReason` its flows carry. `exact` says the Hubble
/// reason means the same thing (then `hubble_drop_total{reason}` uses the Hubble name; otherwise the kernel's name,
/// docs/hubble-compatibility.md §11.4). Flows always carry the Hubble reason, so Hubble's printers never show a drop as success.
public struct DropReasonRule: Sendable, Equatable {
    public var dropClass: DropClass
    public var hubble: DropReason
    public var exact: Bool
    public init(dropClass: DropClass, hubble: DropReason, exact: Bool) {
        self.dropClass = dropClass
        self.hubble = hubble
        self.exact = exact
    }
}

public enum DropClassification {
    /// Class of a kernel reason name absent from `rules` (a newer kernel's reason, a subsystem reason, `UNKNOWN` on
    /// kernels without reasons): reported, because hiding a real loss is worse than showing a new free.
    public static let defaultRule = DropReasonRule(dropClass: .drop, hubble: .invalidPacketDropped, exact: false)

    /// Reasons that, for a packet to a multicast or broadcast address, only say that no one here listens (mDNS or
    /// SSDP with no socket, VRRP without a daemon, IPv6 multicast on an interface without IPv6): class `benign`
    /// for such packets, decided in the kernel from the destination address.
    public static let multicastIsBenign: Set<String> = ["NO_SOCKET", "IP_NOPROTO", "UNHANDLED_PROTO", "IPV6DISABLED"]

    /// The rule for a kernel reason name (without `SKB_DROP_REASON_`).
    public static func rule(for name: String) -> DropReasonRule {
        rules[name] ?? defaultRule
    }

    /// True when `name` was decided explicitly (not by the default).
    public static func isKnown(_ name: String) -> Bool { rules[name] != nil }

    // Hubble reasons used below (flow.proto DropReason).
    static let invalidSourceMAC = DropReason(rawValue: 130)
    static let invalidDestinationMAC = DropReason(rawValue: 131)
    static let invalidSourceIP = DropReason(rawValue: 132)
    static let policy = DropReason.policyDenied  // 133
    static let invalid = DropReason.invalidPacketDropped  // 134
    static let truncated = DropReason(rawValue: 135)  // CT_TRUNCATED_OR_INVALID_HEADER
    static let unknownL4 = DropReason(rawValue: 142)  // UNKNOWN_L4_PROTOCOL
    static let badExtHeader = DropReason(rawValue: 156)  // INVALID_IPV6_EXTENSION_HEADER
    static let noTunnel = DropReason(rawValue: 160)  // NO_TUNNEL_OR_ENCAPSULATION_ENDPOINT
    static let fib = DropReason(rawValue: 169)  // FIB_LOOKUP_FAILED (routes and neighbours)
    static let fragment = DropReason(rawValue: 175)  // FIRST_LOGICAL_DATAGRAM_FRAGMENT_NOT_FOUND
    static let forbiddenICMPv6 = DropReason(rawValue: 176)
    static let socketLookup = DropReason(rawValue: 178)  // SOCKET_LOOKUP_FAILED
    static let vlanFiltered = DropReason(rawValue: 182)
    static let invalidVNI = DropReason(rawValue: 183)
    static let rateLimited = DropReason(rawValue: 198)  // DROP_RATE_LIMITED (full queues, no memory)

    private static func d(_ r: DropReason, exact: Bool = false) -> DropReasonRule {
        DropReasonRule(dropClass: .drop, hubble: r, exact: exact)
    }
    private static let socketRule = DropReasonRule(dropClass: .socket, hubble: invalid, exact: false)
    private static let benignRule = DropReasonRule(dropClass: .benign, hubble: invalid, exact: false)

    /// Every reason of Linux 6.18's `enum skb_drop_reason` (plus older names), decided one by one.
    public static let rules: [String: DropReasonRule] = {
        var r: [String: DropReasonRule] = [:]
        // Policy: a firewall, BPF, LSM, IPsec or TCP-auth verdict.
        r["NETFILTER_DROP"] = d(policy, exact: true)
        for n in [
            "XFRM_POLICY", "BPF_CGROUP_EGRESS", "TC_EGRESS", "TC_INGRESS", "SECURITY_HOOK", "XDP",
            "TAP_FILTER", "TAP_TXFILTER", "TCP_AUTH_HDR", "TCP_MD5NOTFOUND", "TCP_MD5UNEXPECTED",
            "TCP_MD5FAILURE", "TCP_AONOTFOUND", "TCP_AOUNEXPECTED", "TCP_AOKEYNOTFOUND", "TCP_AOFAILURE",
            "TCP_MINTTL", "PSP_INPUT", "PSP_OUTPUT", "ARP_PVLAN_DISABLE", "IPV6DISABLED"
        ] {
            r[n] = d(policy)
        }
        r["IP_RPFILTER"] = d(invalidSourceIP)
        // No socket for a new connection or datagram (an echo reply is re-classed as benign in the kernel).
        r["NO_SOCKET"] = d(socketLookup)
        // Checksums and malformed headers.
        for n in [
            "TCP_CSUM", "UDP_CSUM", "IP_CSUM", "ICMP_CSUM", "SKB_CSUM", "IP_INHDR", "INVALID_PROTO",
            "PKT_TOO_BIG", "IPV6_NDISC_FRAG", "IPV6_NDISC_HOP_LIMIT", "IPV6_NDISC_BAD_CODE",
            "IPV6_NDISC_BAD_OPTIONS", "VXLAN_INVALID_HDR", "MAC_IEEE_MAC_CONTROL", "CAN_RX_INVALID_FRAME",
            "CANFD_RX_INVALID_FRAME", "CANXL_RX_INVALID_FRAME", "IP_TUNNEL_ECN", "DEV_HDR"
        ] {
            r[n] = d(invalid)
        }
        for n in ["PKT_TOO_SMALL", "HDR_TRUNC"] { r[n] = d(truncated) }
        r["IPV6_BAD_EXTHDR"] = d(badExtHeader, exact: true)
        r["IPV6_TOO_MANY_EXTHDRS"] = d(badExtHeader)
        r["IP_NOPROTO"] = d(unknownL4, exact: true)
        r["UNHANDLED_PROTO"] = d(unknownL4, exact: true)
        // Routes and neighbours.
        r["IP_OUTNOROUTES"] = d(fib, exact: true)
        r["IP_INNOROUTES"] = d(fib, exact: true)
        for n in [
            "IP_INADDRERRORS", "IP_INVALID_DEST", "NEIGH_CREATEFAIL", "NEIGH_FAILED", "NEIGH_QUEUEFULL",
            "NEIGH_DEAD", "NEIGH_HH_FILLFAIL", "NO_TX_TARGET"
        ] {
            r[n] = d(fib)
        }
        for n in ["IP_LOCAL_SOURCE", "IP_INVALID_SOURCE", "IP_LOCALNET"] { r[n] = d(invalidSourceIP) }
        // Not for this host.
        for n in ["OTHERHOST", "UNICAST_IN_L2_MULTICAST", "LOCAL_MAC"] { r[n] = d(invalidDestinationMAC) }
        r["MAC_INVALID_SOURCE"] = d(invalidSourceMAC)
        // Full queues, backlogs and memory.
        for n in [
            "SOCKET_RCVBUFF", "SOCKET_BACKLOG", "PROTO_MEM", "TCP_LISTEN_OVERFLOW", "TCP_ZEROWINDOW",
            "TCP_OVERWINDOW", "TCP_OFO_QUEUE_PRUNE", "TCP_OFO_DROP", "QDISC_DROP", "QDISC_OVERLIMIT",
            "QDISC_CONGESTED", "CAKE_FLOOD", "FQ_BAND_LIMIT", "FQ_HORIZON_LIMIT", "FQ_FLOW_LIMIT",
            "CPU_BACKLOG", "FULL_RING", "NOMEM", "PFMEMALLOC", "DUALPI2_STEP_DROP", "DEV_READY",
            "SKB_GSO_SEG", "SKB_UCOPY_FAULT", "SKB_RX_HEADROOM", "RECURSION_LIMIT", "TC_COOKIE_ERROR",
            "TC_CHAIN_NOTFOUND", "TC_RECLASSIFY_LOOP"
        ] {
            r[n] = d(rateLimited)
        }
        // Fragments.
        for n in ["FRAG_REASM_TIMEOUT", "FRAG_TOO_FAR"] { r[n] = d(fragment) }
        // Tunnels, bridges, VLANs.
        for n in ["VXLAN_VNI_NOT_FOUND", "VXLAN_ENTRY_EXISTS"] { r[n] = d(invalidVNI) }
        r["TUNNEL_TXINFO"] = d(noTunnel)
        r["BRIDGE_INGRESS_STP_STATE"] = d(vlanFiltered)
        // Socket lifecycle and TCP's state machine: the segment reached its connection, which no longer wants it.
        for n in [
            "SOCKET_CLOSE", "QUEUE_PURGE", "UNIX_DISCONNECT", "UNIX_SKIP_OOB", "TCP_CLOSE", "TCP_ABORT_ON_DATA",
            "TCP_RESET", "TCP_FLAGS", "TCP_OLD_SEQUENCE", "TCP_INVALID_SEQUENCE", "TCP_INVALID_END_SEQUENCE",
            "TCP_INVALID_ACK_SEQUENCE", "TCP_INVALID_SYN", "TCP_OLD_ACK", "TCP_TOO_OLD_ACK",
            "TCP_ACK_UNSENT_DATA", "TCP_FASTOPEN", "TCP_RFC7323_PAWS", "TCP_RFC7323_PAWS_ACK",
            "TCP_RFC7323_TW_PAWS", "TCP_RFC7323_TSECR"
        ] {
            r[n] = socketRule
        }
        // Delivered anyway, or meant for no one.
        for n in [
            "NOT_SPECIFIED", "SOCKET_FILTER", "PACKET_SOCK_ERROR", "TCP_OLD_DATA", "TCP_OFOMERGE", "DUP_FRAG",
            "IPV6_NDISC_NS_OTHERHOST"
        ] {
            r[n] = benignRule
        }
        return r
    }()

    /// Parses `--drop-classes` (comma-separated class names).
    public static func classes(from text: String) -> Result<Set<DropClass>, DropFlagError> {
        var out: Set<DropClass> = []
        for item in text.split(separator: ",") {
            let name = String(item.filter { $0 != " " })
            guard let c = DropClass(rawValue: name) else {
                return .failure(
                    DropFlagError(
                        message:
                            "--drop-classes: '\(name)' is not one of \(DropClass.allCases.map(\.rawValue).joined(separator: ", "))"
                    ))
            }
            out.insert(c)
        }
        return .success(out)
    }
}

public struct DropFlagError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The reasons a user asked to report: every reason of the wanted classes plus named extras.
public struct DropReportSet: Sendable, Equatable {
    public var classes: Set<DropClass> = [.drop]
    /// Kernel reason names reported whatever their class (`--drop-reasons-extra`).
    public var extraReasons: Set<String> = []
    public init(classes: Set<DropClass> = [.drop], extraReasons: Set<String> = []) {
        self.classes = classes
        self.extraReasons = extraReasons
    }

    public func reports(_ name: String) -> Bool {
        extraReasons.contains(name) || classes.contains(DropClassification.rule(for: name).dropClass)
    }
}
