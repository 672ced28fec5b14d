import SpyglassSupport

extension MetricsServer {
    /// The server's own counters (`spyglass_metrics_server_*`): refused and evicted connections, coalesced scrapes,
    /// and with TLS the certificate loads, handshake failures and the certificate's expiry. Read at every scrape.
    public func selfMetrics() -> [SelfMetricFamily] {
        var refused = [
            MetricSample(labels: ["reason": "limit"], value: Double(refusedOverLimit)),
            MetricSample(labels: ["reason": "per_client"], value: Double(refusedPerClient)),
            MetricSample(labels: ["reason": "evicted"], value: Double(evictedIdle))
        ]
        let tls = tlsStatistics
        if let tls {
            refused.append(
                MetricSample(labels: ["reason": "no_certificate"], value: Double(tls.refusedWithoutCertificate)))
        }
        var families = [
            SelfMetricFamily(
                name: "spyglass_metrics_server_connections_refused_total", kind: .counter,
                help:
                    "Connections to the metrics server closed by the server before a request, by reason (limit: every slot busy answering; per_client: the client IP held its share; evicted: waited longest for a request when a new one needed the slot; no_certificate: TLS files not there yet)",
                samples: refused),
            SelfMetricFamily(
                name: "spyglass_metrics_server_coalesced_scrapes_total", kind: .counter,
                help: "Scrapes answered from a render a concurrent scrape of the same format had started",
                samples: [MetricSample(value: Double(coalescedScrapes))])
        ]
        guard configuration.tls != nil else { return families }
        families += [
            SelfMetricFamily(
                name: "spyglass_metrics_server_tls_certificate_loads_total", kind: .counter,
                help:
                    "TLS certificate sets of the metrics server loaded (success) or refused on reload (failure; the previous set stays in use)",
                samples: tls.map {
                    [
                        MetricSample(labels: ["result": "success"], value: Double($0.loads)),
                        MetricSample(labels: ["result": "failure"], value: Double($0.loadFailures))
                    ]
                } ?? []),
            SelfMetricFamily(
                name: "spyglass_metrics_server_tls_handshake_failures_total", kind: .counter,
                help:
                    "TLS handshakes refused by the metrics server (old protocol version, missing or untrusted client certificate, not TLS)",
                samples: tls.map { [MetricSample(value: Double($0.handshakeFailures))] } ?? []),
            SelfMetricFamily(
                name: "spyglass_metrics_server_tls_certificate_expiry_timestamp_seconds", kind: .gauge,
                help: "Expiry (notAfter) of the metrics server's TLS certificate in use",
                samples: tls?.certificateNotAfter.map { [MetricSample(value: $0)] } ?? [])
        ]
        return families
    }
}
