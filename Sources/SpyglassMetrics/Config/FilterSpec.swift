import SpyglassFlow

/// A JSON value, as the dynamic configuration's YAML is converted to before decoding (docs/hubble-compatibility.md §5).
/// Numbers keep their literal decimal text, so 64-bit identifiers (`ip_trace_id`) survive exactly.
public enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A JSON number literal (`12`, `-3`, `0.5`, `1e+06`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in the order written. Keys are unique.
    case object([(key: String, value: JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): x == y
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into h: inout Hasher) {
        switch self {
        case .null: h.combine(0)
        case .bool(let v): h.combine(1); h.combine(v)
        case .number(let v): h.combine(2); h.combine(v)
        case .string(let v): h.combine(3); h.combine(v)
        case .array(let v): h.combine(4); h.combine(v)
        case .object(let v):
            h.combine(5)
            for (k, x) in v { h.combine(k); h.combine(x) }
        }
    }

    /// The member `key` of an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Compact JSON text (members in their order, strings escaped as JSON requires).
    public var jsonText: String {
        var out = ""
        append(to: &out)
        return out
    }

    public var description: String { jsonText }

    private func append(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .number(let v): out += v
        case .string(let v): JSONValue.appendString(v, to: &out)
        case .array(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.append(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.appendString(m.key, to: &out)
                out += ":"
                m.value.append(to: &out)
            }
            out += "}"
        }
    }

    private static func appendString(_ s: String, to out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }
}

/// One FlowFilter of a metric's `includeFilters` / `excludeFilters` (docs/hubble-compatibility.md §8), kept as the JSON
/// object the configuration gave. The metric engine does not interpret it: a `FlowPredicateFactory` (the FlowFilter
/// engine, plugged in by the agent) turns the lists into a predicate, e.g. by decoding `jsonText` with protojson names.
public struct FilterSpec: Sendable, Hashable, CustomStringConvertible {
    /// Always an `.object`.
    public let json: JSONValue

    /// nil unless `json` is an object.
    public init?(_ json: JSONValue) {
        guard case .object = json else { return nil }
        self.json = json
    }

    /// Compact JSON text of the filter, e.g. `{"source_pod":["kube-system/"]}`.
    public var jsonText: String { json.jsonText }
    public var description: String { jsonText }
}

/// Builds the flow predicate of one handler from its include and exclude filters (docs/hubble-compatibility.md §5, §8):
/// a flow is counted when it matches at least one include filter (or there are none) and no exclude filter. Return nil
/// for "count every flow"; throw when a filter is invalid (the whole configuration is then rejected). The returned
/// closure runs on the flow consumer thread, once per flow and handler.
public typealias FlowPredicateFactory =
    @Sendable (_ include: [FilterSpec], _ exclude: [FilterSpec]) throws -> (@Sendable (Flow) -> Bool)?

/// The default `FlowPredicateFactory` cannot evaluate filters.
public struct FlowFiltersUnsupportedError: Error, Equatable, CustomStringConvertible, Sendable {
    public var include: Int
    public var exclude: Int
    public var description: String {
        "includeFilters/excludeFilters are not supported by this build (\(include) include, \(exclude) exclude filters given)"
    }
}

extension MetricsEngineOptions {
    /// No filter support: nil (count everything) when both lists are empty, otherwise `FlowFiltersUnsupportedError`.
    @Sendable public static func noFilterSupport(_ include: [FilterSpec], _ exclude: [FilterSpec]) throws
        -> (@Sendable (Flow) -> Bool)?
    {
        if include.isEmpty && exclude.isEmpty { return nil }
        throw FlowFiltersUnsupportedError(include: include.count, exclude: exclude.count)
    }
}
