// The one thing the metrics server needs from the metrics side, kept as a protocol so that
// SpyglassServer does not depend on SpyglassMetrics' concrete types.

/// Produces the `/metrics` exposition and receives the server's own scrape measurements
/// (`hubble_metrics_http_handler_requests_total` / `..._request_duration_seconds`).
///
/// `renderMetrics` runs on a worker thread of the server's render pool, never on an event loop,
/// and may be called concurrently for concurrent scrapes. `recordScrape` runs on an event loop
/// thread and should be cheap.
public protocol MetricsProvider: Sendable {
    /// Renders the exposition for a request; `accept` is the raw Accept header (nil when absent).
    func renderMetrics(accept: String?) -> (body: [UInt8], contentType: String)
    /// Called once per /metrics request after the response is written.
    func recordScrape(code: Int, seconds: Double)
    /// `/healthz` (liveness) and `/readyz` (readiness); default: always ok (HealthProbes.swift).
    func health() -> ProbeResult
    func readiness() -> ProbeResult
}
