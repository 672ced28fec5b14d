import SpyglassFlow

/// Aggregation counters of one aggregated record (`Flow.aggregate`, docs/hubble-compatibility.md §9.5).
public struct AggregateCounts: Sendable, Equatable {
    public var ingress: UInt32 = 0
    public var egress: UInt32 = 0
    public var unknownDirection: UInt32 = 0
    public init(ingress: UInt32 = 0, egress: UInt32 = 0, unknownDirection: UInt32 = 0) {
        self.ingress = ingress
        self.egress = egress
        self.unknownDirection = unknownDirection
    }
}

/// Encodes `ExportEvent` JSON lines byte for byte as Hubble's exporter writes them (docs/hubble-compatibility.md §7.5):
/// `{"flow":{…},"node_name":…,"time":…}` and `{"lost_events":{…},"node_name":…,"time":…}`, each ending in `\n`.
///
/// Fields the Flow model has and Hubble's schema does not:
/// * `kernelDropReason` — the kernel's `SKB_DROP_REASON_*` name. When the datapath mapped it to a Hubble
///   `DropReason`, that enum is in `drop_reason_desc` (and its code in the deprecated `drop_reason`). The kernel
///   name itself has no Hubble field, so it goes into `extensions` (a `google.protobuf.Any`) as a
///   `google.protobuf.Struct` — a well-known type every protobuf runtime can decode without Spyglass's descriptors:
///   `"extensions":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"kernel_drop_reason":"NO_SOCKET"}}`.
///   It is written whenever the name is known, mapped or not, so consumers find it in one place.
/// * `aggregatedPackets` / `aggregatedBytes` (monitor aggregation) have no Hubble field and are not exported.
///
/// `emitter` is `{"name":"Spyglass","version":…}` by default: the field names the implementation that produced the
/// flow, and Spyglass is not Hubble; its version is Spyglass's. Tools that only check the schema accept it.
public struct FlowRecordEncoder: Sendable {
    public var emitterName: String
    public var emitterVersion: String

    public init(emitterName: String = "Spyglass", emitterVersion: String = SpyglassExportInfo.version) {
        self.emitterName = emitterName
        self.emitterVersion = emitterVersion
    }

    /// One flow record line. `mask` (if not nil) keeps only its fields; `aggregate` adds `Flow.aggregate`.
    public func encode(_ flow: Flow, uuid: UUIDv4? = nil, mask: FieldMask? = nil, aggregate: AggregateCounts? = nil)
        -> [UInt8]
    {
        var w = JSONBytes()
        append(flow, uuid: uuid, mask: mask, aggregate: aggregate, to: &w)
        return w.out
    }

    /// One `lost_events` record line. `source` is a `LostEventSource` enum name; `nodeName` is the bare node name.
    public func encodeLost(source: LostEventSource, count: UInt64, cpu: Int32?, nodeName: String, time: Timestamp)
        -> [UInt8]
    {
        var w = JSONBytes(capacity: 160)
        appendLost(source: source, count: count, cpu: cpu, nodeName: nodeName, time: time, to: &w)
        return w.out
    }

    func appendLost(
        source: LostEventSource, count: UInt64, cpu: Int32?, nodeName: String, time: Timestamp, to w: inout JSONBytes
    ) {
        w.raw("{\"lost_events\":{")
        if source != .unknown {
            w.key("source")
            w.string(source.rawValue)
        }
        if count != 0 {
            w.key("num_events_lost")
            w.quotedUInt(count)
        }
        if let cpu {
            w.key("cpu")
            w.int(Int64(cpu))
        }
        w.byte(UInt8(ascii: "}"))
        if !nodeName.isEmpty {
            w.key("node_name")
            w.string(nodeName)
        }
        if time.seconds != 0 || time.nanos != 0 {
            w.key("time")
            w.timestamp(time)
        }
        w.raw("}\n")
    }

    /// `uuid` is written as `uuid` when the flow has none of its own.
    func append(_ flow: Flow, uuid: UUIDv4?, mask: FieldMask?, aggregate: AggregateCounts?, to w: inout JSONBytes) {
        var fw = FlowWriter(w: JSONBytes(capacity: 0), emitterName: emitterName, emitterVersion: emitterVersion)
        swap(&fw.w, &w)
        fw.w.raw("{\"flow\":")
        fw.flow(flow, uuid, mask, aggregate)
        let sel = { (name: String) -> Bool in mask.map { $0.children[name] != nil } ?? true }
        if sel("node_name") && !flow.nodeName.isEmpty {
            fw.w.key("node_name")
            fw.w.string(flow.nodeName)
        }
        if sel("time") && (flow.time.seconds != 0 || flow.time.nanos != 0) {
            fw.w.key("time")
            fw.w.timestamp(flow.time)
        }
        fw.w.raw("}\n")
        swap(&fw.w, &w)
    }
}

/// `LostEventSource` of flow.proto (docs/hubble-compatibility.md §7.3).
public enum LostEventSource: String, Sendable, CaseIterable {
    case unknown = "UNKNOWN_LOST_EVENT_SOURCE"
    case perfEventRingBuffer = "PERF_EVENT_RING_BUFFER"
    case observerEventsQueue = "OBSERVER_EVENTS_QUEUE"
    case hubbleRingBuffer = "HUBBLE_RING_BUFFER"

    /// From the enum name or the lower-case metric label (`perf_event_ring_buffer`); anything else is `unknown`.
    public init(name: String) {
        self = LostEventSource(rawValue: name.uppercased()) ?? .unknown
    }
}

/// Writes one Flow object; each method writes fields in flow.proto declaration order (protojson's order).
private struct FlowWriter {
    var w: JSONBytes
    let emitterName: String
    let emitterVersion: String

    @inline(__always) func sel(_ m: FieldMask?, _ name: String) -> FieldSelection { m?.select(name) ?? .all }
    @inline(__always) func want(_ m: FieldMask?, _ name: String) -> Bool { m == nil || m!.children[name] != nil }

    /// A message-typed field: written whole (`.all`) when present; with sub-fields (`.sub`) always written
    /// (pre-allocated, as Hubble's field mask does) unless it is a oneof member.
    @inline(__always)
    mutating func message<T>(
        _ key: StaticString, _ s: FieldSelection, _ value: T?, oneof: Bool = false,
        _ body: (inout FlowWriter, T, FieldMask?) -> Void
    ) {
        switch s {
        case .skip: return
        case .all:
            guard let v = value else { return }
            w.key(key)
            body(&self, v, nil)
        case .sub(let m):
            if let v = value {
                w.key(key)
                body(&self, v, m)
            } else if !oneof {
                w.key(key)
                skeleton(m)
            }
        }
    }

    /// An absent message selected with sub-fields: `{}` plus the pre-allocated non-oneof sub-messages.
    mutating func skeleton(_ m: FieldMask) {
        w.byte(UInt8(ascii: "{"))
        for f in FlowSchema.messages[m.message] ?? [] {
            guard let c = m.children[f.name], !c.children.isEmpty, case .message = f.kind else { continue }
            if w.out.last != UInt8(ascii: "{") { w.byte(UInt8(ascii: ",")) }
            w.string(f.name)
            w.byte(UInt8(ascii: ":"))
            skeleton(c)
        }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func flow(_ f: Flow, _ uuid: UUIDv4?, _ m: FieldMask?, _ aggregate: AggregateCounts?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "time") && (f.time.seconds != 0 || f.time.nanos != 0) {
            w.key("time")
            w.timestamp(f.time)
        }
        if want(m, "uuid") {
            if !f.uuid.isEmpty {
                w.key("uuid")
                w.string(f.uuid)
            } else if let uuid {
                w.key("uuid")
                w.byte(UInt8(ascii: "\""))
                uuid.append(to: &w)
                w.byte(UInt8(ascii: "\""))
            }
        }
        message("emitter", sel(m, "emitter"), emitterName.isEmpty && emitterVersion.isEmpty ? nil : ()) { fw, _, m in
            fw.w.byte(UInt8(ascii: "{"))
            if fw.want(m, "name") && !fw.emitterName.isEmpty {
                fw.w.key("name")
                fw.w.string(fw.emitterName)
            }
            if fw.want(m, "version") && !fw.emitterVersion.isEmpty {
                fw.w.key("version")
                fw.w.string(fw.emitterVersion)
            }
            fw.w.byte(UInt8(ascii: "}"))
        }
        if want(m, "verdict") && f.verdict != .verdictUnknown {
            w.key("verdict")
            w.string(f.verdict.name)
        }
        if want(m, "drop_reason") && f.dropReasonDesc.rawValue > 0 {
            w.key("drop_reason")
            w.uint(UInt64(f.dropReasonDesc.rawValue))
        }
        message("ethernet", sel(m, "ethernet"), f.ethernet) { fw, e, m in
            fw.w.byte(UInt8(ascii: "{"))
            if fw.want(m, "source") { fw.w.key("source"); fw.w.mac(e.source) }
            if fw.want(m, "destination") { fw.w.key("destination"); fw.w.mac(e.destination) }
            fw.w.byte(UInt8(ascii: "}"))
        }
        message("IP", sel(m, "IP"), f.ip) { fw, ip, m in fw.ipHeader(ip, m) }
        message("l4", sel(m, "l4"), f.l4) { fw, l4, m in fw.layer4(l4, m) }
        message("tunnel", sel(m, "tunnel"), Optional<Void>.none) { _, _, _ in }
        message("source", sel(m, "source"), f.source) { fw, e, m in fw.endpoint(e, m) }
        message("destination", sel(m, "destination"), f.destination) { fw, e, m in fw.endpoint(e, m) }
        if want(m, "Type") && f.type != .unknownType {
            w.key("Type")
            w.string(f.type.name)
        }
        if want(m, "node_name") && !f.nodeName.isEmpty {
            w.key("node_name")
            w.string(f.nodeName)
        }
        if want(m, "source_names") && !f.sourceNames.isEmpty {
            w.key("source_names")
            w.strings(f.sourceNames)
        }
        if want(m, "destination_names") && !f.destinationNames.isEmpty {
            w.key("destination_names")
            w.strings(f.destinationNames)
        }
        message("l7", sel(m, "l7"), f.l7) { fw, l7, m in fw.layer7(l7, m) }
        if want(m, "reply") && f.isReply == true {
            w.key("reply")
            w.bool(true)
        }
        message("event_type", sel(m, "event_type"), f.eventType) { fw, et, m in
            fw.w.byte(UInt8(ascii: "{"))
            if fw.want(m, "type") && et.type != 0 { fw.w.key("type"); fw.w.int(Int64(et.type)) }
            if fw.want(m, "sub_type") && et.subType != 0 { fw.w.key("sub_type"); fw.w.int(Int64(et.subType)) }
            fw.w.byte(UInt8(ascii: "}"))
        }
        message("source_service", sel(m, "source_service"), f.sourceService) { fw, s, m in fw.service(s, m) }
        message("destination_service", sel(m, "destination_service"), f.destinationService) { fw, s, m in
            fw.service(s, m)
        }
        if want(m, "traffic_direction") && f.trafficDirection != .unknown {
            w.key("traffic_direction")
            w.string(f.trafficDirection.name)
        }
        if want(m, "trace_observation_point") && f.traceObservationPoint != .unknownPoint {
            w.key("trace_observation_point")
            w.string(f.traceObservationPoint.name)
        }
        message("file", sel(m, "file"), Optional<Void>.none) { _, _, _ in }
        message("ip_trace_id", sel(m, "ip_trace_id"), Optional<Void>.none) { _, _, _ in }
        if want(m, "drop_reason_desc") && f.dropReasonDesc != .unknown {
            w.key("drop_reason_desc")
            w.string(f.dropReasonDesc.name)
        }
        if want(m, "is_reply"), let r = f.isReply {
            w.key("is_reply")
            w.bool(r)
        }
        message("interface", sel(m, "interface"), f.interface) { fw, i, m in
            fw.w.byte(UInt8(ascii: "{"))
            if fw.want(m, "index") && i.index != 0 { fw.w.key("index"); fw.w.uint(UInt64(i.index)) }
            if fw.want(m, "name") && !i.name.isEmpty { fw.w.key("name"); fw.w.string(i.name) }
            fw.w.byte(UInt8(ascii: "}"))
        }
        message("trace_context", sel(m, "trace_context"), f.traceContext) { fw, t, m in
            fw.w.byte(UInt8(ascii: "{"))
            fw.message("parent", fw.sel(m, "parent"), t.traceID.isEmpty ? nil : t.traceID) { fw, id, m in
                fw.w.byte(UInt8(ascii: "{"))
                if fw.want(m, "trace_id") { fw.w.key("trace_id"); fw.w.string(id) }
                fw.w.byte(UInt8(ascii: "}"))
            }
            fw.w.byte(UInt8(ascii: "}"))
        }
        if want(m, "Summary") {
            let s = f.summary
            if !s.isEmpty {
                w.key("Summary")
                w.string(s)
            }
        }
        if want(m, "extensions"), let k = f.kernelDropReason, !k.isEmpty {
            w.key("extensions")
            w.raw("{\"@type\":\"type.googleapis.com/google.protobuf.Struct\",\"value\":{\"kernel_drop_reason\":")
            w.string(k)
            w.raw("}}")
        }
        message("aggregate", sel(m, "aggregate"), aggregate) { fw, a, m in
            fw.w.byte(UInt8(ascii: "{"))
            if fw.want(m, "ingress_flow_count") && a.ingress != 0 {
                fw.w.key("ingress_flow_count"); fw.w.uint(UInt64(a.ingress))
            }
            if fw.want(m, "egress_flow_count") && a.egress != 0 {
                fw.w.key("egress_flow_count"); fw.w.uint(UInt64(a.egress))
            }
            if fw.want(m, "unknown_direction_flow_count") && a.unknownDirection != 0 {
                fw.w.key("unknown_direction_flow_count")
                fw.w.uint(UInt64(a.unknownDirection))
            }
            fw.w.byte(UInt8(ascii: "}"))
        }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func ipHeader(_ ip: IPHeader, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "source") { w.key("source"); w.ip(ip.source) }
        if want(m, "destination") { w.key("destination"); w.ip(ip.destination) }
        if want(m, "ipVersion") && ip.ipVersion != .ipNotUsed { w.key("ipVersion"); w.string(ip.ipVersion.name) }
        if want(m, "encrypted") && ip.encrypted { w.key("encrypted"); w.bool(true) }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func ports(_ src: UInt16, _ dst: UInt16, _ m: FieldMask?) {
        if want(m, "source_port") && src != 0 { w.key("source_port"); w.uint(UInt64(src)) }
        if want(m, "destination_port") && dst != 0 { w.key("destination_port"); w.uint(UInt64(dst)) }
    }

    mutating func icmp(_ i: ICMP, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "type") && i.type != 0 { w.key("type"); w.uint(UInt64(i.type)) }
        if want(m, "code") && i.code != 0 { w.key("code"); w.uint(UInt64(i.code)) }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func layer4(_ l4: Layer4, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        switch l4 {
        case .tcp(let t):
            message("TCP", sel(m, "TCP"), t, oneof: true) { fw, t, m in
                fw.w.byte(UInt8(ascii: "{"))
                fw.ports(t.sourcePort, t.destinationPort, m)
                fw.message("flags", fw.sel(m, "flags"), t.flags) { fw, flags, m in
                    fw.w.byte(UInt8(ascii: "{"))
                    for (flag, name) in TCPFlags.protoOrder where flags.contains(flag) && fw.want(m, name) {
                        if fw.w.out.last != UInt8(ascii: "{") { fw.w.byte(UInt8(ascii: ",")) }
                        fw.w.string(name)
                        fw.w.raw(":true")
                    }
                    fw.w.byte(UInt8(ascii: "}"))
                }
                fw.w.byte(UInt8(ascii: "}"))
            }
        case .udp(let u):
            message("UDP", sel(m, "UDP"), u, oneof: true) { fw, u, m in
                fw.w.byte(UInt8(ascii: "{"))
                fw.ports(u.sourcePort, u.destinationPort, m)
                fw.w.byte(UInt8(ascii: "}"))
            }
        case .sctp(let s):
            message("SCTP", sel(m, "SCTP"), s, oneof: true) { fw, s, m in
                fw.w.byte(UInt8(ascii: "{"))
                fw.ports(s.sourcePort, s.destinationPort, m)
                fw.w.byte(UInt8(ascii: "}"))
            }
        case .icmpv4(let i):
            message("ICMPv4", sel(m, "ICMPv4"), i, oneof: true) { fw, i, m in fw.icmp(i, m) }
        case .icmpv6(let i):
            message("ICMPv6", sel(m, "ICMPv6"), i, oneof: true) { fw, i, m in fw.icmp(i, m) }
        case .vrrp(let v):
            message("VRRP", sel(m, "VRRP"), v, oneof: true) { fw, v, m in
                fw.w.byte(UInt8(ascii: "{"))
                if fw.want(m, "type") && v.type != 0 { fw.w.key("type"); fw.w.uint(UInt64(v.type)) }
                if fw.want(m, "vrid") && v.vrid != 0 { fw.w.key("vrid"); fw.w.uint(UInt64(v.vrid)) }
                if fw.want(m, "priority") && v.priority != 0 { fw.w.key("priority"); fw.w.uint(UInt64(v.priority)) }
                fw.w.byte(UInt8(ascii: "}"))
            }
        case .igmp(let g):
            message("IGMP", sel(m, "IGMP"), g, oneof: true) { fw, g, m in
                fw.w.byte(UInt8(ascii: "{"))
                if fw.want(m, "type") && g.type != 0 { fw.w.key("type"); fw.w.uint(UInt64(g.type)) }
                if fw.want(m, "group_address"), let a = g.groupAddress { fw.w.key("group_address"); fw.w.ip(a) }
                fw.w.byte(UInt8(ascii: "}"))
            }
        }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func endpoint(_ e: Endpoint, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "ID") && e.id != 0 { w.key("ID"); w.uint(UInt64(e.id)) }
        if want(m, "identity") && e.identity != 0 { w.key("identity"); w.uint(UInt64(e.identity)) }
        if want(m, "cluster_name") && !e.clusterName.isEmpty { w.key("cluster_name"); w.string(e.clusterName) }
        if want(m, "namespace") && !e.namespace.isEmpty { w.key("namespace"); w.string(e.namespace) }
        if want(m, "labels") && !e.labels.isEmpty { w.key("labels"); w.strings(e.labels) }
        if want(m, "pod_name") && !e.podName.isEmpty { w.key("pod_name"); w.string(e.podName) }
        if want(m, "workloads") && !e.workloads.isEmpty {
            w.key("workloads")
            w.byte(UInt8(ascii: "["))
            for (i, wl) in e.workloads.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.byte(UInt8(ascii: "{"))
                if !wl.name.isEmpty { w.key("name"); w.string(wl.name) }
                if !wl.kind.isEmpty { w.key("kind"); w.string(wl.kind) }
                w.byte(UInt8(ascii: "}"))
            }
            w.byte(UInt8(ascii: "]"))
        }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func service(_ s: Service, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "name") && !s.name.isEmpty { w.key("name"); w.string(s.name) }
        if want(m, "namespace") && !s.namespace.isEmpty { w.key("namespace"); w.string(s.namespace) }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func layer7(_ l7: Layer7, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "type") && l7.type != .unknownL7Type { w.key("type"); w.string(l7.type.name) }
        if want(m, "latency_ns") && l7.latencyNs != 0 { w.key("latency_ns"); w.quotedUInt(l7.latencyNs) }
        switch l7.record {
        case .dns(let d):
            message("dns", sel(m, "dns"), d, oneof: true) { fw, d, m in fw.dns(d, m) }
        case .http(let h):
            message("http", sel(m, "http"), h, oneof: true) { fw, h, m in fw.http(h, m) }
        case nil:
            break
        }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func dns(_ d: DNS, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "query") && !d.query.isEmpty { w.key("query"); w.string(d.query) }
        if want(m, "ips") && !d.ips.isEmpty { w.key("ips"); w.strings(d.ips) }
        if want(m, "ttl") && d.ttl != 0 { w.key("ttl"); w.uint(UInt64(d.ttl)) }
        if want(m, "cnames") && !d.cnames.isEmpty { w.key("cnames"); w.strings(d.cnames) }
        if want(m, "observation_source") && !d.observationSource.isEmpty {
            w.key("observation_source"); w.string(d.observationSource)
        }
        if want(m, "rcode") && d.rcode != 0 { w.key("rcode"); w.uint(UInt64(d.rcode)) }
        if want(m, "qtypes") && !d.qtypes.isEmpty { w.key("qtypes"); w.strings(d.qtypes) }
        if want(m, "rrtypes") && !d.rrtypes.isEmpty { w.key("rrtypes"); w.strings(d.rrtypes) }
        w.byte(UInt8(ascii: "}"))
    }

    mutating func http(_ h: HTTP, _ m: FieldMask?) {
        w.byte(UInt8(ascii: "{"))
        if want(m, "code") && h.code != 0 { w.key("code"); w.uint(UInt64(h.code)) }
        if want(m, "method") && !h.method.isEmpty { w.key("method"); w.string(h.method) }
        if want(m, "url") && !h.url.isEmpty { w.key("url"); w.string(h.url) }
        if want(m, "protocol") && !h.protocol.isEmpty { w.key("protocol"); w.string(h.protocol) }
        if want(m, "headers") && !h.headers.isEmpty {
            w.key("headers")
            w.byte(UInt8(ascii: "["))
            for (i, hd) in h.headers.enumerated() {
                if i > 0 { w.byte(UInt8(ascii: ",")) }
                w.byte(UInt8(ascii: "{"))
                if !hd.key.isEmpty { w.key("key"); w.string(hd.key) }
                if !hd.value.isEmpty { w.key("value"); w.string(hd.value) }
                w.byte(UInt8(ascii: "}"))
            }
            w.byte(UInt8(ascii: "]"))
        }
        w.byte(UInt8(ascii: "}"))
    }
}

/// Build-time facts about this module.
public enum SpyglassExportInfo {
    /// Spyglass's version as written in `emitter.version` (no leading `v`).
    public static let version = "0.1.0"
}
