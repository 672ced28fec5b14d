// SpyglassServer: HTTP serving of /metrics and /healthz for the Hubble-compatible agent.
// Entry points: `MetricsServer`, `MetricsProvider`, `ListenAddress`, `MetricsServerError`.
