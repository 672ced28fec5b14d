import ArgumentParser
import Foundation
import Logging
import SpyglassSupport

/// `--log-format` and `--log-level`: the process-wide logging bootstrap.
struct LogSettings {
    var json = false
    var level = Logger.Level.info

    init(format: String, level: String, debug: Bool) throws {
        switch format {
        case "text": json = false
        case "json": json = true
        default: throw ValidationError("--log-format: '\(format)' is not text or json")
        }
        guard let parsed = Logger.Level(rawValue: level.lowercased()) ?? (level.lowercased() == "warn" ? .warning : nil)
        else {
            throw ValidationError(
                "--log-level: '\(level)' is not trace, debug, info, notice, warning, error or critical")
        }
        // Cilium's --debug lowers the default level; an explicit --log-level other than the default wins.
        self.level = debug && parsed == .info ? .debug : parsed
    }

    /// Bootstraps swift-log once (a second call would trap) and returns the agent's logger.
    func makeLogger() -> Logger {
        let settings = self
        LoggingSystem.bootstrap { label in
            if settings.json {
                var h = JSONLogHandler(label: label)
                h.logLevel = settings.level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = settings.level
            return h
        }
        return Logger(label: "spyglass")
    }
}

/// One JSON object per line on stderr, with the keys logrus (and so Cilium's agent) writes: `time` (RFC 3339,
/// UTC), `level`, `msg`, `subsys` (the logger's label), then the metadata as string fields.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = metadataProvider?.get() { fields.merge(extra) { _, new in new } }
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var object: [String: String] = [
            "time": Self.timestamp(), "level": Self.name(event.level), "msg": "\(event.message)", "subsys": label
        ]
        for (key, value) in fields where object[key] == nil { object[key] = "\(value)" }
        guard
            var line = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)  // one write(2) per line: lines of concurrent threads do not interleave
    }

    /// logrus's level names.
    static func name(_ level: Logger.Level) -> String {
        switch level {
        case .trace: "trace"
        case .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warning"
        case .error: "error"
        case .critical: "fatal"
        }
    }

    static func timestamp() -> String {
        let now = SystemClock.wall()
        var t = time_t(now.seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(now.nanos))
    }
}
