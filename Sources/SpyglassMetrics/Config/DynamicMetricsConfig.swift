import Foundation
import SpyglassFlow
import SpyglassSupport
import Yams

/// The dynamic metrics file (`--hubble-dynamic-metrics-config-path`, docs/hubble-compatibility.md §5):
///
/// ```yaml
/// metrics:                      # list; may be empty or null
/// - name: flow                  # required, unique
///   contextOptions:             # optional list of {name, values}; the same keys as the static options
///   - name: sourceContext
///     values: [workload-name, reserved-identity]
///   - name: query               # flag-style option: values may be omitted
///   includeFilters: [{source_pod: ["default/"]}]    # FlowFilters (Hubble's protojson field names)
///   excludeFilters: [{destination_pod: ["kube-system/"]}]
/// ```
///
/// As in Hubble the YAML is read as JSON would be: keys match case-insensitively, unknown keys are ignored (with a
/// warning here), a plain `true` in `values` is the string `"true"`. A `values` item may also hold several values
/// in the static syntax (`a|b`, `labelsContext` `a,b`). Any problem rejects the whole file with one
/// `DynamicMetricsConfigError` naming the file, the metric (index, name, line) and the field.
public enum DynamicMetricsConfig {
    /// Reads and parses the file at `path`. See `parse(_:path:)`.
    public static func load(path: String) throws(DynamicMetricsConfigError) -> (MetricsConfig, warnings: [String]) {
        try parse(try read(path), path: path)
    }

    /// The file's bytes, or `.unreadable` with the system's reason (`No such file or directory`).
    static func read(_ path: String) throws(DynamicMetricsConfigError) -> Data {
        do {
            return Data(try FileBytes.read(path, maxBytes: maxBytes))
        } catch {
            throw unreadable(path, error)
        }
    }

    /// A dynamic metrics file is a few KiB; anything this large is not one.
    static let maxBytes = 16 << 20

    static func unreadable(_ path: String, _ error: FileReadError) -> DynamicMetricsConfigError {
        let message = if case .tooLarge = error { "larger than 16 MiB" } else { error.description }
        return DynamicMetricsConfigError(path: path, kind: .unreadable, message: message)
    }

    /// Parses the bytes of a dynamic metrics file. Every metric's filters are read as FlowFilters and compiled once,
    /// so that a filter the FlowFilter engine rejects is reported with its metric.
    public static func parse(_ data: Data, path: String) throws(DynamicMetricsConfigError) -> (
        MetricsConfig, warnings: [String]
    ) {
        guard let text = String(data: data, encoding: .utf8) else {
            throw DynamicMetricsConfigError(path: path, kind: .syntax, message: "the file is not valid UTF-8")
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws(DynamicMetricsConfigError) -> (
        MetricsConfig, warnings: [String]
    ) {
        var p = FileParser(path: path)
        let entries = try p.entries(text)
        return try p.validate(entries)
    }

}

/// A dynamic metrics file that cannot be used. `description` is one line: `<file>: <where>: <what>`.
public struct DynamicMetricsConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable, Equatable {
        /// The file cannot be read.
        case unreadable
        /// Not YAML.
        case syntax
        /// YAML of the wrong shape (a list where a mapping belongs, a mapping as a value...).
        case schema
        /// A metric without `name`.
        case missingName
        /// Two metrics with the same `name`.
        case duplicateName
        /// Options the handler rejects (`MetricsConfig.validate`); `underlying` has the details.
        case invalidOptions
        /// `http` and `httpV2` both listed.
        case conflict
        /// Filters the FlowFilter engine rejects.
        case invalidFilters
    }

    public var path: String
    public var kind: Kind
    /// `metrics[2] (name 'httpV2', line 14)`, or nil for whole-file problems.
    public var metric: String?
    /// The field inside the metric (`contextOptions[1].values`), or nil.
    public var field: String?
    public var message: String
    /// For `.invalidOptions`, `.conflict` and `.invalidFilters`.
    public var underlying: MetricsConfigError?

    public init(
        path: String, kind: Kind, metric: String? = nil, field: String? = nil, message: String,
        underlying: MetricsConfigError? = nil
    ) {
        self.path = path
        self.kind = kind
        self.metric = metric
        self.field = field
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        var s = "dynamic metrics config \(path)"
        if let metric { s += ": \(metric)" }
        if let field { s += ": \(field)" }
        return s + ": " + message
    }
}

/// One metric entry as written, before validation.
struct DynamicMetricEntry {
    var index: Int
    var line: Int?
    var name: String?
    var options: [MetricOption] = []
    /// The filters as JSON objects, read as FlowFilters in `validate` (after the name checks).
    var include: [JSONValue] = []
    var exclude: [JSONValue] = []

    var location: String {
        var s = "metrics[\(index)]"
        var inner: [String] = []
        if let name { inner.append("name '\(name)'") }
        if let line { inner.append("line \(line)") }
        if !inner.isEmpty { s += " (\(inner.joined(separator: ", ")))" }
        return s
    }
}

struct FileParser {
    let path: String
    var warnings: [String] = []

    init(path: String) { self.path = path }

    func fail(_ kind: DynamicMetricsConfigError.Kind, _ metric: String?, _ field: String?, _ message: String)
        -> DynamicMetricsConfigError
    {
        DynamicMetricsConfigError(path: path, kind: kind, metric: metric, field: field, message: message)
    }

    func at(_ node: Node) -> String { node.mark.map { " (line \($0.line))" } ?? "" }

    /// The resolved tag of a node (a plain scalar's implicit tag resolved by the default YAML 1.1 rules).
    static func tagName(_ node: Node) -> Tag.Name { Resolver.default.resolveTag(of: node) }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node, s.style == .plain || s.style == .any, FileParser.tagName(node) == .null {
            return true
        }
        return false
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// A scalar as JSON would give it to a Go string field (`true` → "true"); nil for non-scalars.
    static func string(_ node: Node) -> String? {
        guard case .scalar(let s) = node else { return nil }
        if s.style == .plain || s.style == .any {
            if let b = node.bool, FileParser.tagName(node) == .bool { return b ? "true" : "false" }
        }
        return s.string
    }

    /// Key matching as Go's encoding/json does it: exact, else case-insensitive.
    static func key(_ k: String, _ known: [String]) -> String? {
        if known.contains(k) { return k }
        return known.first { $0.lowercased() == k.lowercased() }
    }

    mutating func entries(_ text: String) throws(DynamicMetricsConfigError) -> [DynamicMetricEntry] {
        let root: Node?
        do {
            root = try YAMLDocument.load(text)
        } catch {
            switch error {
            case .tooDeep(let problem): throw fail(.syntax, nil, nil, problem)
            case .syntax(let e as YamlError):
                // Yams' description spans several lines (with a snippet); keep the first.
                let first = "\(e)".split(separator: "\n").first.map(String.init) ?? "\(e)"
                throw fail(.syntax, nil, nil, "invalid YAML: \(first)")
            case .syntax(let e): throw fail(.syntax, nil, nil, "invalid YAML: \(e)")
            }
        }
        guard let root, !FileParser.isNull(root) else { return [] }
        guard case .mapping(let top) = root else {
            throw fail(
                .schema, nil, nil, "expected a mapping with a 'metrics' list at the top, found \(FileParser.kind(root))"
            )
        }
        var metricsNode: Node?
        for (k, v) in top {
            guard let ks = FileParser.string(k) else { throw fail(.schema, nil, nil, "keys must be strings\(at(k))") }
            if FileParser.key(ks, ["metrics"]) != nil {
                metricsNode = v
            } else {
                warnings.append("\(path): unknown top-level key '\(ks)' ignored\(at(k))")
            }
        }
        guard let metricsNode, !FileParser.isNull(metricsNode) else { return [] }
        guard case .sequence(let list) = metricsNode else {
            throw fail(
                .schema, nil, "metrics", "expected a list\(at(metricsNode)), found \(FileParser.kind(metricsNode))")
        }
        var out: [DynamicMetricEntry] = []
        for (i, item) in list.enumerated() {
            out.append(try entry(i, item))
        }
        return out
    }

    mutating func entry(_ i: Int, _ item: Node) throws(DynamicMetricsConfigError) -> DynamicMetricEntry {
        var e = DynamicMetricEntry(index: i, line: item.mark?.line)
        guard case .mapping(let m) = item else {
            throw fail(.schema, e.location, nil, "expected a mapping with 'name', found \(FileParser.kind(item))")
        }
        // The name first, so that later errors can name the metric.
        var fields: [(String, Node, Node)] = []
        for (k, v) in m {
            guard let ks = FileParser.string(k) else {
                throw fail(.schema, e.location, nil, "keys must be strings\(at(k))")
            }
            guard let known = FileParser.key(ks, ["name", "contextOptions", "includeFilters", "excludeFilters"]) else {
                warnings.append("\(path): \(e.location): unknown key '\(ks)' ignored\(at(k))")
                continue
            }
            if known == "name" {
                if FileParser.isNull(v) { continue }
                guard let n = FileParser.string(v) else {
                    throw fail(.schema, e.location, "name", "expected a string\(at(v)), found \(FileParser.kind(v))")
                }
                e.name = n.isEmpty ? nil : n
            } else {
                fields.append((known, k, v))
            }
        }
        for (known, _, v) in fields where !FileParser.isNull(v) {
            switch known {
            case "contextOptions": e.options = try contextOptions(e, v)
            case "includeFilters": e.include = try filters(e, known, v)
            default: e.exclude = try filters(e, known, v)
            }
        }
        return e
    }

    func contextOptions(_ e: DynamicMetricEntry, _ node: Node) throws(DynamicMetricsConfigError) -> [MetricOption] {
        guard case .sequence(let list) = node else {
            throw fail(
                .schema, e.location, "contextOptions",
                "expected a list of {name, values}\(at(node)), found \(FileParser.kind(node))")
        }
        var out: [MetricOption] = []
        for (j, opt) in list.enumerated() {
            let field = "contextOptions[\(j)]"
            guard case .mapping(let m) = opt else {
                throw fail(
                    .schema, e.location, field,
                    "expected a mapping {name, values}\(at(opt)), found \(FileParser.kind(opt))")
            }
            var name: String?
            var values: [String]?
            for (k, v) in m {
                guard let ks = FileParser.string(k) else {
                    throw fail(.schema, e.location, field, "keys must be strings\(at(k))")
                }
                switch FileParser.key(ks, ["name", "values"]) {
                case "name":
                    guard let n = FileParser.string(v) else {
                        throw fail(
                            .schema, e.location, field + ".name",
                            "expected a string\(at(v)), found \(FileParser.kind(v))")
                    }
                    name = n
                case "values":
                    if FileParser.isNull(v) { continue }
                    guard case .sequence(let items) = v else {
                        throw fail(
                            .schema, e.location, field + ".values",
                            "expected a list of strings\(at(v)), found \(FileParser.kind(v))")
                    }
                    var vs: [String] = []
                    for item in items {
                        guard let s = FileParser.string(item) else {
                            throw fail(
                                .schema, e.location, field + ".values",
                                "expected strings\(at(item)), found \(FileParser.kind(item))")
                        }
                        vs.append(s)
                    }
                    values = vs
                default:
                    throw fail(
                        .schema, e.location, field, "unknown key '\(ks)'\(at(k)): an option has 'name' and 'values'")
                }
            }
            guard let name, !name.isEmpty else {
                throw fail(.schema, e.location, field, "option without 'name'\(at(opt))")
            }
            // Items may use the static syntax too: `a|b`, or `a,b` for labelsContext.
            let separator: Character = name.lowercased() == "labelscontext" ? "," : "|"
            let split = (values ?? []).flatMap { $0.split(separator: separator).map(String.init) }
            let given = values ?? []
            out.append(MetricOption(key: name, values: given.isEmpty ? [""] : split))
        }
        return out
    }

    func filters(_ e: DynamicMetricEntry, _ key: String, _ node: Node) throws(DynamicMetricsConfigError) -> [JSONValue]
    {
        guard case .sequence(let list) = node else {
            throw fail(
                .schema, e.location, key, "expected a list of FlowFilters\(at(node)), found \(FileParser.kind(node))")
        }
        var out: [JSONValue] = []
        for (j, item) in list.enumerated() {
            let field = "\(key)[\(j)]"
            guard case .mapping = item else {
                throw fail(
                    .schema, e.location, field,
                    "expected a FlowFilter mapping\(at(item)), found \(FileParser.kind(item))")
            }
            out.append(try jsonValue(item, e, field))
        }
        return out
    }

    /// YAML → JSON as sigs.k8s.io/yaml does it: plain scalars resolve to null/bool/number, everything else is a string.
    func jsonValue(_ node: Node, _ e: DynamicMetricEntry, _ field: String) throws(DynamicMetricsConfigError)
        -> JSONValue
    {
        switch node {
        case .scalar(let s):
            guard s.style == .plain || s.style == .any else { return .string(s.string) }
            switch FileParser.tagName(node) {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int:
                if let i = Int64(s.string) { return .number(String(i)) }
                if let u = UInt64(s.string) { return .number(String(u)) }
                if let i = node.checkedInt { return .number(String(i)) }
                return .string(s.string)
            case .float:
                if let d = node.float, d.isFinite { return .number(d.description) }
                return .string(s.string)
            default:
                return .string(s.string)
            }
        case .sequence(let seq):
            var items: [JSONValue] = []
            for item in seq { items.append(try jsonValue(item, e, field)) }
            return .array(items)
        case .mapping(let m):
            var members: [JSONMember] = []
            for (k, v) in m {
                guard case .scalar(let ks) = k else {
                    throw fail(.schema, e.location, field, "keys must be strings\(at(k))")
                }
                if members.contains(where: { $0.key == ks.string }) {
                    throw fail(.schema, e.location, field, "duplicate key '\(ks.string)'\(at(k))")
                }
                members.append(JSONMember(key: ks.string, value: try jsonValue(v, e, field)))
            }
            return .object(members)
        }
    }

    mutating func validate(_ entries: [DynamicMetricEntry]) throws(DynamicMetricsConfigError) -> (
        MetricsConfig, warnings: [String]
    ) {
        var firstIndex: [String: DynamicMetricEntry] = [:]
        for e in entries {
            guard let name = e.name else {
                throw fail(.missingName, e.location, "name", "missing metric name")
            }
            if let first = firstIndex[name] {
                throw fail(
                    .duplicateName, e.location, "name",
                    "duplicate metric '\(name)': already listed as \(first.location)")
            }
            firstIndex[name] = e
        }
        var handlers: [HandlerConfig] = []
        var kept: [DynamicMetricEntry] = []
        for e in entries {
            let spec = MetricSpec(name: e.name!, options: e.options)
            let config: MetricsConfig
            let w: [String]
            do {
                (config, w) = try MetricsConfig.validate([spec])
            } catch let error as MetricsConfigError {
                var err = fail(.invalidOptions, e.location, "contextOptions", "\(error)")
                err.underlying = error
                throw err
            } catch {
                throw fail(.invalidOptions, e.location, "contextOptions", "\(error)")
            }
            warnings += w.map { "\(path): \(e.location): \($0)" }
            guard var h = config.handlers.first else { continue }  // unknown metric: warned, skipped
            do throws(FlowFilterError) {
                h.includeFilters = try e.include.map { json throws(FlowFilterError) in try FlowFilter(json: json) }
                h.excludeFilters = try e.exclude.map { json throws(FlowFilterError) in try FlowFilter(json: json) }
                _ = try h.flowPredicate()
            } catch {
                var err = fail(.invalidFilters, e.location, "includeFilters/excludeFilters", "\(error)")
                err.underlying = .invalidFilters(metric: h.name, message: "\(error)")
                throw err
            }
            handlers.append(h)
            kept.append(e)
        }
        let http = kept.filter { $0.name == "http" || $0.name == "httpV2" }
        if http.count == 2 {
            let error = MetricsConfigError.conflictingMetrics(http[0].name!, http[1].name!)
            var err = fail(.conflict, http[1].location, "name", "\(error) (the other is \(http[0].location))")
            err.underlying = error
            throw err
        }
        return (MetricsConfig(handlers: handlers), warnings)
    }
}
