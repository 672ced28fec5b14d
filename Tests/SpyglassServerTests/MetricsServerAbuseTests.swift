import Foundation
import SpyglassServer
import Testing

/// Many hostile clients at once: a crowd of slowloris connections and a flood over the connection limit. A normal
/// scrape must still be answered quickly, and every hostile connection must end at its limit.
@Suite("MetricsServer under slowloris and connection floods", .serialized, .timeLimit(.minutes(1)))
struct MetricsServerAbuseTests {
    @Test func slowlorisCrowdIsCutAtTheTimeoutWhileScrapesStayFast() async throws {
        let crowd = 20
        try await withServer(configure: {
            $0.readTimeout = .milliseconds(1500); $0.maxConnectionsPerClient = 100
        }) { server, port in
            // Each slow client sends a request line, then one header byte per ~300 ms, never finishing.
            // On threads of their own: blocking socket calls must not starve the test's cooperative pool.
            let slow = (0..<crowd).map { _ in
                Task {
                    try await onThread { () -> (closed: Bool, seconds: Double) in
                        let c = try RawHTTPConnection(port: port, receiveTimeout: 0.3)
                        let started = Date()
                        try c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        while Date().timeIntervalSince(started) < 6 {
                            do { if try c.waitForClose() { return (true, Date().timeIntervalSince(started)) } } catch {}
                            do { try c.send("a") } catch { return (true, Date().timeIntervalSince(started)) }
                        }
                        return (false, Date().timeIntervalSince(started))
                    }
                }
            }
            try? await waitUntil { server.openConnections == crowd }
            try #require(server.openConnections == crowd)

            // Meanwhile, ordinary scrapes are answered at once.
            for _ in 0..<3 {
                let (response, took) = try await elapsed { try await fetch(port: port, get("/metrics", port: port)) }
                #expect(response.status == 200)
                #expect(took < .seconds(1), "scrape took \(took) with \(crowd) slow clients open")
            }

            for task in slow {
                let outcome = try await task.value
                #expect(outcome.closed, "a slow client was never cut off")
                #expect(
                    outcome.seconds >= 1.2 && outcome.seconds < 3.5, "cut after \(outcome.seconds) s, timeout 1.5 s")
            }
            try await waitUntil { server.openConnections == 0 }
        }
    }

    /// At the global limit, a new connection takes the slot of the one that has waited longest for a request: a
    /// crowd of idle connections cannot keep a scraper out. Only when every slot is answering is a new one refused.
    @Test func atTheLimitTheLongestWaitingConnectionMakesRoom() async throws {
        let limit = 30, flood = 20
        let provider = StubProvider(slowRender: .seconds(2))
        try await withServer(
            provider: provider,
            configure: {
                $0.maxConnections = limit; $0.maxConnectionsPerClient = 1000
            }
        ) { server, port in
            var held: [RawHTTPConnection] = []
            for _ in 0..<limit { held.append(try RawHTTPConnection(port: port, receiveTimeout: 2)) }
            try? await waitUntil { server.openConnections == limit }
            try #require(server.openConnections == limit)

            // Each newcomer (kept open after its answer) evicts the oldest idle connection, and is served.
            var newcomers: [RawHTTPConnection] = []
            for i in 0..<flood {
                let c = try RawHTTPConnection(port: port, receiveTimeout: 2)
                let response = try await onThread {
                    try c.send(get("/healthz", port: port))
                    return try c.readResponse()
                }
                #expect(response.status == 200, "newcomer \(i)")
                newcomers.append(c)
            }
            #expect(server.evictedIdle >= flood && server.refusedOverLimit == 0)
            let evicted = try await onThread { [held] in try held.prefix(flood).filter { try $0.waitForClose() }.count }
            #expect(evicted == flood, "the oldest idle connections were the ones closed")
            held.removeAll()
            newcomers.removeAll()
            try await waitUntil { server.openConnections == 0 }

            // Every slot answering a (slow) scrape: nothing to evict, a new connection is refused.
            let busy = (0..<limit).map { _ in
                Task { try await fetch(port: port, get("/metrics", port: port, headers: ["Accept: slow"])) }
            }
            try await waitUntil { server.openConnections == limit && provider.accepts.count >= 1 }
            try await Task.sleep(for: .milliseconds(300))
            let refused = try await onThread { try RawHTTPConnection(port: port, receiveTimeout: 2).waitForClose() }
            #expect(refused && server.refusedOverLimit == 1)
            for t in busy { #expect(try await t.value.status == 200) }
            // Thirty concurrent scrapes of the same format: one render.
            #expect(
                provider.accepts.count == 1 && server.coalescedScrapes == limit - 1,
                "renders: \(provider.accepts.count)")
            // The same counts as the server's self-metric families (no TLS: no TLS families).
            let families = server.selfMetrics()
            #expect(
                families.map(\.name) == [
                    "spyglass_metrics_server_connections_refused_total",
                    "spyglass_metrics_server_coalesced_scrapes_total"
                ])
            #expect(families.first?.samples.first { $0.labels["reason"] == "limit" }?.value == 1)
            #expect(families.last?.samples.map(\.value) == [Double(limit - 1)])
        }
    }

    /// One client IP gets `maxConnectionsPerClient`; another IP still gets in.
    @Test func perClientLimitLeavesRoomForOthers() async throws {
        try await withServer(configure: { $0.maxConnectionsPerClient = 4 }) { server, port in
            var held: [RawHTTPConnection] = []
            for _ in 0..<4 { held.append(try RawHTTPConnection(port: port, receiveTimeout: 2, source: "127.0.0.9")) }
            try? await waitUntil { server.openConnections == 4 }
            let fifth = try await onThread {
                try RawHTTPConnection(port: port, receiveTimeout: 2, source: "127.0.0.9").waitForClose()
            }
            #expect(fifth && server.refusedPerClient == 1)
            let other = try await onThread {
                let c = try RawHTTPConnection(port: port, receiveTimeout: 2, source: "127.0.0.10")
                try c.send(get("/metrics", port: port))
                return try c.readResponse()
            }
            #expect(other.status == 200)
            held.removeAll()
            try await waitUntil { server.openConnections == 0 }
        }
    }
}
