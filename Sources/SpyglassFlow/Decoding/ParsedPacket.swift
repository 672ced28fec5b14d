/// What `PacketParser` found in a frame. Offsets count from the first byte of the frame (the MAC header); a field is
/// nil when its header is absent or was cut off.
public struct ParsedPacket: Sendable, Equatable {
    /// A header of the frame, for `truncatedAt` / `malformedAt`.
    public enum Layer: Sendable, Equatable, Hashable {
        case ethernet, vlan, ipv4, ipv6, ipv6Extension, tcp, udp, sctp, icmpv4, icmpv6
    }

    /// IPv4 fragmentation fields or an IPv6 fragment header.
    public struct Fragment: Sendable, Equatable {
        /// Fragment offset in bytes.
        public var offset: Int
        public var moreFragments: Bool
        public var identification: UInt32
        public init(offset: Int, moreFragments: Bool, identification: UInt32) {
            self.offset = offset
            self.moreFragments = moreFragments
            self.identification = identification
        }
    }

    public struct TCPHeader: Sendable, Equatable {
        public var sequence: UInt32
        public var acknowledgment: UInt32
        /// Header length in bytes (data offset × 4).
        public var headerLength: Int
        /// Including NS.
        public var flags: TCPFlags
        public var window: UInt16
        public init(sequence: UInt32, acknowledgment: UInt32, headerLength: Int, flags: TCPFlags, window: UInt16) {
            self.sequence = sequence
            self.acknowledgment = acknowledgment
            self.headerLength = headerLength
            self.flags = flags
            self.window = window
        }
    }

    public struct ICMPHeader: Sendable, Equatable {
        public var type: UInt8
        public var code: UInt8
        /// Echo request/reply identifier and sequence number (nil for other messages).
        public var echoID: UInt16?
        public var echoSequence: UInt16?
        public init(type: UInt8, code: UInt8, echoID: UInt16? = nil, echoSequence: UInt16? = nil) {
            self.type = type
            self.code = code
            self.echoID = echoID
            self.echoSequence = echoSequence
        }
    }

    /// Bytes given to the parser.
    public var frameLength: Int = 0
    public var ethernet: Ethernet?
    /// EtherType after the (optional) VLAN tag.
    public var etherType: UInt16?
    /// TPID (0x8100 or 0x88a8) and VLAN ID of the tag, if there was one.
    public var vlanTPID: UInt16?
    public var vlanID: UInt16?

    public var l3Offset: Int?
    public var ipVersion: IPVersion = .ipNotUsed
    public var source: IPAddress?
    public var destination: IPAddress?
    /// IPv4 TTL or IPv6 hop limit.
    public var ttl: UInt8?
    /// The upper-layer protocol: IPv4 `protocol`, or the IPv6 next header after the extension headers walked
    /// (for a non-first IPv6 fragment: the fragment header's next header).
    public var ipProtocol: UInt8?
    /// IPv6 extension header types walked, in order (0, 43, 44, 60, 51).
    public var ipv6ExtensionHeaders: [UInt8] = []
    public var fragment: Fragment?
    /// End of the IP packet in the frame (IP length, clipped to the frame; Ethernet padding excluded).
    public var ipEnd: Int?

    public var l4Offset: Int?
    /// TCP, UDP or SCTP ports.
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    public var tcp: TCPHeader?
    public var icmp: ICMPHeader?
    /// Start of the L4 payload (after TCP options, the UDP/SCTP common header, the 8-byte ICMP header), or of the
    /// fragment data of a non-first fragment. Nil when the L4 header was cut off.
    public var payloadOffset: Int?

    /// The frame ended inside this header (the kernel's SPY_F_TRUNCATED, for the layer it was at).
    public var truncatedAt: Layer?
    /// This header is inconsistent (wrong IP version nibble, IHL < 5, TCP data offset < 5, IP length shorter than
    /// its header, too many IPv6 extension headers); parsing stopped there.
    public var malformedAt: Layer?
    /// The IP length announces more bytes than the frame holds (a snapshot or a truncated capture).
    public var isPayloadTruncated: Bool = false

    public init() {}

    public var isTruncated: Bool { truncatedAt != nil }
    /// A fragment other than the first: carries no L4 header.
    public var isNonFirstFragment: Bool { (fragment?.offset ?? 0) != 0 }
    /// Payload bytes present in the frame: `payloadOffset ..< ipEnd`.
    public var payloadRange: Range<Int>? {
        guard let start = payloadOffset, let end = ipEnd, start <= end else { return nil }
        return start..<end
    }
    public var payloadLength: Int { payloadRange?.count ?? 0 }
}
