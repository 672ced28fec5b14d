import Foundation
import SpyglassDatapath
import SpyglassServer

/// Liveness, readiness and SIGHUP reload of a running agent.
extension Agent {
    /// A pipeline thread whose loop (which wakes at least every 200 ms) has not turned for this long is stuck.
    static let pipelineStallNs: UInt64 = 10_000_000_000

    /// `/healthz`: the flow pipeline is moving and the tc hooks are on the interfaces there are to watch.
    /// (Quiet is healthy: no traffic still turns the pipeline's loop.)
    public func health() -> ProbeResult {
        guard isRunning else { return ProbeResult(ok: false, detail: "agent: not running") }
        var ok = true
        var lines: [String] = []
        let beat = pipeline.heartbeatNs.load(ordering: .relaxed)
        let now = DispatchTime.now().uptimeNanoseconds
        let ageMs = beat == 0 ? UInt64.max : (now &- beat) / 1_000_000
        if beat == 0 || now &- beat > Self.pipelineStallNs {
            ok = false
            lines.append("pipeline: stalled (last loop \(beat == 0 ? "never" : "\(ageMs) ms ago"))")
        } else {
            lines.append("pipeline: moving (last loop \(ageMs) ms ago, \(queue.depth) batches queued)")
        }
        let attached = attachedInterfaces.count
        if attached == 0 {
            // Nothing attached is fine only when nothing matches (e.g. `--interface 'veth*'` before any pod).
            let candidates = NetworkInterfaces.select(config.interfaces, from: NetworkInterfaces.list())
            if !candidates.isEmpty {
                ok = false
                lines.append("datapath: no hook attached although \(candidates.count) interface(s) match")
            } else {
                lines.append("datapath: no interface to watch yet")
            }
        } else {
            lines.append("datapath: attached to \(attached) interface(s)")
        }
        return ProbeResult(ok: ok, detail: (ok ? "ok\n" : "unhealthy\n") + lines.joined(separator: "\n"))
    }

    /// `/readyz`: serving, and every endpoint source (endpoints file, Kubernetes, node addresses) has synced, so
    /// flows carry their labels.
    public func readiness() -> ProbeResult {
        guard isRunning else { return ProbeResult(ok: false, detail: "agent: not running") }
        let pending = endpoints.unsyncedSources
        if pending.isEmpty { return ProbeResult(ok: true, detail: "ok\nendpoint sources: synced") }
        return ProbeResult(
            ok: false, detail: "not ready\nendpoint sources not synced: \(pending.joined(separator: ", "))")
    }

    /// SIGHUP: re-reads every file the agent can change without a restart — the endpoints file, the dynamic
    /// metrics file, the dynamic flow-log config and the metrics server's TLS files — at once instead of at the next
    /// poll. A bad file keeps the last good configuration (and is logged and counted as on a poll). Nothing is
    /// detached. Returns one line saying what was re-read.
    @discardableResult
    public func reload() -> String {
        var parts: [String] = []
        if let watcher = dynamicMetrics {
            switch watcher.check() {
            case .applied: parts.append("dynamic metrics applied")
            case .unchanged: parts.append("dynamic metrics unchanged")
            case .rejected(let error): parts.append("dynamic metrics rejected (last good kept): \(error)")
            }
        }
        if let error = endpoints.reloadFile() {
            parts.append("endpoints file rejected: \(error)")
        } else if config.endpoints.endpointsFile != nil {
            parts.append("endpoints file ok")
        }
        if let exporters, exporters.reloadConfig() != nil {
            parts.append("flow-log config re-read")
        }
        if server?.reloadTLS() == true { parts.append("TLS files re-read") }
        let summary = parts.isEmpty ? "SIGHUP: nothing to reload" : "SIGHUP: " + parts.joined(separator: "; ")
        logger.info("\(summary)")
        return summary
    }
}
