import ArgumentParser
import Foundation
import SpyglassDatapath
import SpyglassServer

/// Checks ArgumentParser runs right after parsing (for `run` and `demo`), before anything touches the kernel.
/// Every message starts with the flag it is about. `agentConfig()` checks the rest (levels, durations, grammar);
/// what only the kernel or the file system can answer is checked when the agent starts, also naming the flag.
extension AgentOptions {
    /// The event queue preallocates every batch (256 KiB each): more than this would take gigabytes up front.
    static let maxEventQueueBatches = 1024
    /// The kernel's connection table is preallocated as well; 16 Mi entries are already about 2 GiB of kernel memory.
    static let maxConnectionTableSize = 1 << 24

    func validate() throws {
        for pattern in interfaces { try Self.checkInterfacePattern(pattern) }
        for item in devices.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            if let problem = DevicePatterns.problem(with: item.trimmingCharacters(in: .whitespaces)) {
                throw ValidationError("--devices: \(problem)")
            }
        }
        do {
            _ = try ListenAddress(parsing: metricsServer)
        } catch {
            throw ValidationError("\(error)")  // names --hubble-metrics-server itself
        }
        try Self.check(snapLength, "--snap-length", in: 0...Int(UInt32.max))
        try Self.check(l7SnapLength, "--l7-snap-length", in: 0...Int(UInt32.max))
        try Self.check(connectionTableSize, "--connection-table-size", in: 64...Self.maxConnectionTableSize)
        try Self.check(eventQueueBatches, "--event-queue-batches", in: 2...Self.maxEventQueueBatches)
        try Self.check(maxSeries, "--hubble-metrics-max-series", in: 1...Int(Int32.max))
        try Self.check(dropRateLimit, "--drop-rate-limit", in: 0...Int(UInt32.max))
        // Flow-log numbers are checked even without --hubble-export-file-path: a typo should not wait for the day
        // the flow log is switched on.
        try Self.check(exportMaxSizeMB, "--hubble-export-file-max-size-mb", in: 0...Int(Int32.max))
        try Self.check(exportMaxBackups, "--hubble-export-file-max-backups", in: 0...Int(Int32.max))
        try Self.check(exportQueueSize, "--hubble-export-queue-size", in: 1...(1 << 24))
        if !exportFilePath.isEmpty && exportFilePath != "stdout" {
            try Self.checkWritableLocation(exportFilePath, "--hubble-export-file-path")
        }
        if let nodeName, nodeName.isEmpty { throw ValidationError("--node-name: must not be empty") }
        for (flag, path) in [
            ("--hubble-dynamic-metrics-config-path", dynamicMetricsPath),
            ("--endpoints-file", endpointsFile),
            ("--k8s-kubeconfig-path", kubeconfig)
        ] {
            if let path { try Self.checkReadableFile(path, flag) }
        }
    }

    static func check(_ value: Int, _ flag: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError("\(flag): \(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
    }

    /// A name or glob that no Linux interface name could ever match is a typo, not "nothing there yet".
    static func checkInterfacePattern(_ pattern: String) throws {
        if pattern.isEmpty { throw ValidationError("--interface: empty name") }
        if pattern.contains(where: { $0 == "/" || $0.isWhitespace || $0 == ":" }) {
            throw ValidationError("--interface: '\(pattern)' cannot match an interface name (no '/', ':' or spaces)")
        }
        let isGlob = pattern.contains(where: { "*?[".contains($0) })
        if !isGlob && pattern.utf8.count > 15 {
            throw ValidationError(
                "--interface: '\(pattern)' is longer than 15 bytes, the longest interface name Linux allows")
        }
    }

    /// The file must exist and be readable now; its content is checked when the agent loads it (naming the file).
    /// (`--hubble-flowlogs-config-path` is exempt on purpose: like Hubble's, it may appear later and is retried.)
    static func checkReadableFile(_ path: String, _ flag: String) throws {
        var isDirectory: ObjCBool = false
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(flag): \(path.isEmpty ? "empty path" : "no such file '\(path)'")")
        }
        if isDirectory.boolValue { throw ValidationError("\(flag): '\(path)' is a directory, not a file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ValidationError("\(flag): cannot read '\(path)'")
        }
    }

    /// A file the agent will create (with its missing directories, as Hubble does): its nearest existing ancestor
    /// must be a directory we can write to, and the path itself must not be a directory.
    static func checkWritableLocation(_ path: String, _ flag: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw ValidationError("\(flag): '\(path)' is a directory, not a file") }
            guard access(path, W_OK) == 0 else { throw ValidationError("\(flag): cannot write '\(path)'") }
            return
        }
        var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) && ancestor.path != "/"
        {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isDirectory.boolValue else {
            throw ValidationError("\(flag): cannot create '\(path)': '\(ancestor.path)' is not a directory")
        }
        guard access(ancestor.path, W_OK) == 0 else {
            throw ValidationError("\(flag): cannot create '\(path)': '\(ancestor.path)' is not writable")
        }
    }
}
