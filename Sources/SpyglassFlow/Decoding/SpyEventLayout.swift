/// Swift mirror of the kernel↔user contract in `Sources/CSpyglassBPF/include/spyglass_events.h`.
///
/// SpyglassFlow does not import the C module: records are decoded by byte offset. Every constant here names the
/// C identifier it mirrors; when the header changes (and `SPY_EVENT_VERSION` is bumped), change this file with it.
/// Fixed fields are little-endian host integers (the agent and its BPF programs share the host), addresses are in
/// network byte order, ports in host byte order.
public enum SpyEventLayout {
    /// `SPY_EVENT_VERSION`
    public static let version: UInt16 = 1
    /// `sizeof(struct spy_packet_event)`; the smallest acceptable `hdr.header_len`.
    public static let packetEventSize = 96
    /// `sizeof(struct spy_event_header)`
    public static let headerSize = 8
    /// `SPY_MAX_SNAP_LEN`
    public static let maxSnapLen = 2048
    /// `SPY_MIN_SNAP_LEN`
    public static let minSnapLen = 128

    /// Byte offsets of the fields of `struct spy_packet_event`.
    public enum Offset {
        public static let version = 0  // hdr.version      __u16
        public static let kind = 2  // hdr.kind         __u16
        public static let headerLen = 4  // hdr.header_len   __u16
        public static let snapLen = 6  // hdr.snap_len     __u16
        public static let timestampNs = 8  // __u64 CLOCK_BOOTTIME
        public static let ifindex = 16  // __u32
        public static let pktLen = 20  // __u32
        public static let saddr = 24  // __u8[16], network order
        public static let daddr = 40  // __u8[16], network order
        public static let sport = 56  // __u16 host order (or ICMP echo id)
        public static let dport = 58  // __u16
        public static let vlanID = 60  // __u16
        public static let flags = 62  // __u16 SPY_F_*
        public static let direction = 64  // __u8 enum spy_direction
        public static let obsPoint = 65  // __u8
        public static let ipVersion = 66  // __u8 4, 6 or 0
        public static let l4Proto = 67  // __u8 IPPROTO_*
        public static let tcpFlags = 68  // __u8 SPY_TCP_*
        public static let icmpType = 69  // __u8
        public static let icmpCode = 70  // __u8
        public static let reportReason = 71  // __u8 enum spy_report_reason
        public static let l3Offset = 72  // __u16
        public static let l4Offset = 74  // __u16
        public static let dropReason = 76  // __u32
        public static let cpu = 80  // __u32
        public static let aggregated = 84  // __u32
        public static let aggregatedBytes = 88  // __u64
    }

    /// Every field of `struct spy_packet_event` by its C name (nested fields as `hdr.version`, arrays as one field):
    /// byte offset and size. `SpyEventLayoutTests` checks this table, field by field, against the compiled C header,
    /// so a field added to, moved in or resized in the header fails until it is described here.
    public static let fields: [String: (offset: Int, size: Int)] = [
        "hdr.version": (Offset.version, 2), "hdr.kind": (Offset.kind, 2), "hdr.header_len": (Offset.headerLen, 2),
        "hdr.snap_len": (Offset.snapLen, 2), "timestamp_ns": (Offset.timestampNs, 8), "ifindex": (Offset.ifindex, 4),
        "pkt_len": (Offset.pktLen, 4), "saddr": (Offset.saddr, 16), "daddr": (Offset.daddr, 16),
        "sport": (Offset.sport, 2),
        "dport": (Offset.dport, 2), "vlan_id": (Offset.vlanID, 2), "flags": (Offset.flags, 2),
        "direction": (Offset.direction, 1),
        "obs_point": (Offset.obsPoint, 1), "ip_version": (Offset.ipVersion, 1), "l4_proto": (Offset.l4Proto, 1),
        "tcp_flags": (Offset.tcpFlags, 1), "icmp_type": (Offset.icmpType, 1), "icmp_code": (Offset.icmpCode, 1),
        "report_reason": (Offset.reportReason, 1), "l3_offset": (Offset.l3Offset, 2), "l4_offset": (Offset.l4Offset, 2),
        "drop_reason": (Offset.dropReason, 4), "cpu": (Offset.cpu, 4), "aggregated": (Offset.aggregated, 4),
        "aggregated_bytes": (Offset.aggregatedBytes, 8)
    ]

    /// `enum spy_event_kind`
    public enum Kind: UInt16, Sendable, CaseIterable {
        case trace = 1  // SPY_EVENT_TRACE
        case drop = 2  // SPY_EVENT_DROP
    }

    /// `SPY_F_*` bits of `spy_packet_event.flags`.
    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let isReply = Flags(rawValue: 1 << 0)  // SPY_F_IS_REPLY
        public static let replyKnown = Flags(rawValue: 1 << 1)  // SPY_F_REPLY_KNOWN
        public static let newConnection = Flags(rawValue: 1 << 2)  // SPY_F_NEW_CONNECTION
        public static let vlan = Flags(rawValue: 1 << 3)  // SPY_F_VLAN
        public static let l4Present = Flags(rawValue: 1 << 4)  // SPY_F_L4_PRESENT
        public static let fragment = Flags(rawValue: 1 << 5)  // SPY_F_FRAGMENT
        public static let truncated = Flags(rawValue: 1 << 6)  // SPY_F_TRUNCATED
        public static let tcpNS = Flags(rawValue: 1 << 7)  // SPY_F_TCP_NS
        public static let l7Candidate = Flags(rawValue: 1 << 8)  // SPY_F_L7_CANDIDATE
        public static let l7Only = Flags(rawValue: 1 << 9)  // SPY_F_L7_ONLY
    }

    /// `enum spy_report_reason`; unknown codes are kept as raw values.
    public struct ReportReason: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let everyPacket = ReportReason(rawValue: 0)  // SPY_REPORT_EVERY_PACKET
        public static let newConnection = ReportReason(rawValue: 1)  // SPY_REPORT_NEW_CONNECTION
        public static let newTCPFlags = ReportReason(rawValue: 2)  // SPY_REPORT_NEW_TCP_FLAGS
        public static let interval = ReportReason(rawValue: 3)  // SPY_REPORT_INTERVAL
        public static let noState = ReportReason(rawValue: 4)  // SPY_REPORT_NO_STATE
        public static let l7 = ReportReason(rawValue: 5)  // SPY_REPORT_L7
    }

    /// `enum spy_direction` (tc hook direction).
    public enum HookDirection: UInt8, Sendable {
        case ingress = 0  // SPY_DIR_INGRESS
        case egress = 1  // SPY_DIR_EGRESS
    }

    /// `SPY_OBS_*` observation point codes (Cilium's datapath codes, docs/hubble-compatibility.md §4.3).
    public enum ObservationCode {
        public static let toEndpoint: UInt8 = 0  // SPY_OBS_TO_ENDPOINT
        public static let toProxy: UInt8 = 1  // SPY_OBS_TO_PROXY
        public static let toHost: UInt8 = 2  // SPY_OBS_TO_HOST
        public static let toStack: UInt8 = 3  // SPY_OBS_TO_STACK
        public static let toOverlay: UInt8 = 4  // SPY_OBS_TO_OVERLAY
        public static let fromEndpoint: UInt8 = 5  // SPY_OBS_FROM_ENDPOINT
        public static let fromProxy: UInt8 = 6  // SPY_OBS_FROM_PROXY
        public static let fromHost: UInt8 = 7  // SPY_OBS_FROM_HOST
        public static let fromStack: UInt8 = 8  // SPY_OBS_FROM_STACK
        public static let fromOverlay: UInt8 = 9  // SPY_OBS_FROM_OVERLAY
        public static let fromNetwork: UInt8 = 10  // SPY_OBS_FROM_NETWORK
        public static let toNetwork: UInt8 = 11  // SPY_OBS_TO_NETWORK
        public static let unknown: UInt8 = 0xff  // SPY_OBS_UNKNOWN
    }

    /// IP protocol numbers used by the datapath (`SPY_IPPROTO_*` in bpf/lib/common.bpf.h).
    public enum IPProto {
        public static let icmp: UInt8 = 1
        public static let igmp: UInt8 = 2
        public static let vrrp: UInt8 = 112
        public static let tcp: UInt8 = 6
        public static let udp: UInt8 = 17
        public static let icmpv6: UInt8 = 58
        public static let sctp: UInt8 = 132
    }
}
