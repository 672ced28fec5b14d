import SpyglassFlow
import SpyglassSupport
import Yams

/// One entry of the dynamic flow-log file (`--hubble-flowlogs-config-path`, docs/hubble-compatibility.md §9.6).
public struct FlowLogConfig: Sendable {
    public var name: String
    public var filePath: String
    public var fieldMask: [String] = []
    public var fieldAggregate: [String] = []
    public var aggregationInterval: Duration = .zero
    public var includeFilters: [FlowFilter] = []
    public var excludeFilters: [FlowFilter] = []
    /// 0 → 10.
    public var fileMaxSizeMB: Int = 0
    /// 0 → 5.
    public var fileMaxBackups: Int = 0
    public var fileCompress: Bool = false
    public var end: Timestamp? = nil

    public init(name: String, filePath: String) {
        self.name = name
        self.filePath = filePath
    }

    func spec(fileMode: UInt32, queueCapacity: Int) -> ExporterSpec {
        // Validated by `parse`: the filters and paths compile.
        let filters = try! FlowFilterSet(allow: includeFilters, deny: excludeFilters)
        let mask = try! FieldMask(paths: fieldMask)
        let agg = try! FieldMask(paths: fieldAggregate)
        return ExporterSpec(
            label: "dynamic:" + name, filePath: filePath, maxSizeMB: fileMaxSizeMB == 0 ? 10 : fileMaxSizeMB,
            maxBackups: fileMaxBackups == 0 ? 5 : fileMaxBackups, compress: fileCompress, filters: filters,
            mask: mask.isEmpty ? nil : mask, aggregate: (!agg.isEmpty && aggregationInterval > .zero) ? agg : nil,
            aggregationInterval: aggregationInterval, end: end, fileMode: fileMode, queueCapacity: queueCapacity)
    }
}

extension FlowLogConfig: Equatable {
    /// Equality as Hubble reconciles: filter order and field-mask order do not matter.
    public static func == (a: FlowLogConfig, b: FlowLogConfig) -> Bool {
        a.name == b.name && a.filePath == b.filePath && Set(a.fieldMask) == Set(b.fieldMask)
            && Set(a.fieldAggregate) == Set(b.fieldAggregate) && a.aggregationInterval == b.aggregationInterval
            && Set(a.includeFilters) == Set(b.includeFilters) && Set(a.excludeFilters) == Set(b.excludeFilters)
            && a.fileMaxSizeMB == b.fileMaxSizeMB && a.fileMaxBackups == b.fileMaxBackups
            && a.fileCompress == b.fileCompress && a.end == b.end
    }
}

/// Parser of the dynamic flow-log YAML. Errors name the entry and key (`flowLogs[1] "audit": filePath: …`).
public enum FlowLogsFile {
    static let keys: [String] = [
        "name", "filePath", "fieldMask", "fieldAggregate", "aggregationInterval", "includeFilters", "excludeFilters",
        "fileMaxSizeMb", "fileMaxBackups", "fileCompress", "end"
    ]

    /// `baseDirectory`: every `filePath` must be below it (`FlowLogPath.check`); nil leaves paths unconfined.
    public static func parse(_ yaml: String, baseDirectory: String? = nil) throws(ExportConfigError) -> [FlowLogConfig]
    {
        let root: Node?
        do {
            root = try YAMLDocument.load(yaml)
        } catch {
            switch error {
            case .tooDeep(let problem): throw ExportConfigError(location: "flowLogs", message: problem)
            case .syntax(let e): throw ExportConfigError(location: "flowLogs", message: "invalid YAML: \(e)")
            }
        }
        guard let root else { return [] }
        guard case .mapping(let top) = root else {
            throw ExportConfigError(
                location: "flowLogs", message: "the file must be a mapping with a flowLogs list\(at(root))")
        }
        var list: Node?
        for (k, v) in top {
            guard k.string == "flowLogs" else {
                throw ExportConfigError(location: k.string ?? "?", message: "unknown key (expected flowLogs)\(at(k))")
            }
            list = v
        }
        guard let list else { return [] }
        if list.null != nil { return [] }
        guard case .sequence(let entries) = list else {
            throw ExportConfigError(location: "flowLogs", message: "must be a list\(at(list))")
        }
        var out: [FlowLogConfig] = []
        var names: Set<String> = []
        var paths: Set<String> = []
        for (i, entry) in entries.enumerated() {
            let c = try parseEntry(entry, index: i)
            guard names.insert(c.name).inserted else {
                throw ExportConfigError(
                    location: "flowLogs[\(i)] \"\(c.name)\": name", message: "duplicate name \"\(c.name)\"")
            }
            guard paths.insert(c.filePath).inserted else {
                throw ExportConfigError(
                    location: "flowLogs[\(i)] \"\(c.name)\": filePath",
                    message: "file \"\(c.filePath)\" is used by another flow log")
            }
            try FlowLogPath.check(
                c.filePath, baseDirectory: baseDirectory, location: "flowLogs[\(i)] \"\(c.name)\": filePath")
            out.append(c)
        }
        return out
    }

    private static func at(_ n: Node) -> String {
        guard let m = n.mark else { return "" }
        return " (line \(m.line), column \(m.column))"
    }

    private static func parseEntry(_ node: Node, index i: Int) throws(ExportConfigError) -> FlowLogConfig {
        guard case .mapping(let map) = node else {
            throw ExportConfigError(location: "flowLogs[\(i)]", message: "must be a mapping\(at(node))")
        }
        var fields: [String: Node] = [:]
        for (k, v) in map {
            let key = k.string ?? ""
            guard keys.contains(key) else {
                throw ExportConfigError(
                    location: "flowLogs[\(i)]",
                    message: "unknown key \"\(key)\"\(at(k)) (known: \(keys.joined(separator: ", ")))")
            }
            fields[key] = v
        }
        let name = scalar(fields["name"]) ?? ""
        guard !name.isEmpty else { throw ExportConfigError(location: "flowLogs[\(i)]: name", message: "required") }
        let loc = "flowLogs[\(i)] \"\(name)\""
        let path = scalar(fields["filePath"]) ?? ""
        guard !path.isEmpty else { throw ExportConfigError(location: "\(loc): filePath", message: "required") }
        var c = FlowLogConfig(name: name, filePath: path)
        c.fieldMask = try strings(fields["fieldMask"], "\(loc): fieldMask")
        c.fieldAggregate = try strings(fields["fieldAggregate"], "\(loc): fieldAggregate")
        do {
            _ = try FieldMask(paths: c.fieldMask)
        } catch {
            throw ExportConfigError(location: "\(loc): fieldMask", message: error.description)
        }
        do {
            _ = try FieldMask(paths: c.fieldAggregate)
        } catch {
            throw ExportConfigError(location: "\(loc): fieldAggregate", message: error.description)
        }
        if let v = scalar(fields["aggregationInterval"]) {
            guard let d = GoDuration.parse(v), d >= .zero else {
                throw ExportConfigError(location: "\(loc): aggregationInterval", message: "invalid duration \"\(v)\"")
            }
            c.aggregationInterval = d
        }
        c.includeFilters = try filters(fields["includeFilters"], "\(loc): includeFilters")
        c.excludeFilters = try filters(fields["excludeFilters"], "\(loc): excludeFilters")
        c.fileMaxSizeMB = try int(fields["fileMaxSizeMb"], "\(loc): fileMaxSizeMb")
        c.fileMaxBackups = try int(fields["fileMaxBackups"], "\(loc): fileMaxBackups")
        if let n = fields["fileCompress"], n.null == nil {
            guard let b = n.bool else {
                throw ExportConfigError(
                    location: "\(loc): fileCompress",
                    message: "expected true or false, found \"\(n.string ?? "")\"\(at(n))")
            }
            c.fileCompress = b
        }
        if let v = scalar(fields["end"]), !v.isEmpty {
            guard let t = Timestamp(rfc3339: v) else {
                throw ExportConfigError(
                    location: "\(loc): end",
                    message: "invalid RFC 3339 time \"\(v)\" (e.g. \"2023-10-09T23:59:59-07:00\")")
            }
            c.end = t
        }
        return c
    }

    private static func scalar(_ n: Node?) -> String? {
        guard let n, case .scalar(let s) = n, n.null == nil else { return nil }
        return s.string
    }

    private static func int(_ n: Node?, _ loc: String) throws(ExportConfigError) -> Int {
        guard let n, n.null == nil else { return 0 }
        guard let v = n.checkedInt, v >= 0 else {
            throw ExportConfigError(
                location: loc, message: "expected a number of 0 or more, found \"\(n.string ?? "")\"\(at(n))")
        }
        return v
    }

    private static func strings(_ n: Node?, _ loc: String) throws(ExportConfigError) -> [String] {
        guard let n, n.null == nil else { return [] }
        if case .scalar(let s) = n { return StaticExporterConfig.splitList(s.string) }
        guard case .sequence(let seq) = n else {
            throw ExportConfigError(location: loc, message: "expected a list\(at(n))")
        }
        var out: [String] = []
        for item in seq {
            guard case .scalar(let s) = item else {
                throw ExportConfigError(location: loc, message: "expected strings\(at(item))")
            }
            out.append(s.string)
        }
        return out
    }

    private static func filters(_ n: Node?, _ loc: String) throws(ExportConfigError) -> [FlowFilter] {
        guard let n, n.null == nil else { return [] }
        guard case .sequence(let seq) = n else {
            throw ExportConfigError(location: loc, message: "expected a list of FlowFilters\(at(n))")
        }
        var out: [FlowFilter] = []
        for (j, item) in seq.enumerated() {
            do {
                let f = try FlowFilter(json: json(item))
                _ = try FlowFilterMatcher(f)
                out.append(f)
            } catch {
                throw ExportConfigError(location: "\(loc)[\(j)]", message: error.description + at(item))
            }
        }
        return out
    }

    /// A YAML node as the JSON value protojson would see.
    static func json(_ n: Node) -> JSONValue {
        switch n {
        case .mapping(let m):
            return .object(m.map { JSONMember(key: $0.key.string ?? "", value: json($0.value)) })
        case .sequence(let s):
            return .array(s.map { json($0) })
        case .scalar(let s):
            if n.null != nil { return .null }
            if let b = n.bool { return .bool(b) }
            if n.checkedInt != nil || n.float != nil { return .number(s.string) }
            return .string(s.string)
        }
    }
}
