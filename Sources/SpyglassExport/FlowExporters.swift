import Foundation
import Logging
import SpyglassFlow
import SpyglassSupport

/// The agent's entry point to flow logs: the static exporter (Cilium's `--hubble-export-*` flags) and/or the
/// dynamic flow logs (`--hubble-flowlogs-config-path`).
///
/// `export` and `exportLost` are safe from any thread and never block: each exporter filters on the caller's
/// thread and hands the event to its own bounded queue and writer thread. Flows arrive without a UUID; one is drawn
/// here per event (the same for every flow log) and written as `uuid`.
public final class FlowExporters: Sendable {
    private let staticExporter: Exporter?
    private let dynamic: DynamicExporters?
    private let nodeName: String
    private let uuids = UUIDSource()
    private let logger: Logger

    /// - Parameters:
    ///   - static: the static exporter's flags, or nil when `--hubble-export-file-path` is empty.
    ///   - dynamicConfigPath: `--hubble-flowlogs-config-path`, or nil/empty.
    ///   - nodeName: the bare node name, written as `node_name` of `lost_events` records (flows carry their own).
    ///   - dynamicPollInterval: how often the dynamic file is checked for changes (Hubble: 5 s).
    ///   - dynamicFileMode / dynamicQueueCapacity: file mode and queue size of dynamic flow logs.
    ///   - dynamicBaseDirectory: `--hubble-flowlogs-base-dir`: every dynamic `filePath` must be below it.
    /// - Throws: `ExportConfigError` naming the flag when the static configuration is invalid. An unreadable or
    ///   invalid dynamic file does not throw: it counts a `failure`, is logged, and is retried when it changes.
    public init(
        static staticConfig: StaticExporterConfig?, dynamicConfigPath: String?, nodeName: String, logger: Logger,
        encoder: FlowRecordEncoder = FlowRecordEncoder(), dynamicPollInterval: Duration = .seconds(5),
        dynamicFileMode: UInt32 = 0o600, dynamicQueueCapacity: Int = 16384, dynamicBaseDirectory: String? = nil
    ) throws(ExportConfigError) {
        self.nodeName = nodeName
        self.logger = logger
        if let c = staticConfig, !c.filePath.isEmpty {
            let spec = try c.spec(label: "static")
            if !c.fieldAggregate.isEmpty && c.aggregationInterval == .zero {
                logger.warning(
                    "--hubble-export-fieldaggregate is set but --hubble-export-aggregation-interval is 0s: exporting raw events"
                )
            }
            staticExporter = Exporter(spec: spec, nodeName: nodeName, encoder: encoder, logger: logger)
        } else {
            staticExporter = nil
        }
        if let p = dynamicConfigPath, !p.isEmpty {
            dynamic = DynamicExporters(
                path: p, pollInterval: dynamicPollInterval, nodeName: nodeName, encoder: encoder,
                fileMode: dynamicFileMode,
                queueCapacity: dynamicQueueCapacity, logger: logger, baseDirectory: dynamicBaseDirectory)
        } else {
            dynamic = nil
        }
    }

    /// For tests: an exporter from a spec (byte-sized rotation limits).
    init(spec: ExporterSpec, nodeName: String, logger: Logger, encoder: FlowRecordEncoder = FlowRecordEncoder()) {
        self.nodeName = nodeName
        self.logger = logger
        staticExporter = Exporter(spec: spec, nodeName: nodeName, encoder: encoder, logger: logger)
        dynamic = nil
    }

    /// Whether any exporter is configured.
    /// Re-reads the dynamic flow-log config now (SIGHUP); nil without one, else whether it is good.
    public func reloadConfig() -> Bool? { dynamic?.reload() }

    public var isEnabled: Bool { staticExporter != nil || dynamic != nil }

    /// Hot path: offers the flow to every exporter. Never blocks.
    public func export(_ flow: Flow) {
        guard staticExporter != nil || dynamic != nil else { return }
        let uuid = flow.uuid.isEmpty ? uuids.next() : nil
        staticExporter?.offer(flow, uuid: uuid)
        dynamic?.offer(flow, uuid: uuid)
    }

    /// A `lost_events` record (events lost before export: ring buffer, queues).
    public func exportLost(source: LostEventSource, count: UInt64, cpu: Int32?) {
        let time = Timestamp.now
        staticExporter?.offerLost(source: source, count: count, cpu: cpu, time: time)
        dynamic?.offerLost(source: source, count: count, cpu: cpu, time: time)
    }

    /// Spyglass's exporter self-metrics, plus `hubble_dynamic_exporter_*` when the dynamic exporter is configured.
    public func selfMetrics() -> [SelfMetricFamily] {
        var rows: [(label: String, written: UInt64, dropped: [String: UInt64], queue: Int)] = []
        if let s = staticExporter { rows.append(("static", s.written, s.dropped, s.queueLength)) }
        if let dynamic { rows += dynamic.counts() }
        var families: [SelfMetricFamily] = []
        if !rows.isEmpty {
            families.append(
                SelfMetricFamily(
                    name: "spyglass_export_events_written_total", kind: .counter,
                    help: "Events written to flow log files, by exporter (static or dynamic:<name>)",
                    samples: rows.map { .init(labels: ["exporter": $0.label], value: Double($0.written)) }))
            var dropped: [MetricSample] = []
            for r in rows {
                for reason in ["queue_full", "no_space", "write_error", "too_large", "open_error"] {
                    dropped.append(
                        .init(labels: ["exporter": r.label, "reason": reason], value: Double(r.dropped[reason] ?? 0)))
                }
            }
            families.append(
                SelfMetricFamily(
                    name: "spyglass_export_dropped_total", kind: .counter,
                    help:
                        "Events not written to a flow log, by exporter and reason (queue_full, no_space, write_error, too_large, open_error)",
                    samples: dropped))
            families.append(
                SelfMetricFamily(
                    name: "spyglass_export_queue_length", kind: .gauge, help: "Events waiting for a flow log writer",
                    samples: rows.map { .init(labels: ["exporter": $0.label], value: Double($0.queue)) }))
        }
        if let dynamic { families += dynamic.hubbleMetrics() }
        return families
    }

    /// Drains every queue, writes pending aggregates, closes the files and waits for backup compression, for at
    /// most `timeout` in total. Call once on SIGTERM; `export` after it drops (and counts) events.
    @discardableResult
    public func shutdown(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var ok = true
        if let s = staticExporter { ok = s.stop(deadline: deadline) && ok }
        if let dynamic { ok = dynamic.stop(deadline: deadline) && ok }
        if !ok { logger.warning("flow log shutdown timed out; some queued events were not written") }
        return ok
    }

    // MARK: test hooks

    var staticForTesting: Exporter? { staticExporter }
    var dynamicForTesting: DynamicExporters? { dynamic }
}
