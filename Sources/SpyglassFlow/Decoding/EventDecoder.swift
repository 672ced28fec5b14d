/// Turns one ring-buffer record (`struct spy_packet_event` + frame snapshot) into a `Flow`.
///
/// Runs once per event on the hot path: it validates the record (`SpyPacketEvent(validating:)`), reads fixed fields
/// with unaligned loads and builds the Flow without intermediate allocations. It never traps on bad input; every
/// rejection is a `DecodeError` with a stable `reason`.
///
/// Choices where Hubble's behaviour does not carry over one to one:
/// * `event_type.sub_type` of a trace is the raw observation point code, also for codes without a name (0xff):
///   such flows get `traceObservationPoint == .unknownPoint` and `sub_type` 255, whose monitor name is "" (not
///   "to-endpoint", which `sub_type` 0 would mean).
/// * `interface` is nil when `ifindex` is 0; otherwise its name is the resolver's answer or "".
/// * Drop events: `event_type` is (1, the resolved Hubble `DropReason` code), i.e. (1, 0) with the default resolver;
///   `traceObservationPoint` stays `.unknownPoint` (Cilium's drop notifications carry none); traffic direction comes
///   from the path the packet was dropped on (`dropDirection(of:)`).
/// * `ethernet` is read from the snapshot only when it holds at least a full 14-byte Ethernet header.
public struct EventDecoder: Sendable {
    /// ifindex → interface name; the caller caches (called once per event).
    public typealias InterfaceNameResolver = @Sendable (UInt32) -> String?
    /// Kernel `skb_drop_reason` → Hubble `DropReason` and the kernel's own reason name (without
    /// `SKB_DROP_REASON_`).
    public typealias DropReasonResolver = @Sendable (UInt32) -> (DropReason, String?)

    public let nodeName: String
    /// Wall clock minus CLOCK_BOOTTIME, in ns (`BootClock.bootToWallOffsetNs()`).
    public let bootToWallOffsetNs: Int64
    public let interfaceName: InterfaceNameResolver
    public let dropReasonResolver: DropReasonResolver

    public static let unknownDropReason: DropReasonResolver = { _ in (.unknown, nil) }

    public init(
        nodeName: String,
        bootToWallOffsetNs: Int64,
        interfaceName: @escaping InterfaceNameResolver = { _ in nil },
        dropReasonResolver: @escaping DropReasonResolver = EventDecoder.unknownDropReason
    ) {
        self.nodeName = nodeName
        self.bootToWallOffsetNs = bootToWallOffsetNs
        self.interfaceName = interfaceName
        self.dropReasonResolver = dropReasonResolver
    }

    /// Decodes one ring-buffer record.
    public func decode(_ record: UnsafeRawBufferPointer) throws(DecodeError) -> Flow {
        let event = try SpyPacketEvent(validating: record)
        let range = event.snapshotRange
        // In bounds: validated by SpyPacketEvent (headerLen + snapLen <= record.count).
        let snapshot = UnsafeRawBufferPointer(rebasing: record[range])
        return flow(from: event, snapshot: snapshot)
    }

    /// Convenience for tests and tools.
    public func decode(_ bytes: [UInt8]) throws(DecodeError) -> Flow {
        let result: Result<Flow, DecodeError> = bytes.withUnsafeBytes { raw in
            do throws(DecodeError) { return .success(try decode(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Builds the Flow of an already validated event. `snapshot` is the frame snapshot (may be empty).
    public func flow(from event: SpyPacketEvent, snapshot: UnsafeRawBufferPointer) -> Flow {
        // Fields are computed first and the 552-byte Flow is initialised once: mutating it afterwards cost ~1.5x.
        let verdict: Verdict
        let eventType: CiliumEventType
        let point: TraceObservationPoint
        var dropReason = DropReason.unknown
        var kernelDropReason: String? = nil
        switch event.kind {
        case .trace:
            verdict = .forwarded
            eventType = CiliumEventType(type: CiliumEventType.trace, subType: Int32(event.observationPoint))
            point = TraceObservationPoint(datapathCode: Int32(event.observationPoint))
        case .drop:
            (dropReason, kernelDropReason) = dropReasonResolver(event.dropReason)
            verdict = .dropped
            eventType = CiliumEventType(type: CiliumEventType.drop, subType: dropReason.rawValue)
            point = .unknownPoint
        }
        // tc snapshots always start at the MAC header; a drop's may start at the IP header (l3_offset 0) when the
        // kernel freed it without one.
        let hasMAC = event.kind == .trace || event.l3Offset >= 14
        let ethernet =
            hasMAC && snapshot.count >= 14
            ? Ethernet(source: snapshot.mac(6), destination: snapshot.mac(0)) : nil
        let ip: IPHeader?
        switch event.ipVersion {
        case 4: ip = IPHeader(source: event.source, destination: event.destination, ipVersion: .ipv4)
        case 6: ip = IPHeader(source: event.source, destination: event.destination, ipVersion: .ipv6)
        default: ip = nil
        }
        let interface =
            event.ifindex == 0
            ? nil : NetworkInterface(index: event.ifindex, name: interfaceName(event.ifindex) ?? "")
        let isReply = event.isReply
        return Flow(
            time: wallTime(bootNs: event.timestampNs),
            verdict: verdict,
            dropReasonDesc: dropReason,
            kernelDropReason: kernelDropReason,
            ethernet: ethernet,
            ip: ip,
            l4: ip == nil ? nil : EventDecoder.layer4(of: event, snapshot: snapshot),
            type: .l3L4,
            nodeName: nodeName,
            eventType: eventType,
            trafficDirection: event.kind == .drop
                ? EventDecoder.dropDirection(of: event)
                : EventDecoder.trafficDirection(observationPoint: event.observationPoint, isReply: isReply),
            traceObservationPoint: point,
            isReply: isReply,
            interface: interface,
            aggregatedPackets: event.aggregatedPackets,
            aggregatedBytes: event.aggregatedBytes
        )
    }

    /// `l4` from `l4_proto`, the ports/ICMP fields and `SPY_F_L4_PRESENT`; nil for fragments and other protocols.
    public static func layer4(of event: SpyPacketEvent, snapshot: UnsafeRawBufferPointer? = nil) -> Layer4? {
        guard event.flags.contains(.l4Present), !event.flags.contains(.fragment) else { return nil }
        switch event.l4Protocol {
        case SpyEventLayout.IPProto.tcp:
            var flags = TCPFlags(rawValue: UInt16(event.tcpFlags))
            if event.flags.contains(.tcpNS) { flags.insert(.ns) }
            return .tcp(TCP(sourcePort: event.sourcePort, destinationPort: event.destinationPort, flags: flags))
        case SpyEventLayout.IPProto.udp:
            return .udp(UDP(sourcePort: event.sourcePort, destinationPort: event.destinationPort))
        case SpyEventLayout.IPProto.sctp:
            return .sctp(SCTP(sourcePort: event.sourcePort, destinationPort: event.destinationPort))
        case SpyEventLayout.IPProto.icmp:
            return .icmpv4(ICMP(type: event.icmpType, code: event.icmpCode))
        case SpyEventLayout.IPProto.icmpv6:
            return .icmpv6(ICMP(type: event.icmpType, code: event.icmpCode))
        case SpyEventLayout.IPProto.igmp:
            // The group sits at bytes 4..<8 of the IGMP header (zero in queries and v3 reports: no group).
            let at = Int(event.l4Offset)
            var group: IPAddress? = nil
            if let snapshot, event.l4Offset > 0, at + 8 <= snapshot.count {
                let g = IPAddress(bytes: snapshot[(at + 4)..<(at + 8)])
                if let g, g != IPAddress(ipv4: 0, 0, 0, 0) { group = g }
            }
            return .igmp(IGMP(type: UInt32(event.icmpType), groupAddress: group))
        case SpyEventLayout.IPProto.vrrp:
            let at = Int(event.l4Offset)
            guard let snapshot, event.l4Offset > 0, at + 3 <= snapshot.count else {
                return .vrrp(VRRP(type: UInt32(event.icmpType), vrid: 0, priority: 0))
            }
            return .vrrp(
                VRRP(
                    type: UInt32(snapshot[at] & 0x0f), vrid: UInt32(snapshot[at + 1]),
                    priority: UInt32(snapshot[at + 2])))
        default:
            return nil
        }
    }

    /// Traffic direction from the observation point and `isReply` (unknown counts as a non-reply):
    /// to-endpoint and from-network: INGRESS (reply: EGRESS); from-endpoint and to-network: EGRESS (reply:
    /// INGRESS); every other point: TRAFFIC_DIRECTION_UNKNOWN.
    public static func trafficDirection(observationPoint: UInt8, isReply: Bool?) -> TrafficDirection {
        let reply = isReply ?? false
        switch observationPoint {
        case SpyEventLayout.ObservationCode.toEndpoint, SpyEventLayout.ObservationCode.fromNetwork:
            return reply ? .egress : .ingress
        case SpyEventLayout.ObservationCode.fromEndpoint, SpyEventLayout.ObservationCode.toNetwork:
            return reply ? .ingress : .egress
        default:
            return .unknown
        }
    }

    /// Traffic direction of a drop. On a watched interface of the agent's namespace the kernel passes the
    /// interface's observation point for the path (receive: the ingress point, transmit: the egress point), and the
    /// direction follows as for traces (the host side of a pod's veth receives what the pod sends: EGRESS).
    /// Elsewhere (inside a pod's namespace, unwatched devices) the path itself tells: a packet dropped on the
    /// receive path was coming in (INGRESS), one on the transmit path going out (EGRESS). A reply flips either.
    /// `direction` 0xff (an older datapath) is unknown.
    public static func dropDirection(of event: SpyPacketEvent) -> TrafficDirection {
        if event.observationPoint != SpyEventLayout.ObservationCode.unknown {
            let d = trafficDirection(observationPoint: event.observationPoint, isReply: event.isReply)
            if d != .unknown { return d }
        }
        let reply = event.isReply ?? false
        switch event.hookDirection {
        case 0: return reply ? .egress : .ingress
        case 1: return reply ? .ingress : .egress
        default: return .unknown
        }
    }

    /// CLOCK_BOOTTIME ns → wall-clock Timestamp (wrapping arithmetic: garbage in, garbage out, never a trap).
    public func wallTime(bootNs: UInt64) -> Timestamp {
        EventDecoder.timestamp(unixNs: Int64(bitPattern: bootNs) &+ bootToWallOffsetNs)
    }

    /// Unix ns → Timestamp with `nanos` in 0..<1e9 (also for times before the epoch).
    public static func timestamp(unixNs: Int64) -> Timestamp {
        var seconds = unixNs / 1_000_000_000
        var nanos = unixNs % 1_000_000_000
        if nanos < 0 {
            nanos += 1_000_000_000
            seconds -= 1
        }
        return Timestamp(seconds: seconds, nanos: Int32(truncatingIfNeeded: nanos))
    }
}
