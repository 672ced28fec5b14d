import Foundation
import SpyglassMetrics
import SpyglassServer
import SpyglassTesting
import Testing

@testable import SpyglassAgent

/// A real Prometheus keeps scraping the agent's metrics endpoint (default limits) while a crowd of 400 hostile
/// connections — idle and slowloris, from 25 source addresses, reopened as soon as they are closed — sits on it.
/// Every scrape of a 10 s window must succeed within Prometheus' 1 s timeout.
@Suite(.enabled(if: PrometheusGate.enabled, PrometheusGate.reason), .serialized)
struct ScrapeUnderAttackTests {
    static let crowd = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Scripts/hostile_crowd.py"
    ).path

    @Test(.timeLimit(.minutes(2)))
    func prometheusKeepsScrapingThroughAHostileCrowd() async throws {
        try #require(
            FileManager.default.fileExists(atPath: PrometheusScrapeTests.binary), "CI=true but Prometheus is missing")
        let (config, _) = try MetricsConfig.parse(MetricsConfig.defaultSpec)
        let engine = MetricsEngine(config: config)
        let server = try MetricsServer(
            address: "127.0.0.1:0", provider: MetricsEndpoint(engine: engine, openMetrics: true))
        let port = try await server.start().port
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-crowd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let prometheus = try PrometheusProcess.start(dir: dir, target: "127.0.0.1:\(port)")
        let attack = Process()
        defer {
            if attack.isRunning { attack.terminate() }
            prometheus.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        // Scraping works before the attack.
        var up: [[String: Any]] = []
        for _ in 0..<40 where up.isEmpty {
            up = try prometheus.query("up == 1")
            if up.isEmpty { try await Task.sleep(for: .milliseconds(250)) }
        }
        try #require(!up.isEmpty, "Prometheus never scraped the server")

        let output = Pipe()
        attack.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        attack.arguments = ["python3", Self.crowd, "127.0.0.1", "\(port)", "25", "16", "20"]
        attack.standardOutput = output
        try attack.run()
        try await Task.sleep(for: .seconds(3))
        let crowded = server.openConnections
        #expect(crowded >= 200, "the crowd holds \(crowded) connections")
        try await Task.sleep(for: .seconds(12))

        // The last 10 s, all under attack: one scrape a second, every one up and within the timeout.
        func value(_ q: String) throws -> Double? {
            try prometheus.query(q).first.flatMap { ($0["value"] as? [Any])?.last as? String }.flatMap(Double.init)
        }
        let scrapes = try value("count_over_time(up[10s])") ?? 0
        let worstUp = try value("min_over_time(up[10s])") ?? 0
        let slowest = try value("max_over_time(scrape_duration_seconds[10s])") ?? 99
        #expect(scrapes >= 7, "\(scrapes) scrapes in 10 s")
        #expect(worstUp == 1, "a scrape failed during the attack")
        #expect(slowest < 1, "slowest scrape \(slowest) s against a 1 s timeout")

        attack.waitUntilExit()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let opened = report.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        #expect(opened >= 400, "crowd: \(report)")
        #expect(server.evictedIdle + server.refusedPerClient > 0, "the limits were reached")
        print(
            "hostile crowd: \(report.trimmingCharacters(in: .whitespacesAndNewlines)); open during attack \(crowded); "
                + "evicted \(server.evictedIdle), refused per client \(server.refusedPerClient); scrapes \(scrapes), slowest \(slowest) s"
        )
        await server.shutdown()
    }
}
