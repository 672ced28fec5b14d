import SpyglassSupport

/// FlowFilter from protojson (docs/hubble-compatibility.md §8): keys are proto names (`source_pod`) or lowerCamel
/// (`sourcePod`); enums are names or numbers; `null` means unset; unknown keys are errors.
extension FlowFilter {
    /// Zero or more JSON objects separated by whitespace (`{}{}`, `{} {}`, newlines), the format of
    /// `--hubble-export-allowlist`/`--hubble-export-denylist`. A comma between objects, an array or a quoted string is
    /// an error that quotes the text.
    public static func parseList(_ text: String) throws(FlowFilterError) -> [FlowFilter] {
        let values: [JSONValue]
        do {
            values = try JSONReader.values(text)
        } catch {
            throw FlowFilterError(field: "", message: "invalid JSON: \(error.description)")
        }
        var out: [FlowFilter] = []
        for v in values {
            guard case .object = v else {
                throw FlowFilterError(
                    field: "",
                    message:
                        "expected JSON objects separated by whitespace, found \(Quote.text(v.rendered)) in \(Quote.text(text))"
                )
            }
            out.append(try FlowFilter(json: v))
        }
        return out
    }

    /// One filter from a JSON object (also the YAML maps of the dynamic config, converted to `JSONValue`).
    public init(json: JSONValue) throws(FlowFilterError) {
        guard case .object(let members) = json else {
            throw FlowFilterError(
                field: "", message: "a FlowFilter must be an object, found \(Quote.text(json.rendered))")
        }
        self.init()
        var seen: Set<String> = []
        for m in members {
            let field = FlowFilter.protoName(m.key)
            guard seen.insert(field).inserted else {
                throw FlowFilterError(field: field, message: "given twice")
            }
            if case .null = m.value { continue }
            try set(field: field, m.value)
        }
    }

    /// lowerCamel → snake_case (`sourceIpXlated` → `source_ip_xlated`); proto names pass unchanged.
    static func protoName(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase && c.isASCII {
                out.append("_")
                out.append(Character(c.lowercased()))
            } else {
                out.append(c)
            }
        }
        return out
    }

    private mutating func set(field: String, _ v: JSONValue) throws(FlowFilterError) {
        let f = field
        switch f {
        case "uuid": uuid = try Self.strings(f, v)
        case "source_ip": sourceIP = try Self.strings(f, v)
        case "source_ip_xlated": sourceIPXlated = try Self.strings(f, v)
        case "source_pod": sourcePod = try Self.strings(f, v)
        case "source_fqdn": sourceFQDN = try Self.strings(f, v)
        case "source_label": sourceLabel = try Self.strings(f, v)
        case "source_service": sourceService = try Self.strings(f, v)
        case "source_workload": sourceWorkload = try Self.workloads(f, v)
        case "source_cluster_name": sourceClusterName = try Self.strings(f, v)
        case "destination_ip": destinationIP = try Self.strings(f, v)
        case "destination_pod": destinationPod = try Self.strings(f, v)
        case "destination_fqdn": destinationFQDN = try Self.strings(f, v)
        case "destination_label": destinationLabel = try Self.strings(f, v)
        case "destination_service": destinationService = try Self.strings(f, v)
        case "destination_workload": destinationWorkload = try Self.workloads(f, v)
        case "destination_cluster_name": destinationClusterName = try Self.strings(f, v)
        case "traffic_direction":
            trafficDirection = try Self.enums(
                f, v, names: TrafficDirection.allCases.map { ($0.name, $0) }, number: TrafficDirection.init(rawValue:))
        case "verdict":
            verdict = try Self.enums(
                f, v, names: Verdict.allCases.map { ($0.name, $0) }, number: Verdict.init(rawValue:))
        case "drop_reason_desc":
            dropReasonDesc = try Self.enums(
                f, v, names: DropReason.names.map { ($0.value, DropReason(rawValue: $0.key)) },
                number: { DropReason.names[$0] != nil ? DropReason(rawValue: $0) : nil })
        case "interface": interface = try Self.interfaces(f, v)
        case "event_type": eventType = try Self.eventTypes(f, v)
        case "http_status_code": httpStatusCode = try Self.strings(f, v)
        case "protocol": self.protocol = try Self.strings(f, v)
        case "source_port": sourcePort = try Self.strings(f, v)
        case "destination_port": destinationPort = try Self.strings(f, v)
        case "reply": reply = try Self.bools(f, v)
        case "dns_query": dnsQuery = try Self.strings(f, v)
        case "source_identity": sourceIdentity = try Self.uints(f, v, max: UInt64(UInt32.max)).map { UInt32($0) }
        case "destination_identity":
            destinationIdentity = try Self.uints(f, v, max: UInt64(UInt32.max)).map { UInt32($0) }
        case "http_method": httpMethod = try Self.strings(f, v)
        case "http_path": httpPath = try Self.strings(f, v)
        case "http_url": httpURL = try Self.strings(f, v)
        case "http_header": httpHeader = try Self.headers(f, v)
        case "tcp_flags": tcpFlags = try Self.flags(f, v)
        case "node_name": nodeName = try Self.strings(f, v)
        case "node_labels": nodeLabels = try Self.strings(f, v)
        case "ip_version":
            ipVersion = try Self.enums(
                f, v, names: IPVersion.allCases.map { ($0.name, $0) }, number: IPVersion.init(rawValue:))
        case "trace_id": traceID = try Self.strings(f, v)
        case "ip_trace_id": ipTraceID = try Self.uints(f, v, max: UInt64.max)
        case "encrypted": encrypted = try Self.bools(f, v)
        case "experimental":
            throw FlowFilterError(
                field: "experimental",
                message: "CEL expressions are not supported by Spyglass: \(Quote.text(v.rendered))")
        default:
            throw FlowFilterError(field: field, message: "unknown FlowFilter field")
        }
    }

    // MARK: value readers

    private static func list(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [JSONValue] {
        guard case .array(let items) = v else {
            throw FlowFilterError(field: f, message: "expected a list, found \(Quote.text(v.rendered))")
        }
        return items
    }

    private static func strings(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [String] {
        var out: [String] = []
        for item in try list(f, v) {
            guard case .string(let s) = item else {
                throw FlowFilterError(field: f, message: "expected a string, found \(Quote.text(item.rendered))")
            }
            out.append(s)
        }
        return out
    }

    private static func bools(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [Bool] {
        var out: [Bool] = []
        for item in try list(f, v) {
            guard case .bool(let b) = item else {
                throw FlowFilterError(field: f, message: "expected true or false, found \(Quote.text(item.rendered))")
            }
            out.append(b)
        }
        return out
    }

    /// Unsigned integers as JSON numbers or decimal strings (protojson accepts both).
    static func uint(_ f: String, _ item: JSONValue, max: UInt64) throws(FlowFilterError) -> UInt64 {
        let text: String
        switch item {
        case .number(let n): text = n
        case .string(let s): text = s
        default:
            throw FlowFilterError(field: f, message: "expected an unsigned integer, found \(Quote.text(item.rendered))")
        }
        guard let n = UInt64(text), n <= max else {
            throw FlowFilterError(
                field: f, message: "expected an unsigned integer up to \(max), found \(Quote.text(item.rendered))")
        }
        return n
    }

    private static func uints(_ f: String, _ v: JSONValue, max: UInt64) throws(FlowFilterError) -> [UInt64] {
        var out: [UInt64] = []
        for item in try list(f, v) { out.append(try uint(f, item, max: max)) }
        return out
    }

    private static func int32(_ f: String, _ item: JSONValue) throws(FlowFilterError) -> Int32 {
        let text: String
        switch item {
        case .number(let n): text = n
        case .string(let s): text = s
        default: throw FlowFilterError(field: f, message: "expected an integer, found \(Quote.text(item.rendered))")
        }
        guard let n = Int32(text) else {
            throw FlowFilterError(field: f, message: "expected a 32-bit integer, found \(Quote.text(item.rendered))")
        }
        return n
    }

    private static func enums<E>(
        _ f: String, _ v: JSONValue, names: [(String, E)], number: (Int32) -> E?
    ) throws(FlowFilterError) -> [E] {
        var out: [E] = []
        for item in try list(f, v) {
            switch item {
            case .string(let s):
                guard let e = names.first(where: { $0.0 == s })?.1 else {
                    throw FlowFilterError(field: f, message: "unknown enum value \(Quote.text(s))")
                }
                out.append(e)
            case .number(let n):
                guard let code = Int32(n), let e = number(code) else {
                    throw FlowFilterError(field: f, message: "unknown enum number \(n)")
                }
                out.append(e)
            default:
                throw FlowFilterError(
                    field: f, message: "expected an enum name or number, found \(Quote.text(item.rendered))")
            }
        }
        return out
    }

    private static func object(_ f: String, _ item: JSONValue, keys: Set<String>) throws(FlowFilterError) -> [String:
        JSONValue]
    {
        guard case .object(let members) = item else {
            throw FlowFilterError(field: f, message: "expected an object, found \(Quote.text(item.rendered))")
        }
        var out: [String: JSONValue] = [:]
        for m in members {
            let k = keys.contains(m.key) ? m.key : protoName(m.key)
            guard keys.contains(k) else {
                throw FlowFilterError(field: "\(f).\(m.key)", message: "unknown field in \(Quote.text(item.rendered))")
            }
            if case .null = m.value { continue }
            out[k] = m.value
        }
        return out
    }

    private static func string(_ f: String, _ v: JSONValue?) throws(FlowFilterError) -> String {
        guard let v else { return "" }
        guard case .string(let s) = v else {
            throw FlowFilterError(field: f, message: "expected a string, found \(Quote.text(v.rendered))")
        }
        return s
    }

    private static func workloads(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [WorkloadSelector] {
        var out: [WorkloadSelector] = []
        for item in try list(f, v) {
            let o = try object(f, item, keys: ["name", "kind"])
            out.append(
                WorkloadSelector(name: try string("\(f).name", o["name"]), kind: try string("\(f).kind", o["kind"])))
        }
        return out
    }

    private static func interfaces(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [InterfaceSelector] {
        var out: [InterfaceSelector] = []
        for item in try list(f, v) {
            let o = try object(f, item, keys: ["index", "name"])
            let index =
                try o["index"].map { (x) throws(FlowFilterError) in try uint("\(f).index", x, max: UInt64(UInt32.max)) }
                ?? 0
            out.append(InterfaceSelector(index: UInt32(index), name: try string("\(f).name", o["name"])))
        }
        return out
    }

    private static func eventTypes(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [EventTypeSelector] {
        var out: [EventTypeSelector] = []
        for item in try list(f, v) {
            let o = try object(f, item, keys: ["type", "match_sub_type", "sub_type"])
            var sel = EventTypeSelector()
            if let t = o["type"] { sel.type = try int32("\(f).type", t) }
            if let s = o["sub_type"] { sel.subType = try int32("\(f).sub_type", s) }
            if let m = o["match_sub_type"] {
                guard case .bool(let b) = m else {
                    throw FlowFilterError(
                        field: "\(f).match_sub_type", message: "expected true or false, found \(Quote.text(m.rendered))"
                    )
                }
                sel.matchSubType = b
            }
            out.append(sel)
        }
        return out
    }

    private static func headers(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [HTTPHeader] {
        var out: [HTTPHeader] = []
        for item in try list(f, v) {
            let o = try object(f, item, keys: ["key", "value"])
            out.append(HTTPHeader(key: try string("\(f).key", o["key"]), value: try string("\(f).value", o["value"])))
        }
        return out
    }

    private static func flags(_ f: String, _ v: JSONValue) throws(FlowFilterError) -> [TCPFlags] {
        var out: [TCPFlags] = []
        for item in try list(f, v) {
            let names = TCPFlags.protoOrder.map(\.1)
            guard case .object(let members) = item else {
                throw FlowFilterError(
                    field: f, message: "expected an object such as {\"SYN\":true}, found \(Quote.text(item.rendered))")
            }
            var set: TCPFlags = []
            for m in members {
                guard let flag = TCPFlags.protoOrder.first(where: { $0.1 == m.key })?.0 else {
                    throw FlowFilterError(
                        field: "\(f).\(m.key)", message: "unknown TCP flag (one of \(names.joined(separator: " ")))")
                }
                switch m.value {
                case .bool(true): set.insert(flag)
                case .bool(false), .null: break
                default:
                    throw FlowFilterError(
                        field: "\(f).\(m.key)", message: "expected true or false, found \(Quote.text(m.value.rendered))"
                    )
                }
            }
            out.append(set)
        }
        return out
    }
}
