import Foundation
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Keeps a `MetricsEngine` in step with a dynamic metrics file (`--hubble-dynamic-metrics-config-path`).
///
/// The file is polled (`interval`, default 5 s; Hubble polls every 10 s). Only when its content hash changes is
/// it parsed, validated (including the filters, compiled as FlowFilters) and applied with
/// `MetricsEngine.apply(_:)`; unlike Hubble, changed context options (label sets) apply without a restart. A file
/// that cannot be read or used leaves the last good configuration in effect; the problem is reported once per
/// distinct content through `log` and in the self-metrics:
///
/// * `spyglass_metrics_config_reloads_total{result="success"|"failure"}`
/// * `spyglass_metrics_config_last_reload_successful` (1 or 0)
/// * `spyglass_metrics_config_last_success_timestamp_seconds` (Unix time; absent before the first success)
///
/// ```swift
/// try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: flag, dynamicConfigPath: path)
/// let engine = MetricsEngine(config: MetricsConfig(handlers: []), options: options)
/// let watcher = try DynamicMetricsConfigWatcher(path: path, engine: engine) { level, message in ... }
/// try watcher.loadInitial()          // or watcher.check() to start even with a bad file
/// let task = Task { await watcher.run() }   // polls until cancelled
/// ```
public final class DynamicMetricsConfigWatcher: Sendable {
    public enum LogLevel: Sendable, Equatable { case info, warning, error }

    /// What one `check()` did.
    public enum Outcome: Sendable, Equatable {
        /// Same content as at the previous check (nothing parsed, nothing counted).
        case unchanged
        /// The new content is in effect.
        case applied(MetricsReconfiguration, warnings: [String])
        /// The new content was refused; the previous configuration stays in effect.
        case rejected(DynamicMetricsConfigError)
    }

    public let path: String
    public var interval: Duration { poller.interval }
    /// Reads the file and tells a change (content hash) from none.
    private let poller: FilePoller
    private let engine: MetricsEngine
    private let log: @Sendable (LogLevel, String) -> Void
    private let state = StateBox()

    final class StateBox: Sendable {
        let mutex = PThreadMutex(State())
        func withLock<R>(_ body: (inout State) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    struct State {
        var successes: UInt64 = 0
        var failures: UInt64 = 0
        var lastSucceeded: Bool?
        var lastSuccessUnixSeconds: Double?
        var lastError: DynamicMetricsConfigError?
    }

    /// Registers the self-metrics on `engine` (throws `MetricsRegistrationError` when another watcher already did).
    public init(
        path: String, engine: MetricsEngine, interval: Duration = .seconds(5),
        log: @escaping @Sendable (LogLevel, String) -> Void = { _, _ in }
    ) throws {
        self.path = path
        self.engine = engine
        poller = FilePoller(path: path, interval: interval, maxBytes: DynamicMetricsConfig.maxBytes)
        self.log = log
        let state = self.state
        try engine.registerCollector(
            name: "spyglass_metrics_config_reloads_total",
            help: "Dynamic metrics configuration loads by result (a changed file counts once)", type: .counter
        ) {
            state.withLock { s in
                [
                    MetricSample(labels: ["result": "failure"], value: Double(s.failures)),
                    MetricSample(labels: ["result": "success"], value: Double(s.successes))
                ]
            }
        }
        try engine.registerCollector(
            name: "spyglass_metrics_config_last_reload_successful",
            help: "Whether the last dynamic metrics configuration load succeeded", type: .gauge
        ) {
            state.withLock { s in s.lastSucceeded.map { [MetricSample(value: $0 ? 1 : 0)] } ?? [] }
        }
        try engine.registerCollector(
            name: "spyglass_metrics_config_last_success_timestamp_seconds",
            help: "Unix time of the last successful dynamic metrics configuration load", type: .gauge
        ) {
            state.withLock { s in s.lastSuccessUnixSeconds.map { [MetricSample(value: $0)] } ?? [] }
        }
    }

    /// The problem with the file as last seen, nil when the last load succeeded.
    public var lastError: DynamicMetricsConfigError? { state.withLock { $0.lastError } }

    /// First load at start-up: like `check()`, but a file that cannot be used is thrown.
    @discardableResult
    public func loadInitial() throws(DynamicMetricsConfigError) -> MetricsReconfiguration {
        switch check() {
        case .applied(let r, _): return r
        case .unchanged: return MetricsReconfiguration.between(engine.config, engine.config)
        case .rejected(let e): throw e
        }
    }

    /// Reads the file; when its content changed since the last check, parses, validates and applies it.
    @discardableResult
    public func check() -> Outcome { poller.check(handle) }

    private func handle(_ change: FilePoller.Change) -> Outcome {
        switch change {
        case .unchanged: .unchanged
        case .failed(let error): reject(DynamicMetricsConfig.unreadable(path, error))
        case .changed(let bytes, let hash): apply(Data(bytes), hash: hash)
        }
    }

    private func apply(_ data: Data, hash: UInt64) -> Outcome {
        // Change detection is the poller's FNV-1a (Hubble uses the first 8 bytes of an MD5 for the same purpose).
        let config: MetricsConfig
        let warnings: [String]
        do {
            (config, warnings) = try DynamicMetricsConfig.parse(data, path: path)
        } catch {
            return reject(error)
        }
        let reconfiguration: MetricsReconfiguration
        do {
            reconfiguration = try engine.apply(config)
        } catch {
            return reject(
                DynamicMetricsConfigError(
                    path: path, kind: .invalidOptions, message: "\(error)", underlying: error))
        }
        state.withLock { s in
            s.successes += 1
            s.lastSucceeded = true
            s.lastSuccessUnixSeconds = Date().timeIntervalSince1970
            s.lastError = nil
        }
        for w in warnings { log(.warning, w) }
        log(
            .info,
            "dynamic metrics config \(path) applied (content hash \(String(hash, radix: 16))): \(reconfiguration)")
        return .applied(reconfiguration, warnings: warnings)
    }

    /// Checks at once, then every `interval` until the task is cancelled.
    public func run() async {
        guard !Task.isCancelled else { return }
        check()
        await poller.run { [self] change in _ = handle(change) }
    }

    private func reject(_ e: DynamicMetricsConfigError) -> Outcome {
        state.withLock { s in
            s.failures += 1
            s.lastSucceeded = false
            s.lastError = e
        }
        log(.error, "\(e); keeping the previous metrics configuration")
        return .rejected(e)
    }
}
