// `spyglass-bench export` (issue #9, part 5): flows per second encoded and written to a Hubble JSON flow log with
// rotation, without and with gzip of the backups, while the metric engine processes the same flows on the same
// thread (as the agent's pipeline does); CPU seconds per 100k flows from getrusage, the whole process (pipeline
// thread, writer thread, compression), minus a metrics-only run of the same flows.
import Foundation
import Logging
import SpyglassExport
import SpyglassFlow
import SpyglassMetrics

struct ExportBench {
    let flows: Int
    let directory: String

    static let maxSizeMB = 10
    static let maxBackups = 3

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        print(
            "export: \(flows) flows (6-flow mix incl. DNS/HTTP L7), rotation at \(Self.maxSizeMB) MB, \(Self.maxBackups) backups, metric engine with 7 families × 7 labels on the same thread"
        )
        let baseline = try pass(exporter: nil)
        print(
            fmt("  metrics only:          %.0f flows/s, CPU %.3f s per 100k flows", baseline.rate, baseline.cpuPer100k))
        for compress in [false, true] {
            let path = directory + "/flows-\(compress ? "gz" : "plain").log"
            var logger = Logger(label: "spyglass-bench.export")
            logger.logLevel = .warning
            let exporters = try FlowExporters(
                static: StaticExporterConfig(
                    filePath: path, fileMaxSizeMB: Self.maxSizeMB, fileMaxBackups: Self.maxBackups,
                    fileCompress: compress),
                dynamicConfigPath: nil, nodeName: "bench-node", logger: logger)
            let r = try pass(exporter: exporters)
            let counts = Self.counts(exporters)
            let exportCPU = max(r.cpuPer100k - baseline.cpuPer100k, 0)
            let files =
                (try? FileManager.default.contentsOfDirectory(atPath: directory).filter {
                    $0.hasPrefix("flows-\(compress ? "gz" : "plain")")
                }) ?? []
            let name = compress ? "with gzip of backups" : "without compression"
            print(
                "  " + name.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + fmt(
                        " %.0f flows/s written; CPU %.3f s per 100k flows (export share %.3f s); written %llu, dropped %llu; %ld files kept",
                        r.rate, r.cpuPer100k, exportCPU, counts.written, counts.dropped, files.count))
            guard counts.written + counts.dropped == UInt64(flows) else {
                throw BenchError(
                    "export: \(flows) flows offered but \(counts.written) written + \(counts.dropped) dropped")
            }
            print(
                "RESULT export gzip=\(compress) "
                    + fmt(
                        "flows_per_second=%.0f cpu_s_per_100k=%.3f export_cpu_s_per_100k=%.3f metrics_only_cpu_s_per_100k=%.3f dropped=%llu",
                        r.rate, r.cpuPer100k, exportCPU, baseline.cpuPer100k, counts.dropped))
        }
    }

    struct Pass { var rate: Double; var cpuPer100k: Double }

    /// Feeds `flows` flows to the engine (and the exporter); with an exporter, the clock stops when every flow is
    /// on disk and the last backup is compressed (shutdown). The offer never blocks: the feeder waits while the
    /// writer's queue is more than half full, so the figure is the writer's speed, not a count of drops.
    private func pass(exporter: FlowExporters?) throws -> Pass {
        let (config, _) = try MetricsConfig.parse(sevenFamiliesSpec())
        let engine = MetricsEngine(config: config)
        let mix = flowMix()
        for f in mix { engine.process(f) }
        let cpu0 = processCPUSeconds()
        let clock = ContinuousClock()
        let start = clock.now
        for i in 0..<flows {
            let flow = mix[i % mix.count]
            engine.process(flow)
            exporter?.export(flow)
            if let exporter, i % 1024 == 1023 {
                while Self.counts(exporter).queue > 8192 { usleep(200) }
            }
        }
        if let exporter, !exporter.shutdown(timeout: .seconds(120)) {
            throw BenchError("export: the writer did not finish within 120 s")
        }
        let wall = seconds(clock.now - start)
        let cpu = processCPUSeconds() - cpu0
        return Pass(rate: Double(flows) / wall, cpuPer100k: cpu / Double(flows) * 100_000)
    }

    static func counts(_ exporters: FlowExporters) -> (written: UInt64, dropped: UInt64, queue: Int) {
        var written: UInt64 = 0, dropped: UInt64 = 0, queue = 0
        for family in exporters.selfMetrics() {
            let total = family.samples.reduce(0.0) { $0 + $1.value }
            switch family.name {
            case "spyglass_export_events_written_total": written = UInt64(total)
            case "spyglass_export_dropped_total": dropped = UInt64(total)
            case "spyglass_export_queue_length": queue = Int(total)
            default: break
            }
        }
        return (written, dropped, queue)
    }
}
