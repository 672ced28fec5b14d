import Foundation
import SpyglassAPI
import SpyglassEndpoints
import SpyglassFlow
import SwiftProtobuf

/// `hubble observe`'s output formats over GetFlowsResponse messages.
public enum OutputFormat: String, Sendable, CaseIterable {
    case compact, json, jsonpb, dict, table
}

/// Renders responses as Hubble's printer does. `compact`: one line per flow,
/// `TIME: SRC (ID) -> DST (ID) TYPE VERDICT (SUMMARY)`; `json`: the flow object; `jsonpb`: the whole response;
/// `dict`: `KEY: value` blocks; `table`: aligned columns (written at the end, by `finish`).
public struct FlowPrinter: Sendable {
    public let format: OutputFormat
    public var utc: Bool
    public var printNodeName: Bool
    private var tableRows: [[String]] = []
    private var printedDictHeader = false

    public init(format: OutputFormat, utc: Bool = false, printNodeName: Bool = false) {
        self.format = format
        self.utc = utc
        self.printNodeName = printNodeName
    }

    /// The text for one response (may be empty for `table`, which prints in `finish`).
    public mutating func render(_ r: Observer_GetFlowsResponse) -> String {
        switch format {
        case .jsonpb:
            return ((try? r.jsonString(options: Self.jsonOptions)) ?? "{}") + "\n"
        case .json:
            switch r.responseTypes {
            case .flow(let f): return ((try? f.jsonString(options: Self.jsonOptions)) ?? "{}") + "\n"
            default: return ((try? r.jsonString(options: Self.jsonOptions)) ?? "{}") + "\n"
            }
        case .compact:
            switch r.responseTypes {
            case .flow(let f): return compact(f) + "\n"
            case .lostEvents(let l): return lostLine(l) + "\n"
            case .nodeStatus(let n):
                return "NODE STATUS: \(n.stateChange) \(n.nodeNames.joined(separator: ", ")) \(n.message)\n"
            case nil: return ""
            }
        case .dict:
            guard case .flow(let f) = r.responseTypes else {
                if case .lostEvents(let l) = r.responseTypes { return lostLine(l) + "\n" }
                return ""
            }
            var s = printedDictHeader ? "------------\n" : ""
            printedDictHeader = true
            for (k, v) in dictRows(f) { s += String(repeating: " ", count: max(0, 11 - k.count)) + k + ": " + v + "\n" }
            return s
        case .table:
            if case .flow(let f) = r.responseTypes {
                var row = [Self.timestamp(f.time, utc: utc)]
                if printNodeName { row.append(f.nodeName) }
                row += [
                    endpoint(f, source: true), endpoint(f, source: false), Self.flowType(f), Self.verdict(f), f.summary
                ]
                tableRows.append(row)
            } else if case .lostEvents(let l) = r.responseTypes {
                tableRows.append([lostLine(l)])
            }
            return ""
        }
    }

    /// The rest of the output (the table; nothing for the other formats).
    public mutating func finish() -> String {
        guard format == .table else { return "" }
        var header = ["TIMESTAMP"]
        if printNodeName { header.append("NODE") }
        header += ["SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"]
        let rows = [header] + tableRows
        var widths = [Int](repeating: 0, count: header.count)
        for r in rows where r.count == header.count {
            for (i, c) in r.enumerated() where i < header.count - 1 { widths[i] = max(widths[i], c.count) }
        }
        var out = ""
        for r in rows {
            guard r.count == header.count else {
                out += r.joined(separator: " ") + "\n"
                continue
            }
            for (i, c) in r.enumerated() {
                out += i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count + 3)
            }
            out += "\n"
        }
        tableRows = []
        return out
    }

    static let jsonOptions: JSONEncodingOptions = {
        var o = JSONEncodingOptions()
        o.preserveProtoFieldNames = true
        return o
    }()

    // MARK: compact

    func compact(_ f: Flow_Flow) -> String {
        var src = endpoint(f, source: true), dst = endpoint(f, source: false)
        var arrow = "->"
        if !f.hasIsReply {
            arrow = "<>"
        } else if f.isReply.value {
            swap(&src, &dst)
            arrow = "<-"
        }
        let node = printNodeName ? " [\(f.nodeName)]" : ""
        return
            "\(Self.timestamp(f.time, utc: utc))\(node): \(src) \(arrow) \(dst) \(Self.flowType(f)) \(Self.verdict(f)) (\(f.summary))"
    }

    func lostLine(_ l: Flow_LostEvent) -> String {
        let cpu = l.hasCpu ? "CPU(\(l.cpu.value)) " : ""
        return "EVENTS LOST: \(Self.name(l.source)) \(cpu)\(l.numEventsLost)"
    }

    /// `ns/pod:port (ID:n)`, or `ip:port (reserved-name)` for endpoints without a pod.
    func endpoint(_ f: Flow_Flow, source: Bool) -> String {
        let ep = source ? f.source : f.destination
        let ip = source ? f.ip.source : f.ip.destination
        let names = source ? f.sourceNames : f.destinationNames
        var port: UInt32 = 0
        switch f.l4.protocol {
        case .tcp(let t): port = source ? t.sourcePort : t.destinationPort
        case .udp(let u): port = source ? u.sourcePort : u.destinationPort
        case .sctp(let s): port = source ? s.sourcePort : s.destinationPort
        default: break
        }
        var host = ip
        if !ep.podName.isEmpty {
            host = ep.namespace + "/" + ep.podName
        } else if let name = names.first {
            host = name
        }
        if port > 0 {
            host = host.contains(":") && ep.podName.isEmpty && names.isEmpty ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
        return host + " " + Self.identity(ep.identity)
    }

    /// `(world)` for a reserved identity (its label without `reserved:`), `(ID:n)` otherwise (0 included).
    static func identity(_ id: UInt32) -> String {
        if id != ReservedIdentity.unknown.rawValue, let reserved = ReservedIdentity(rawValue: id) {
            return "(\(reserved.label.dropFirst("reserved:".count)))"
        }
        return "(ID:\(id))"
    }

    /// Hubble's event type column: the observation point of traces (`to-endpoint`), the drop reason of drops
    /// (`Policy denied`), `http-request`/`dns-response` for L7.
    static func flowType(_ f: Flow_Flow) -> String {
        if f.type == .l7 || f.hasL7 {
            let proto: String
            switch f.l7.record {
            case .dns: proto = "dns"
            case .http: proto = "http"
            case .kafka: proto = "kafka"
            case nil: proto = "l7"
            }
            switch f.l7.type {
            case .request: return proto + "-request"
            case .response: return proto + "-response"
            case .sample: return proto + "-sample"
            default: return proto
            }
        }
        switch f.eventType.type {
        case 1: return dropDescription(f)
        case 4: return observationPoint(f.traceObservationPoint)
        case 5: return "policy-verdict"
        default:
            if f.verdict == .dropped { return dropDescription(f) }
            return observationPoint(f.traceObservationPoint)
        }
    }

    static func observationPoint(_ p: Flow_TraceObservationPoint) -> String {
        name(p).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// Cilium's text for a drop reason; for kernel reasons without a Hubble equivalent, the kernel's name.
    static func dropDescription(_ f: Flow_Flow) -> String {
        if let text = dropTexts[f.dropReasonDesc.rawValue] { return text }
        if f.dropReasonDesc.rawValue == 0, let kernel = kernelDropReason(f) { return kernel }
        return DropReason(rawValue: Int32(f.dropReasonDesc.rawValue)).name
    }

    static let dropTexts: [Int: String] = [
        130: "Invalid source mac", 131: "Invalid destination mac", 132: "Invalid source ip", 133: "Policy denied",
        134: "Invalid packet", 142: "Unknown L4 protocol", 156: "Invalid IPv6 extension header",
        169: "FIB lookup failed", 181: "Policy denied by denylist", 196: "TTL exceeded"
    ]

    static func kernelDropReason(_ f: Flow_Flow) -> String? {
        guard f.hasExtensions, let s = try? Google_Protobuf_Struct(unpackingAny: f.extensions),
            case .stringValue(let v)? = s.fields["kernel_drop_reason"]?.kind
        else { return nil }
        return v
    }

    static func verdict(_ f: Flow_Flow) -> String { name(f.verdict) }

    /// Enum names as protojson writes them (Spyglass's model holds Hubble's names).
    static func name(_ v: Flow_Verdict) -> String { Verdict(rawValue: Int32(v.rawValue))?.name ?? String(v.rawValue) }
    static func name(_ p: Flow_TraceObservationPoint) -> String {
        TraceObservationPoint(rawValue: Int32(p.rawValue))?.name ?? String(p.rawValue)
    }
    static func name(_ s: Flow_LostEventSource) -> String {
        switch s {
        case .perfEventRingBuffer: "PERF_EVENT_RING_BUFFER"
        case .observerEventsQueue: "OBSERVER_EVENTS_QUEUE"
        case .hubbleRingBuffer: "HUBBLE_RING_BUFFER"
        default: "UNKNOWN_LOST_EVENT_SOURCE"
        }
    }

    // MARK: dict

    func dictRows(_ f: Flow_Flow) -> [(String, String)] {
        var rows: [(String, String)] = [("TIMESTAMP", Self.timestamp(f.time, utc: utc))]
        if printNodeName { rows.append(("NODE", f.nodeName)) }
        rows += [
            ("SOURCE", endpoint(f, source: true)), ("DESTINATION", endpoint(f, source: false)),
            ("TYPE", Self.flowType(f)), ("VERDICT", Self.verdict(f)), ("SUMMARY", f.summary)
        ]
        return rows
    }

    // MARK: time

    /// Go's `time.StampMilli` (`Jan _2 15:04:05.000`), local time unless `utc`.
    public static func timestamp(_ t: Google_Protobuf_Timestamp, utc: Bool) -> String {
        var secs = time_t(t.seconds)
        var tm = tm()
        if utc { gmtime_r(&secs, &tm) } else { localtime_r(&secs, &tm) }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = tm.tm_mday < 10 ? " \(tm.tm_mday)" : "\(tm.tm_mday)"
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(t.nanos / 1_000_000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(months[Int(tm.tm_mon)]) \(day) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)).\(msText)"
    }
}
