import ArgumentParser
import Foundation
import SpyglassFlow
import SpyglassSupport

/// Reads a command line the way Cilium's agent (pflag + viper) does, and hands ArgumentParser an equivalent one:
///
/// * boolean flags take `--flag` (true), `--flag=VALUE` with any of Go's `strconv.ParseBool` spellings, and, kept
///   from earlier Spyglass releases, `--flag true|false` as two arguments;
/// * `--config-dir DIR` adds one flag per file in DIR (file name = flag name, content = value), as Cilium's agent
///   reads its ConfigMap; a flag given on the command line wins over its file. Files that name no Spyglass flag
///   (a Cilium ConfigMap has dozens), empty files (the default stays) and hidden entries (Kubernetes' `..data`
///   links) are skipped and reported.
///
/// Which options are boolean, plain flags or repeatable is read from ArgumentParser's own description of the
/// command (`_dumpHelp`), so a flag added to `AgentOptions` is covered without a second list to keep in step.
struct CiliumArguments {
    struct FlagInfo: Equatable {
        enum Kind: Equatable { case bool, flag, repeating, value }
        var kind: Kind
    }

    /// What `--config-dir` contributed, for the log once the logger exists.
    struct ConfigDirReport: Sendable {
        var directory: String
        var applied: [String] = []
        var overridden: [String] = []
        var ignored: [String] = []
        var empty: [String] = []
    }

    let flags: [String: FlagInfo]

    /// Flags of a command, from ArgumentParser's JSON description of it.
    init(command: ParsableArguments.Type) {
        var flags: [String: FlagInfo] = [:]
        let json = (try? JSONSerialization.jsonObject(with: Data(command._dumpHelp().utf8))) as? [String: Any]
        let arguments = ((json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]]) ?? []
        for argument in arguments {
            let names = (argument["names"] as? [[String: Any]] ?? [])
                .filter { $0["kind"] as? String == "long" }.compactMap { $0["name"] as? String }
            let kind: FlagInfo.Kind
            switch argument["kind"] as? String {
            case "flag": kind = .flag
            case "option":
                if argument["isRepeating"] as? Bool == true {
                    kind = .repeating
                } else if let d = argument["defaultValue"] as? String, d == "true" || d == "false" {
                    kind = .bool
                } else {
                    kind = .value
                }
            default: continue
            }
            for name in names { flags[name] = FlagInfo(kind: kind) }
        }
        self.flags = flags
    }

    init(flags: [String: FlagInfo]) { self.flags = flags }

    /// Go's `strconv.ParseBool`.
    static func goBool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// The rewritten arguments (after the subcommand) and what the config directory contributed.
    func rewrite(_ args: [String]) throws -> (args: [String], report: ConfigDirReport?) {
        var out: [String] = []
        var given: Set<String> = []
        var configDir: String?
        var i = 0
        while i < args.count {
            let arg = args[i]
            i += 1
            if arg == "--" {
                out += args[i...]
                break
            }
            guard arg.hasPrefix("--"), arg.count > 2 else {
                out.append(arg)
                continue
            }
            let body = arg.dropFirst(2)
            let name = String(body.prefix { $0 != "=" })
            let inlineValue = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
            guard let info = flags[name] else {
                out.append(arg)  // unknown: ArgumentParser names it in its error
                continue
            }
            given.insert(name)
            switch info.kind {
            case .bool:
                if let inlineValue {
                    out.append("--\(name)=\(try Self.boolValue(inlineValue, flag: "--\(name)"))")
                } else if i < args.count, !args[i].hasPrefix("-") {
                    // `run` and `demo` take no positional arguments: a word after a boolean is meant as its value.
                    out.append("--\(name)=\(try Self.boolValue(args[i], flag: "--\(name)"))")
                    i += 1
                } else {
                    out.append("--\(name)=true")
                }
            case .flag:
                if let inlineValue {
                    if try Self.boolValue(inlineValue, flag: "--\(name)") { out.append("--\(name)") }
                } else {
                    out.append(arg)
                }
            case .repeating, .value:
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else if i < args.count {
                    value = args[i]
                    i += 1
                } else {
                    out.append(arg)  // ArgumentParser reports the missing value
                    continue
                }
                if name == "config-dir" { configDir = value }
                out += ["--\(name)", value]
            }
        }
        guard let configDir else { return (out, nil) }
        var report = ConfigDirReport(directory: configDir)
        out += try fromDirectory(configDir, skipping: given, report: &report)
        return (out, report)
    }

    static func boolValue(_ text: String, flag: String) throws -> Bool {
        guard let b = goBool(text) else {
            throw ValidationError(
                "\(flag): '\(text)' is not a boolean (true or false; Go's 1/0, t/f, TRUE/FALSE also work)")
        }
        return b
    }

    /// The arguments the files of `directory` stand for; flags in `given` are left to the command line.
    func fromDirectory(_ directory: String, skipping given: Set<String>, report: inout ConfigDirReport) throws
        -> [String]
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--config-dir: '\(directory)' is not a directory")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        } catch {
            throw ValidationError("--config-dir: cannot read '\(directory)': \(error.localizedDescription)")
        }
        var out: [String] = []
        for name in names where !name.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(name)
            // Kubernetes mounts each key as a symbolic link into `..data/`; follow it, skip what is not a file.
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            guard let info = flags[name], name != "config-dir" else {
                report.ignored.append(name)
                continue
            }
            if given.contains(name) {
                report.overridden.append(name)
                continue
            }
            // A hostile or mistaken file (a log, a device) must not be read whole.
            let attributes = try? FileManager.default.attributesOfItem(atPath: path)
            if let size = attributes?[.size] as? NSNumber, size.intValue > 1 << 20 {
                throw ValidationError("--config-dir: '\(path)' is larger than 1 MiB; a flag value cannot be that long")
            }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else {
                throw ValidationError("--config-dir: cannot read '\(path)' as UTF-8 text")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            // Cilium's chart renders unset options as empty strings; for Spyglass they mean "keep the default".
            if value.isEmpty {
                report.empty.append(name)
                continue
            }
            let source = "--config-dir file '\(path)' (--\(name))"
            switch info.kind {
            case .bool:
                out.append("--\(name)=\(try Self.boolValue(value, flag: source))")
            case .flag:
                if try Self.boolValue(value, flag: source) { out.append("--\(name)") }
            case .repeating:
                // viper reads a string list from one value by splitting it at whitespace.
                for item in value.split(whereSeparator: { $0.isWhitespace }) { out += ["--\(name)", String(item)] }
            case .value:
                out.append("--\(name)=\(value)")
            }
            report.applied.append(name)
        }
        return out
    }
}

/// Durations in Go's syntax, with Go's diagnosis of a bare number ("missing unit").
enum DurationFlag {
    static func nanoseconds(_ text: String, flag: String, allowZero: Bool = true) throws -> UInt64 {
        if let ns = GoDuration.nanoseconds(text) {
            guard allowZero || ns > 0 else {
                throw ValidationError("\(flag): must be a positive duration (got '\(text)')")
            }
            return ns
        }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let numeric =
            !trimmed.isEmpty
            && trimmed.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-" || $0 == "+") }
        if numeric && Double(trimmed) != nil {
            throw ValidationError(
                "\(flag): missing unit in duration '\(text)' (e.g. \(trimmed)s, \(trimmed)m; units ns us ms s m h)")
        }
        if trimmed.hasPrefix("-") {
            throw ValidationError("\(flag): '\(text)' is negative; a duration here must be 0 or more")
        }
        throw ValidationError("\(flag): '\(text)' is not a duration (e.g. 30s, 5m, 1h30m; units ns us ms s m h)")
    }
}
