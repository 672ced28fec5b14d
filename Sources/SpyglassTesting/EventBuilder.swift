import SpyglassFlow

/// Builds one ring-buffer record: the 96-byte fixed part of `struct spy_packet_event`
/// (`Sources/CSpyglassBPF/include/spyglass_events.h`, offsets in `SpyEventLayout.Offset`) followed by the snapshot.
/// Every field is settable, including inconsistent header values for error tests.
public struct EventBuilder: Sendable {
    public var version: UInt16 = SpyEventLayout.version
    public var kind: UInt16 = SpyEventLayout.Kind.trace.rawValue
    public var headerLen: UInt16 = UInt16(SpyEventLayout.packetEventSize)
    /// nil: `snapshot.count`.
    public var snapLen: UInt16?
    public var timestampNs: UInt64 = 0
    public var ifindex: UInt32 = 0
    public var pktLen: UInt32 = 0
    /// 16 bytes each, network order; IPv4 in the first 4.
    public var saddr: [UInt8] = Array(repeating: 0, count: 16)
    public var daddr: [UInt8] = Array(repeating: 0, count: 16)
    public var sport: UInt16 = 0
    public var dport: UInt16 = 0
    public var vlanID: UInt16 = 0
    public var flags: SpyEventLayout.Flags = []
    public var direction: UInt8 = SpyEventLayout.HookDirection.ingress.rawValue
    public var obsPoint: UInt8 = SpyEventLayout.ObservationCode.fromNetwork
    public var ipVersion: UInt8 = 0
    public var l4Proto: UInt8 = 0
    public var tcpFlags: UInt8 = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    public var reportReason: UInt8 = 0
    public var l3Offset: UInt16 = 0
    public var l4Offset: UInt16 = 0
    public var dropReason: UInt32 = 0
    public var cpu: UInt32 = 0
    public var aggregated: UInt32 = 1
    public var aggregatedBytes: UInt64 = 0
    /// Frame bytes from the MAC header.
    public var snapshot: [UInt8] = []
    /// Bytes appended after the snapshot (a record longer than it says). When `headerLen` > 96 the gap between
    /// the fixed part and the snapshot is zero-filled.
    public var trailing: [UInt8] = []

    public init() {}

    /// Sets `saddr`/`daddr`/`ipVersion` from addresses.
    public mutating func setAddresses(source: IPAddress, destination: IPAddress) {
        saddr = EventBuilder.pad16(source.bytes)
        daddr = EventBuilder.pad16(destination.bytes)
        ipVersion = source.isIPv6 ? 6 : 4
    }

    /// What the tc program would report for `frame` (fields derived with `PacketParser`, following
    /// `bpf/lib/parse.bpf.h`): addresses, ports (ICMP echo id in both), VLAN, L4 protocol, TCP flags and NS, ICMP
    /// type/code, offsets and `SPY_F_VLAN/L4_PRESENT/FRAGMENT/TRUNCATED/TCP_NS`. The snapshot is the first
    /// `snapLen` bytes of the frame; `pktLen` and `aggregatedBytes` are the frame length.
    public static func trace(
        frame: [UInt8], obsPoint: UInt8 = SpyEventLayout.ObservationCode.fromNetwork,
        direction: SpyEventLayout.HookDirection = .ingress, isReply: Bool? = nil, ifindex: UInt32 = 2,
        timestampNs: UInt64 = 1_000_000_000, snapLen: Int = SpyEventLayout.minSnapLen
    ) -> EventBuilder {
        var e = EventBuilder()
        e.obsPoint = obsPoint
        e.direction = direction.rawValue
        e.ifindex = ifindex
        e.timestampNs = timestampNs
        e.pktLen = UInt32(frame.count)
        e.aggregatedBytes = UInt64(frame.count)
        e.snapshot = Array(frame.prefix(max(0, snapLen)))
        if let isReply {
            e.flags.insert(.replyKnown)
            if isReply { e.flags.insert(.isReply) }
        }
        let p = PacketParser.parse(frame)
        if let vlan = p.vlanID {
            e.flags.insert(.vlan)
            e.vlanID = vlan
        }
        if let source = p.source, let destination = p.destination {
            e.setAddresses(source: source, destination: destination)
        } else if p.ipVersion != .ipNotUsed {
            e.ipVersion = p.ipVersion == .ipv4 ? 4 : 6
        }
        e.l3Offset = UInt16(p.l3Offset ?? 0)
        e.l4Proto = p.ipProtocol ?? 0
        if p.isNonFirstFragment { e.flags.insert(.fragment) }
        if p.isTruncated || p.malformedAt != nil { e.flags.insert(.truncated) }
        if let tcp = p.tcp {
            e.tcpFlags = UInt8(truncatingIfNeeded: tcp.flags.rawValue & 0xff)
            if tcp.flags.contains(.ns) { e.flags.insert(.tcpNS) }
        }
        if let icmp = p.icmp {
            e.icmpType = icmp.type
            e.icmpCode = icmp.code
            if let id = icmp.echoID {
                e.sport = id
                e.dport = id
            }
        }
        if let sp = p.sourcePort, let dp = p.destinationPort {
            e.sport = sp
            e.dport = dp
        }
        if p.tcp != nil || p.sourcePort != nil || p.icmp != nil {
            e.flags.insert(.l4Present)
            e.l4Offset = UInt16(p.l4Offset ?? 0)
        }
        return e
    }

    /// The record bytes.
    public func build() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SpyEventLayout.packetEventSize)
        typealias O = SpyEventLayout.Offset
        func put16(_ o: Int, _ v: UInt16) { out[o] = UInt8(v & 0xff); out[o + 1] = UInt8(v >> 8) }
        func put32(_ o: Int, _ v: UInt32) { for i in 0..<4 { out[o + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }
        func put64(_ o: Int, _ v: UInt64) { for i in 0..<8 { out[o + i] = UInt8((v >> (8 * UInt64(i))) & 0xff) } }
        put16(O.version, version)
        put16(O.kind, kind)
        put16(O.headerLen, headerLen)
        put16(O.snapLen, snapLen ?? UInt16(truncatingIfNeeded: snapshot.count))
        put64(O.timestampNs, timestampNs)
        put32(O.ifindex, ifindex)
        put32(O.pktLen, pktLen)
        for (i, b) in EventBuilder.pad16(saddr).enumerated() { out[O.saddr + i] = b }
        for (i, b) in EventBuilder.pad16(daddr).enumerated() { out[O.daddr + i] = b }
        put16(O.sport, sport)
        put16(O.dport, dport)
        put16(O.vlanID, vlanID)
        put16(O.flags, flags.rawValue)
        out[O.direction] = direction
        out[O.obsPoint] = obsPoint
        out[O.ipVersion] = ipVersion
        out[O.l4Proto] = l4Proto
        out[O.tcpFlags] = tcpFlags
        out[O.icmpType] = icmpType
        out[O.icmpCode] = icmpCode
        out[O.reportReason] = reportReason
        put16(O.l3Offset, l3Offset)
        put16(O.l4Offset, l4Offset)
        put32(O.dropReason, dropReason)
        put32(O.cpu, cpu)
        put32(O.aggregated, aggregated)
        put64(O.aggregatedBytes, aggregatedBytes)
        if out.count < Int(headerLen) { out += [UInt8](repeating: 0, count: Int(headerLen) - out.count) }
        out += snapshot
        out += trailing
        return out
    }

    static func pad16(_ b: [UInt8]) -> [UInt8] {
        Array((b + [UInt8](repeating: 0, count: 16)).prefix(16))
    }
}
