import Foundation
import SpyglassServer
import Testing

/// Many hostile clients at once: a crowd of slowloris connections and a flood over the connection limit. A normal
/// scrape must still be answered quickly, and every hostile connection must end at its limit.
@Suite("MetricsServer under slowloris and connection floods", .serialized, .timeLimit(.minutes(1)))
struct MetricsServerAbuseTests {
    @Test func slowlorisCrowdIsCutAtTheTimeoutWhileScrapesStayFast() async throws {
        let crowd = 20
        try await withServer(configure: { $0.readTimeout = .milliseconds(1500) }) { server, port in
            // Each slow client sends a request line, then one header byte per ~300 ms, never finishing.
            // On threads of their own: blocking socket calls must not starve the test's cooperative pool.
            let slow = (0..<crowd).map { _ in
                Task { try await onThread { () -> (closed: Bool, seconds: Double) in
                    let c = try RawHTTPConnection(port: port, receiveTimeout: 0.3)
                    let started = Date()
                    try c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    while Date().timeIntervalSince(started) < 6 {
                        do { if try c.waitForClose() { return (true, Date().timeIntervalSince(started)) } } catch {}
                        do { try c.send("a") } catch { return (true, Date().timeIntervalSince(started)) }
                    }
                    return (false, Date().timeIntervalSince(started))
                } }
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
                #expect(outcome.seconds >= 1.2 && outcome.seconds < 3.5, "cut after \(outcome.seconds) s, timeout 1.5 s")
            }
            try await waitUntil { server.openConnections == 0 }
        }
    }

    @Test func floodOverTheLimitIsRefusedAndTheServerRecovers() async throws {
        let limit = 30, flood = 50
        try await withServer(configure: { $0.maxConnections = limit }) { server, port in
            var held: [RawHTTPConnection] = []
            for _ in 0..<limit { held.append(try RawHTTPConnection(port: port, receiveTimeout: 2)) }
            try? await waitUntil { server.openConnections == limit }
            try #require(server.openConnections == limit)

            // Every connection beyond the limit is accepted and closed at once, not left hanging.
            let refused = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<(flood - limit) {
                    group.addTask { try await onThread { try RawHTTPConnection(port: port, receiveTimeout: 2).waitForClose() } }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(refused == flood - limit)
            #expect(server.refusedOverLimit == flood - limit)
            #expect(server.openConnections == limit)

            // The admitted connections are still served.
            let answered = try await onThread { [first = held[0]] in
                try first.send(get("/healthz", port: port))
                return try first.readResponse()
            }
            #expect(answered.status == 200)

            // Freeing slots lets new clients in again.
            held.removeLast(5)
            try await waitUntil { server.openConnections == limit - 5 }
            let response = try await fetch(port: port, get("/metrics", port: port))
            #expect(response.status == 200)
            held.removeAll()
            try await waitUntil { server.openConnections == 0 }
        }
    }
}
