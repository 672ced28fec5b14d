import SpyglassMetrics
import SpyglassServer

/// Serves the metric engine through the HTTP server: content negotiation, rendering, scrape self-metrics.
struct MetricsEndpoint: MetricsProvider {
    let engine: MetricsEngine
    let openMetrics: Bool

    func renderMetrics(accept: String?) -> (body: [UInt8], contentType: String) {
        let format = negotiateExposition(accept: accept, openMetricsEnabled: openMetrics)
        return (engine.render(format), format.contentType)
    }

    func recordScrape(code: Int, seconds: Double) {
        engine.recordScrape(code: code, seconds: seconds)
    }
}
