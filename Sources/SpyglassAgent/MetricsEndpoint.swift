import Logging
import SpyglassMetrics
import SpyglassServer
import SpyglassSupport

/// Serves the metric engine through the HTTP server: content negotiation, rendering, scrape self-metrics.
struct MetricsEndpoint: MetricsProvider {
    let engine: MetricsEngine
    let openMetrics: Bool
    /// The agent behind `/healthz` and `/readyz` (weak: the server must not keep a stopped agent alive).
    weak var agent: Agent?

    func renderMetrics(accept: String?) -> (body: [UInt8], contentType: String) {
        let format = negotiateExposition(accept: accept, openMetricsEnabled: openMetrics)
        return (engine.render(format), format.contentType)
    }

    func recordScrape(code: Int, seconds: Double) {
        engine.recordScrape(code: code, seconds: seconds)
    }

    func health() -> ProbeResult { agent?.health() ?? ProbeResult(ok: false, detail: "agent: not running") }
    func readiness() -> ProbeResult { agent?.readiness() ?? ProbeResult(ok: false, detail: "agent: not running") }

    /// The metrics server of `config` (`--hubble-metrics-server` and its TLS flags) serving `engine`, with the
    /// server's own counters (TLS reloads and refusals, connections over the limit) registered on it.
    static func makeServer(config: AgentConfig, engine: MetricsEngine, logger: Logger, agent: Agent? = nil) throws
        -> MetricsServer
    {
        var configuration = MetricsServer.Configuration()
        configuration.tls = config.metricsTLS
        let server = try MetricsServer(
            address: config.metricsServer,
            provider: MetricsEndpoint(engine: engine, openMetrics: config.openMetrics, agent: agent),
            configuration: configuration, logger: logger)
        try registerSelfMetrics(of: server, on: engine)
        return server
    }

    static func registerSelfMetrics(of server: MetricsServer, on engine: MetricsEngine) throws {
        try engine.registerCollector(
            name: "spyglass_metrics_server_connections_refused_total",
            help:
                "Connections to the metrics server closed by the server before a request, by reason (limit: every slot busy answering; per_client: the client IP held its share; evicted: waited longest for a request when a new one needed the slot; no_certificate: TLS files not there yet)",
            type: .counter
        ) { [weak server] in
            guard let server else { return [] }
            var samples = [
                MetricSample(labels: ["reason": "limit"], value: Double(server.refusedOverLimit)),
                MetricSample(labels: ["reason": "per_client"], value: Double(server.refusedPerClient)),
                MetricSample(labels: ["reason": "evicted"], value: Double(server.evictedIdle))
            ]
            if let tls = server.tlsStatistics {
                samples.append(
                    MetricSample(labels: ["reason": "no_certificate"], value: Double(tls.refusedWithoutCertificate)))
            }
            return samples
        }
        try engine.registerCollector(
            name: "spyglass_metrics_server_coalesced_scrapes_total",
            help: "Scrapes answered from a render a concurrent scrape of the same format had started",
            type: .counter
        ) { [weak server] in
            guard let server else { return [] }
            return [MetricSample(value: Double(server.coalescedScrapes))]
        }
        guard server.configuration.tls != nil else { return }
        try engine.registerCollector(
            name: "spyglass_metrics_server_tls_certificate_loads_total",
            help:
                "TLS certificate sets of the metrics server loaded (success) or refused on reload (failure; the previous set stays in use)",
            type: .counter
        ) { [weak server] in
            guard let tls = server?.tlsStatistics else { return [] }
            return [
                MetricSample(labels: ["result": "success"], value: Double(tls.loads)),
                MetricSample(labels: ["result": "failure"], value: Double(tls.loadFailures))
            ]
        }
        try engine.registerCollector(
            name: "spyglass_metrics_server_tls_handshake_failures_total",
            help:
                "TLS handshakes refused by the metrics server (old protocol version, missing or untrusted client certificate, not TLS)",
            type: .counter
        ) { [weak server] in
            guard let tls = server?.tlsStatistics else { return [] }
            return [MetricSample(value: Double(tls.handshakeFailures))]
        }
        try engine.registerCollector(
            name: "spyglass_metrics_server_tls_certificate_expiry_timestamp_seconds",
            help: "Expiry (notAfter) of the metrics server's TLS certificate in use",
            type: .gauge
        ) { [weak server] in
            guard let notAfter = server?.tlsStatistics?.certificateNotAfter else { return [] }
            return [MetricSample(value: notAfter)]
        }
    }
}
