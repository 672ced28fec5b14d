/// The answer of `/healthz` or `/readyz`: 200 with `detail` when `ok`, 503 with it otherwise.
public struct ProbeResult: Sendable, Equatable {
    public var ok: Bool
    /// One line per check, e.g. "pipeline: last loop 120 ms ago".
    public var detail: String

    public init(ok: Bool, detail: String) {
        self.ok = ok
        self.detail = detail
    }
}

extension MetricsProvider {
    /// A provider that knows nothing about the process behind it: always healthy and ready.
    public func health() -> ProbeResult { ProbeResult(ok: true, detail: "ok") }
    public func readiness() -> ProbeResult { ProbeResult(ok: true, detail: "ok") }
}

extension MetricsServer {
    /// Re-reads the TLS files now (SIGHUP) instead of at the next poll; false when TLS is off.
    /// Two polls: the reloader loads a file set only once it has been seen unchanged twice (no half-written files).
    public func reloadTLS() -> Bool {
        guard let tls else { return false }
        tls.poll()
        tls.poll()
        return true
    }
}
