import SpyglassFlow
import SpyglassSupport

/// The static exporter's settings, filled by the agent from Cilium's flags (docs/hubble-compatibility.md §9.1). Call
/// `validate()` at start-up: it throws an `ExportConfigError` naming the flag.
public struct StaticExporterConfig: Sendable, Equatable {
    /// `--hubble-export-file-path`: the file, or `stdout`. Empty disables the static exporter.
    public var filePath: String
    /// `--hubble-export-file-max-size-mb` (10). 0 means 100 MB, as lumberjack's default.
    public var fileMaxSizeMB: Int
    /// `--hubble-export-file-max-backups` (5). 0 keeps all backups.
    public var fileMaxBackups: Int
    /// `--hubble-export-file-compress` (false): gzip rotated files.
    public var fileCompress: Bool
    /// `--hubble-export-allowlist`: JSON FlowFilters separated by whitespace.
    public var allowList: String
    /// `--hubble-export-denylist`: JSON FlowFilters separated by whitespace.
    public var denyList: String
    /// `--hubble-export-fieldmask`: Flow field paths (see `splitList`).
    public var fieldMask: [String]
    /// `--hubble-export-fieldaggregate`: Flow field paths making up the aggregation key.
    public var fieldAggregate: [String]
    /// `--hubble-export-aggregation-interval` (0s = off).
    public var aggregationInterval: Duration
    /// `--hubble-export-file-mode` (Spyglass; 0600): mode of a newly created flow log file.
    public var fileMode: UInt32
    /// `--hubble-export-queue-size` (Spyglass; 16384): events waiting for the writer before new ones are dropped.
    public var queueCapacity: Int

    public init(
        filePath: String, fileMaxSizeMB: Int = 10, fileMaxBackups: Int = 5, fileCompress: Bool = false,
        allowList: String = "", denyList: String = "", fieldMask: [String] = [], fieldAggregate: [String] = [],
        aggregationInterval: Duration = .zero, fileMode: UInt32 = 0o600, queueCapacity: Int = 16384
    ) {
        self.filePath = filePath
        self.fileMaxSizeMB = fileMaxSizeMB
        self.fileMaxBackups = fileMaxBackups
        self.fileCompress = fileCompress
        self.allowList = allowList
        self.denyList = denyList
        self.fieldMask = fieldMask
        self.fieldAggregate = fieldAggregate
        self.aggregationInterval = aggregationInterval
        self.fileMode = fileMode
        self.queueCapacity = queueCapacity
    }

    /// Splits a string-list flag value on commas and whitespace (Cilium's string-slice flags take commas; Helm
    /// joins lists with spaces).
    public static func splitList(_ value: String) -> [String] {
        value.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
    }

    /// Parses a `--hubble-export-aggregation-interval` value (Go duration syntax: `10s`, `1m30s`, `500ms`, `0`).
    public static func parseDuration(_ value: String, flag: String = "--hubble-export-aggregation-interval")
        throws(ExportConfigError) -> Duration
    {
        guard let d = GoDuration.parse(value), d >= .zero else {
            throw ExportConfigError(
                location: flag, message: "invalid duration \"\(value)\" (expected e.g. \"10s\", \"1m30s\", \"500ms\")")
        }
        return d
    }

    /// Checks every value; the error names the flag and quotes the offending text.
    public func validate() throws(ExportConfigError) {
        _ = try spec(label: "static")
    }

    func spec(label: String) throws(ExportConfigError) -> ExporterSpec {
        guard !filePath.isEmpty else {
            throw ExportConfigError(location: "--hubble-export-file-path", message: "empty path")
        }
        try FlowLogPath.check(filePath, location: "--hubble-export-file-path")
        guard fileMaxSizeMB >= 0 else {
            throw ExportConfigError(
                location: "--hubble-export-file-max-size-mb", message: "must be 0 or more, got \(fileMaxSizeMB)")
        }
        guard fileMaxBackups >= 0 else {
            throw ExportConfigError(
                location: "--hubble-export-file-max-backups", message: "must be 0 or more, got \(fileMaxBackups)")
        }
        guard fileMode <= 0o7777 else {
            throw ExportConfigError(
                location: "--hubble-export-file-mode", message: "invalid mode \(String(fileMode, radix: 8))")
        }
        guard queueCapacity > 0 else {
            throw ExportConfigError(
                location: "--hubble-export-queue-size", message: "must be at least 1, got \(queueCapacity)")
        }
        guard aggregationInterval >= .zero else {
            throw ExportConfigError(location: "--hubble-export-aggregation-interval", message: "must not be negative")
        }
        let allow = try Self.filters(allowList, flag: "--hubble-export-allowlist")
        let deny = try Self.filters(denyList, flag: "--hubble-export-denylist")
        do { _ = try FlowFilterSet(allow: allow) } catch {
            throw ExportConfigError(location: "--hubble-export-allowlist", message: error.description)
        }
        do { _ = try FlowFilterSet(deny: deny) } catch {
            throw ExportConfigError(location: "--hubble-export-denylist", message: error.description)
        }
        let filters = try! FlowFilterSet(allow: allow, deny: deny)  // both lists compiled above
        let mask = try Self.mask(fieldMask, flag: "--hubble-export-fieldmask")
        let agg = try Self.mask(fieldAggregate, flag: "--hubble-export-fieldaggregate")
        return ExporterSpec(
            label: label, filePath: filePath, maxSizeMB: fileMaxSizeMB, maxBackups: fileMaxBackups,
            compress: fileCompress,
            filters: filters, mask: mask, aggregate: aggregationInterval > .zero ? agg : nil,
            aggregationInterval: aggregationInterval, end: nil, fileMode: fileMode, queueCapacity: queueCapacity)
    }

    static func filters(_ text: String, flag: String) throws(ExportConfigError) -> [FlowFilter] {
        do {
            return try FlowFilter.parseList(text)
        } catch {
            throw ExportConfigError(location: flag, message: error.description)
        }
    }

    static func mask(_ paths: [String], flag: String) throws(ExportConfigError) -> FieldMask? {
        do {
            let m = try FieldMask(paths: paths)
            return m.isEmpty ? nil : m
        } catch {
            throw ExportConfigError(location: flag, message: error.description)
        }
    }
}
