import Foundation
import Logging
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Flow logs from the dynamic config file (`--hubble-flowlogs-config-path`, docs/hubble-compatibility.md §9.6).
///
/// The file is read at start and then polled every `pollInterval`; a reload happens only when its content hash
/// changed. Entries are reconciled by name: new → `add`, changed (filters and field-mask order ignored) → `update`
/// (the new exporter starts writing once the old one has closed the file), gone → `remove`. A file that cannot be
/// read or parsed counts one `failure` per distinct content, keeps the last good configuration, and its error is
/// logged and kept in `lastError`. A flow log whose `end` has passed stays configured and writes nothing.
final class DynamicExporters: Sendable {
    struct Entry {
        var config: FlowLogConfig
        var exporter: Exporter
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
        var lastSeenHash: UInt64?
        var appliedHash: UInt64 = 0
        var lastApplied: Double = 0
        var ops: [String: UInt64] = [:]
        var lastError: String?
        var retired: [String: (written: UInt64, dropped: [String: UInt64])] = [:]
    }

    let path: String
    private let pollInterval: Duration
    private let nodeName: String
    private let encoder: FlowRecordEncoder
    private let logger: Logger
    private let fileMode: UInt32
    private let queueCapacity: Int
    /// Every `filePath` must be below it (nil: unconfined, for tests of other behaviour).
    private let baseDirectory: String?
    private let state = PThreadMutex(State())
    /// What the hot path reads: the live exporters.
    private let live = PThreadMutex<[Exporter]>([])
    /// Reads the file and tells a change from none; checks are serialised, so reloads never overlap.
    private let poller: FilePoller
    private let watcher = PThreadMutex<Task<Void, Never>?>(nil)

    init(
        path: String, pollInterval: Duration, nodeName: String, encoder: FlowRecordEncoder, fileMode: UInt32,
        queueCapacity: Int, logger: Logger, baseDirectory: String? = nil
    ) {
        self.baseDirectory = baseDirectory
        self.path = path
        self.pollInterval = pollInterval
        self.nodeName = nodeName
        self.encoder = encoder
        self.fileMode = fileMode
        self.queueCapacity = queueCapacity
        self.logger = logger
        poller = FilePoller(path: path, interval: max(.milliseconds(1), pollInterval))
        reload()
        let task = Task.detached { [self] in await poller.run { [self] change in _ = handle(change) } }
        watcher.withLock { $0 = task }
    }

    func offer(_ flow: Flow, uuid: UUIDv4?) {
        for e in live.withLock({ $0 }) { e.offer(flow, uuid: uuid) }
    }

    func offerLost(source: LostEventSource, count: UInt64, cpu: Int32?, time: Timestamp) {
        for e in live.withLock({ $0 }) { e.offerLost(source: source, count: count, cpu: cpu, time: time) }
    }

    var isEmpty: Bool { live.withLock { $0.isEmpty } }

    /// The last read or parse error, nil when the last attempt applied.
    var lastError: String? { state.withLock { $0.lastError } }

    /// Names of the configured flow logs, in file order.
    var names: [String] { state.withLock { $0.order } }

    func exporter(named name: String) -> Exporter? { state.withLock { $0.entries[name]?.exporter } }

    /// Reads the file and applies it when its content changed. Returns false on a read or parse failure.
    @discardableResult
    func reload() -> Bool { poller.check(handle) }

    private func handle(_ change: FilePoller.Change) -> Bool {
        switch change {
        case .unchanged:
            return state.withLock { $0.lastError == nil }
        case .failed(let error):
            return fail(hash: 1, "cannot read \(path): \(error)")
        case .changed(let bytes, _):
            // MD5 as Hubble: its first 8 bytes are `hubble_dynamic_exporter_config_hash`.
            let hash = MD5.uint64(bytes)
            let configs: [FlowLogConfig]
            do {
                configs = try FlowLogsFile.parse(String(decoding: bytes, as: UTF8.self), baseDirectory: baseDirectory)
            } catch {
                return fail(hash: hash, "\(path): \(error.description)")
            }
            apply(configs, hash: hash)
            return true
        }
    }

    private func fail(hash: UInt64, _ reason: String) -> Bool {
        let first = state.withLock { s -> Bool in
            let first = s.lastSeenHash != hash
            s.lastSeenHash = hash
            s.lastError = reason
            if first { s.ops["failure", default: 0] += 1 }
            return first
        }
        if first {
            logger.error(
                "flow log configuration not applied; keeping the previous one", metadata: ["error": "\(reason)"])
        }
        return false
    }

    private func apply(_ configs: [FlowLogConfig], hash: UInt64) {
        let old = state.withLock { $0.entries }
        var next: [String: Entry] = [:]
        var toStop: [(Exporter, DispatchSemaphore?)] = []
        var ops: [String: UInt64] = [:]
        let wanted = Set(configs.map(\.name))
        // Removed first, so a path freed by one flow log can be taken by another.
        for (name, e) in old where !wanted.contains(name) {
            toStop.append((e.exporter, nil))
            ops["remove", default: 0] += 1
            logger.info("flow log removed", metadata: ["name": "\(name)"])
        }
        for c in configs {
            if let e = old[c.name], e.config == c {
                next[c.name] = e
                continue
            }
            var gate: DispatchSemaphore? = nil
            if let e = old[c.name] {
                gate = DispatchSemaphore(value: 0)
                toStop.append((e.exporter, gate))
                ops["update", default: 0] += 1
                logger.info("flow log updated", metadata: ["name": "\(c.name)"])
            } else {
                ops["add", default: 0] += 1
                logger.info("flow log added", metadata: ["name": "\(c.name)", "file": "\(c.filePath)"])
            }
            let spec = c.spec(fileMode: fileMode, queueCapacity: queueCapacity)
            // A removed log's path may be reused: wait for every log being stopped that wrote to the same file.
            if gate == nil,
                old.values.contains(where: { $0.config.filePath == c.filePath && !wanted.contains($0.config.name) })
            {
                gate = DispatchSemaphore(value: 0)
                if let i = toStop.firstIndex(where: { $0.0.spec.filePath == c.filePath && $0.1 == nil }) {
                    toStop[i].1 = gate
                }
            }
            next[c.name] = Entry(
                config: c,
                exporter: Exporter(spec: spec, nodeName: nodeName, encoder: encoder, logger: logger, startGate: gate))
        }
        let order = configs.map(\.name)
        live.withLock { $0 = order.compactMap { next[$0]?.exporter } }
        state.withLock { s in
            s.entries = next
            s.order = order
            s.lastSeenHash = hash
            s.appliedHash = hash
            s.lastApplied = Date().timeIntervalSince1970
            s.lastError = nil
            for (op, n) in ops { s.ops[op, default: 0] += n }
        }
        for (exporter, gate) in toStop {
            exporter.stop(deadline: .now + .seconds(10))
            retire(exporter)
            gate?.signal()
        }
    }

    private func retire(_ e: Exporter) {
        let written = e.written
        let dropped = e.dropped
        state.withLock { s in
            var r = s.retired[e.spec.label] ?? (0, [:])
            r.written += written
            for (k, v) in dropped { r.dropped[k, default: 0] += v }
            s.retired[e.spec.label] = r
        }
    }

    func stop(deadline: ContinuousClock.Instant) -> Bool {
        poller.cancel()  // waits for a reload in progress; none starts after it
        watcher.withLock { $0 }?.cancel()
        let all = live.withLock { l -> [Exporter] in
            let a = l
            l = []
            return a
        }
        var ok = true
        for e in all { ok = e.stop(deadline: deadline) && ok }
        return ok
    }

    /// `hubble_dynamic_exporter_*` (docs/hubble-compatibility.md §6).
    func hubbleMetrics() -> [SelfMetricFamily] {
        let (entries, order, ops, hash, applied) = state.withLock { s in
            (s.entries, s.order, s.ops, s.appliedHash, s.lastApplied)
        }
        var active = 0
        var up: [MetricSample] = []
        for name in order {
            guard let e = entries[name] else { continue }
            let isUp = !e.exporter.isExpired
            if isUp { active += 1 }
            up.append(.init(labels: ["name": name], value: isUp ? 1 : 0))
        }
        return [
            SelfMetricFamily(
                name: "hubble_dynamic_exporter_exporters_total", kind: .gauge, help: "Number of configured exporters",
                samples: [
                    .init(labels: ["status": "active"], value: Double(active)),
                    .init(labels: ["status": "inactive"], value: Double(order.count - active))
                ]),
            SelfMetricFamily(
                name: "hubble_dynamic_exporter_up", kind: .gauge, help: "Status of exporter (1 - active, 0 - inactive)",
                samples: up),
            SelfMetricFamily(
                name: "hubble_dynamic_exporter_reconfigurations_total", kind: .counter,
                help: "Number of dynamic exporters reconfigurations",
                samples: ops.keys.sorted().map { .init(labels: ["op": $0], value: Double(ops[$0]!)) }),
            SelfMetricFamily(
                name: "hubble_dynamic_exporter_config_hash", kind: .gauge, help: "Hash of last applied config",
                samples: [.init(value: Double(hash))]),
            SelfMetricFamily(
                name: "hubble_dynamic_exporter_config_last_applied", kind: .gauge,
                help: "Timestamp of last applied config",
                samples: [.init(value: applied)])
        ]
    }

    /// Written and dropped counts per exporter label, including exporters already stopped.
    func counts() -> [(label: String, written: UInt64, dropped: [String: UInt64], queue: Int)] {
        let (entries, retired) = state.withLock { ($0.entries, $0.retired) }
        var out: [String: (UInt64, [String: UInt64], Int)] = [:]
        for (label, r) in retired { out[label] = (r.written, r.dropped, 0) }
        for e in entries.values {
            var c = out[e.exporter.spec.label] ?? (0, [:], 0)
            c.0 += e.exporter.written
            for (k, v) in e.exporter.dropped { c.1[k, default: 0] += v }
            c.2 = e.exporter.queueLength
            out[e.exporter.spec.label] = c
        }
        return out.keys.sorted().map { ($0, out[$0]!.0, out[$0]!.1, out[$0]!.2) }
    }
}
