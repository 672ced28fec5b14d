import Foundation
import SpyglassSupport

/// The standard `process_*` families that every Prometheus client library exports (client_golang's process
/// collector among them, so Hubble's registry has them too): resident memory, CPU time, file descriptors, start time.
/// Dashboards and alerts on agent health expect these names. Read from /proc/self at each scrape.
public enum ProcessMetrics {
    struct Snapshot: Equatable {
        var cpuSeconds: Double
        var virtualBytes: Double
        var residentBytes: Double
        var startTimeSeconds: Double
        var openFDs: Double
        var maxFDs: Double
    }

    /// Registers the `process_*` families and `spyglass_build_info{version,arch}` (throws
    /// `MetricsRegistrationError` when they are registered already).
    public static func register(on engine: MetricsEngine, version: String) throws {
        let families: [(String, String, MetricType, @Sendable (Snapshot) -> Double)] = [
            (
                "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", .counter,
                { $0.cpuSeconds }
            ),
            ("process_open_fds", "Number of open file descriptors.", .gauge, { $0.openFDs }),
            ("process_max_fds", "Maximum number of open file descriptors.", .gauge, { $0.maxFDs }),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes.", .gauge, { $0.virtualBytes }),
            ("process_resident_memory_bytes", "Resident memory size in bytes.", .gauge, { $0.residentBytes }),
            (
                "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", .gauge,
                { $0.startTimeSeconds }
            )
        ]
        for (name, help, type, value) in families {
            try engine.registerCollector(name: name, help: help, type: type) {
                guard let snapshot = read() else { return [] }
                return [MetricSample(value: value(snapshot))]
            }
        }
        // The build behind the series, as `*_build_info` families do: join on it in queries and alerts.
        let info = [
            MetricSample(labels: ["version": version, "arch": machineArchitecture()], value: 1)
        ]
        try engine.registerCollector(
            name: "spyglass_build_info",
            help: "Spyglass's version and the machine architecture it was built for; always 1",
            type: .gauge
        ) { info }
    }

    static func machineArchitecture() -> String {
        #if arch(x86_64)
            "x86_64"
        #elseif arch(arm64)
            "aarch64"
        #else
            "other"
        #endif
    }

    /// nil when /proc is not readable (the families are then absent from the scrape rather than wrong).
    static func read() -> Snapshot? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let bootTime = bootTimeSeconds()
        else { return nil }
        return parse(
            stat: stat, bootTime: bootTime, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Double(sysconf(Int32(_SC_PAGESIZE))), openFDs: openFileDescriptors(),
            maxFDs: maxFileDescriptors())
    }

    /// Fields of /proc/<pid>/stat after the command name (which may contain spaces and parentheses, hence the last
    /// ')'): utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5), counted from 1).
    static func parse(
        stat: String, bootTime: Double, ticksPerSecond: Double, pageSize: Double, openFDs: Double,
        maxFDs: Double
    ) -> Snapshot? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ n: Int) -> Double? { n - 3 < fields.count ? Double(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
            let rss = field(24), ticksPerSecond > 0
        else { return nil }
        return Snapshot(
            cpuSeconds: (utime + stime) / ticksPerSecond, virtualBytes: vsize, residentBytes: rss * pageSize,
            startTimeSeconds: bootTime + start / ticksPerSecond, openFDs: openFDs, maxFDs: maxFDs)
    }

    private static func bootTimeSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private static func openFileDescriptors() -> Double {
        let count = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return Double(max(count - 1, 0))  // minus the descriptor the listing itself holds open
    }

    private static func maxFileDescriptors() -> Double {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        return Double(limit.rlim_cur)
    }
}
