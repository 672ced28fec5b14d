// `spyglass-bench exposition` (issue #9, part 4): scrape latency and bytes of 10k and 100k series in both formats,
// Spyglass's MetricsServer + MetricsEngine against a Go client_golang server (Debian's prometheus-pushgateway)
// holding the same series. The same client (curl, one process per scrape, no compression, a new connection each
// time) scrapes both, alternately; curl's own time_total excludes its start-up.
import Foundation
import Logging
import SpyglassFlow
import SpyglassMetrics
import SpyglassServer

struct ExpositionBench {
    let pushgateway: String
    let scrapes: Int

    static let formats: [(name: String, accept: String)] = [
        ("text 0.0.4", "text/plain;version=0.0.4"),
        ("OpenMetrics", "application/openmetrics-text;version=1.0.0")
    ]

    func run() async throws {
        print("exposition: \(scrapes) scrapes per server, format and size, alternated; curl without compression")
        for count in [10_000, 100_000] {
            let engine = try Self.engine(series: count)
            var logger = Logger(label: "spyglass-bench.exposition")
            logger.logLevel = .warning
            let server = try MetricsServer(
                address: "127.0.0.1:0", provider: BenchMetricsProvider(engine: engine), logger: logger)
            let port = try await server.start().port
            try push(engine.render(.prometheusText), series: count)
            let ours = "http://127.0.0.1:\(port)/metrics"
            let theirs = pushgateway + "/metrics"
            for format in Self.formats {
                // Warm-up: Spyglass's first render sorts the new series; the pushgateway's first gather builds caches.
                for _ in 0..<2 { _ = try scrape(ours, format.accept); _ = try scrape(theirs, format.accept) }
                var a: [Scrape] = [], b: [Scrape] = []
                for _ in 0..<scrapes {
                    a.append(try scrape(ours, format.accept))
                    b.append(try scrape(theirs, format.accept))
                }
                report(count, format.name, spyglass: a, go: b)
            }
            await server.shutdown()
        }
        print(
            "  (the pushgateway adds job/instance labels to every pushed series and serves its own go_*, process_*, pushgateway_* and push_*_time_seconds families: its bytes are larger for that reason)"
        )
    }

    struct Scrape {
        var seconds: Double
        var bytes: Int
        var contentType: String
        var seriesLines: Int
    }

    private func report(_ series: Int, _ format: String, spyglass a: [Scrape], go b: [Scrape]) {
        let pa50 = percentile(a.map(\.seconds), 50), pa99 = percentile(a.map(\.seconds), 99)
        let pb50 = percentile(b.map(\.seconds), 50), pb99 = percentile(b.map(\.seconds), 99)
        let label = "\(series / 1000)k \(format)"
        print(
            "  \(label): Spyglass p50 "
                + fmt("%.1f ms p99 %.1f ms, %ld bytes", pa50 * 1e3, pa99 * 1e3, a.last?.bytes ?? 0)
                + " (\(a.last?.contentType ?? ""))")
        print(
            "  \(label): client_golang p50 "
                + fmt("%.1f ms p99 %.1f ms, %ld bytes", pb50 * 1e3, pb99 * 1e3, b.last?.bytes ?? 0)
                + " (\(b.last?.contentType ?? ""), \(b.last?.seriesLines ?? 0) pushed series)")
        let ratio = pa50 / pb50
        print(
            "RESULT exposition series=\(series) format=\"\(format)\" "
                + fmt(
                    "spyglass_p50_ms=%.2f go_p50_ms=%.2f ratio=%.3f spyglass_p99_ms=%.2f go_p99_ms=%.2f spyglass_bytes=%ld go_bytes=%ld ",
                    pa50 * 1e3, pb50 * 1e3, ratio, pa99 * 1e3, pb99 * 1e3, a.last?.bytes ?? 0, b.last?.bytes ?? 0)
                + (ratio < 1 ? "MET" : "MISSED"))
    }

    /// One scrape with curl; the body is counted for the series check and thrown away.
    private func scrape(_ url: String, _ accept: String) throws -> Scrape {
        let body = NSTemporaryDirectory() + "spyglass-bench-scrape-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: body) }
        let out = try runCommand(
            [
                "curl", "-sS", "--fail", "-o", body, "-H", "Accept: \(accept)", "-w",
                "%{time_total} %{size_download} %{content_type}", url
            ], timeout: .seconds(60))
        let parts = out.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let t = Double(parts[0]), let n = Int(parts[1]) else {
            throw BenchError("exposition: unexpected curl output \"\(out)\" from \(url)")
        }
        let text = (try? Data(contentsOf: URL(fileURLWithPath: body))) ?? Data()
        var lines = 0
        let prefix = Array("hubble_port_distribution_total{".utf8)
        text.withUnsafeBytes { raw in
            var atLineStart = true
            var i = 0
            let bytes = raw.bindMemory(to: UInt8.self)
            while i < bytes.count {
                if atLineStart && bytes.count - i >= prefix.count && bytes[i] == prefix[0]
                    && prefix.indices.allSatisfy({ bytes[i + $0] == prefix[$0] })
                {
                    lines += 1
                }
                atLineStart = bytes[i] == UInt8(ascii: "\n")
                i += 1
            }
        }
        return Scrape(seconds: t, bytes: n, contentType: parts.count > 2 ? String(parts[2]) : "", seriesLines: lines)
    }

    /// Replaces the pushgateway's group with the same series (text format), and checks they all arrived.
    private func push(_ body: [UInt8], series: Int) throws {
        let file = NSTemporaryDirectory() + "spyglass-bench-push-\(getpid()).prom"
        try Data(body).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        try runCommand(
            [
                "curl", "-sS", "--fail", "-X", "PUT", "-H", "Content-Type: text/plain; version=0.0.4",
                "--data-binary", "@\(file)", pushgateway + "/metrics/job/bench"
            ], timeout: .seconds(120))
        let check = try scrape(pushgateway + "/metrics", "text/plain;version=0.0.4")
        guard check.seriesLines == series else {
            throw BenchError("exposition: the pushgateway holds \(check.seriesLines) series after pushing \(series)")
        }
    }

    /// `series` distinct series of hubble_port_distribution_total with the 7-label labelsContext (9 labels).
    static func engine(series: Int) throws -> MetricsEngine {
        let (config, _) = try MetricsConfig.parse("port-distribution:labelsContext=\(labels7)")
        let engine = MetricsEngine(config: config, options: MetricsEngineOptions(defaultSeriesLimit: series * 2))
        var flow = flowMix()[0]
        for k in 0..<series {
            flow.ip = IPHeader(
                source: IPAddress(high: UInt64(0x0A00_0000 + k) << 32, low: 0, isIPv6: false),
                destination: flow.ip!.destination, ipVersion: .ipv4)
            flow.l4 = .tcp(TCP(sourcePort: 40000, destinationPort: UInt16(k % 1000 + 1), flags: [.syn]))
            engine.process(flow)
        }
        return engine
    }
}

/// What the agent's metrics endpoint does: negotiate the format, render the engine.
struct BenchMetricsProvider: MetricsProvider {
    let engine: MetricsEngine
    func renderMetrics(accept: String?) -> (body: [UInt8], contentType: String) {
        let format = negotiateExposition(accept: accept, openMetricsEnabled: true)
        return (engine.render(format), format.contentType)
    }
    func recordScrape(code: Int, seconds: Double) { engine.recordScrape(code: code, seconds: seconds) }
}
