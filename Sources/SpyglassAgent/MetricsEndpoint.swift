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
        try engine.registerFamilies { [weak server] in server?.selfMetrics() ?? [] }
    }
}
