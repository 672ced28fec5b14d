/// The fixed part of one `struct spy_packet_event` record (see `SpyEventLayout`), validated and decoded into
/// plain values. No allocation: addresses are kept as `IPAddress` values, the snapshot as a range of the record.
public struct SpyPacketEvent: Sendable, Equatable {
    public var kind: SpyEventLayout.Kind
    public var headerLen: UInt16
    public var snapLen: UInt16
    /// CLOCK_BOOTTIME nanoseconds (`bpf_ktime_get_boot_ns`).
    public var timestampNs: UInt64
    public var ifindex: UInt32
    /// `skb->len`
    public var packetLength: UInt32
    /// 0 (not IP), 4 or 6.
    public var ipVersion: UInt8
    /// Meaningful when `ipVersion` is 4 or 6.
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var vlanID: UInt16
    public var flags: SpyEventLayout.Flags
    /// Raw `enum spy_direction` (0 ingress, 1 egress).
    public var hookDirection: UInt8
    /// Hubble datapath observation point code (0...13) or 0xff.
    public var observationPoint: UInt8
    public var l4Protocol: UInt8
    /// `SPY_TCP_*` bits (without NS, which is `flags.tcpNS`).
    public var tcpFlags: UInt8
    public var icmpType: UInt8
    public var icmpCode: UInt8
    public var reportReason: SpyEventLayout.ReportReason
    /// Offset of the IP header in the snapshot.
    public var l3Offset: UInt16
    /// Offset of the L4 header in the snapshot (0: none).
    public var l4Offset: UInt16
    /// Kernel `skb_drop_reason` (drop events).
    public var dropReason: UInt32
    public var cpu: UInt32
    public var aggregatedPackets: UInt32
    public var aggregatedBytes: UInt64
    /// Where the frame snapshot lies in the record: `headerLen ..< headerLen + snapLen`.
    public var snapshotRange: Range<Int> { Int(headerLen)..<(Int(headerLen) + Int(snapLen)) }

    /// `isReply` as Hubble's BoolValue: nil unless `SPY_F_REPLY_KNOWN`.
    public var isReply: Bool? {
        flags.contains(.replyKnown) ? flags.contains(.isReply) : nil
    }

    /// Validates the record and reads the fixed part. Checks, in order: at least 8 bytes (`short`), `version`,
    /// at least 96 bytes (`short`), `header_len` in 96...record length, `header_len + snap_len <= record length`,
    /// `kind`, `ip_version`. Bytes after the snapshot are ignored.
    public init(validating record: UnsafeRawBufferPointer) throws(DecodeError) {
        typealias O = SpyEventLayout.Offset
        let count = record.count
        guard count >= SpyEventLayout.headerSize else { throw .short(length: count) }
        let version = record.le16(O.version)
        guard version == SpyEventLayout.version else { throw .version(version) }
        guard count >= SpyEventLayout.packetEventSize else { throw .short(length: count) }
        let headerLen = record.le16(O.headerLen)
        guard Int(headerLen) >= SpyEventLayout.packetEventSize, Int(headerLen) <= count else {
            throw .headerLen(headerLen, recordLength: count)
        }
        let snapLen = record.le16(O.snapLen)
        guard Int(headerLen) + Int(snapLen) <= count else {
            throw .snapLen(snapLen, available: count - Int(headerLen))
        }
        let rawKind = record.le16(O.kind)
        guard let kind = SpyEventLayout.Kind(rawValue: rawKind) else { throw .kind(rawKind) }
        let ipVersion = record[O.ipVersion]
        let isV6: Bool
        switch ipVersion {
        case 0, 4: isV6 = false
        case 6: isV6 = true
        default: throw .ipVersion(ipVersion)
        }

        self.kind = kind
        self.headerLen = headerLen
        self.snapLen = snapLen
        self.timestampNs = record.le64(O.timestampNs)
        self.ifindex = record.le32(O.ifindex)
        self.packetLength = record.le32(O.pktLen)
        self.ipVersion = ipVersion
        self.source = record.ipAddress(O.saddr, isIPv6: isV6)
        self.destination = record.ipAddress(O.daddr, isIPv6: isV6)
        self.sourcePort = record.le16(O.sport)
        self.destinationPort = record.le16(O.dport)
        self.vlanID = record.le16(O.vlanID)
        self.flags = SpyEventLayout.Flags(rawValue: record.le16(O.flags))
        self.hookDirection = record[O.direction]
        self.observationPoint = record[O.obsPoint]
        self.l4Protocol = record[O.l4Proto]
        self.tcpFlags = record[O.tcpFlags]
        self.icmpType = record[O.icmpType]
        self.icmpCode = record[O.icmpCode]
        self.reportReason = SpyEventLayout.ReportReason(rawValue: record[O.reportReason])
        self.l3Offset = record.le16(O.l3Offset)
        self.l4Offset = record.le16(O.l4Offset)
        self.dropReason = record.le32(O.dropReason)
        self.cpu = record.le32(O.cpu)
        self.aggregatedPackets = record.le32(O.aggregated)
        self.aggregatedBytes = record.le64(O.aggregatedBytes)
    }
}
