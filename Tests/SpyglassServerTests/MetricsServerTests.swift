import CompressNIO
import Foundation
import NIOCore
import SpyglassServer
import SpyglassTesting
import Testing

/// Starts a server on 127.0.0.1 with an ephemeral port, runs `body`, always shuts it down.
@discardableResult
func withServer<T: Sendable>(
    provider: StubProvider = StubProvider(),
    configure: (inout MetricsServer.Configuration) -> Void = { _ in },
    _ body: (MetricsServer, Int) async throws -> T
) async throws -> T {
    var configuration = MetricsServer.Configuration()
    configure(&configuration)
    let server = try MetricsServer(address: "127.0.0.1:0", provider: provider, configuration: configuration)
    let bound = try await server.start()
    do {
        let result = try await body(server, bound.port)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
    var buffer = ByteBuffer(bytes: bytes)
    let out = try buffer.decompress(with: .gzip())
    return Array(out.readableBytesView)
}

func elapsed<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try await body()
    return (value, clock.now - start)
}

@Suite("MetricsServer over real sockets", .serialized, .timeLimit(.minutes(1)))
struct MetricsServerTests {
    @Test func startReportsEphemeralPortAndShutdownReleasesIt() async throws {
        let server = try MetricsServer(address: "127.0.0.1:0", provider: StubProvider())
        let bound = try await server.start()
        #expect(bound.ip == "127.0.0.1")
        #expect(bound.port > 0)
        #expect(bound.description == "127.0.0.1:\(bound.port)")
        #expect(server.boundAddress == bound)
        await server.shutdown()
        await server.shutdown()  // idempotent
        #expect(server.boundAddress == nil)
        let port = bound.port
        await #expect(throws: (any Error).self) { _ = try await fetch(port: port, get("/healthz", port: port)) }
    }

    @Test func startTwiceIsRejected() async throws {
        try await withServer { server, _ in
            await #expect(throws: MetricsServerError.self) { try await server.start() }
        }
    }

    @Test func metricsPassesAcceptThroughAndUsesProviderContentType() async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { _, port in
            let om = try await fetch(
                port: port,
                get(
                    "/metrics", port: port,
                    headers: [
                        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
                    ]))
            #expect(om.status == 200)
            #expect(om.header("Content-Type") == StubProvider.openMetricsType)
            #expect(om.body == provider.body)
            #expect(om.header("Content-Length") == String(provider.body.count))
            #expect(om.header("Content-Encoding") == nil)
            #expect(om.header("Vary") == "Accept-Encoding")

            let plain = try await fetch(port: port, get("/metrics", port: port))
            #expect(plain.status == 200)
            #expect(plain.header("Content-Type") == StubProvider.textType)
            #expect(
                provider.accepts == [
                    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", nil
                ])
            let scrapes = await provider.waitForScrapes(2)
            #expect(scrapes.map(\.code) == [200, 200])
            #expect(scrapes.allSatisfy { $0.seconds >= 0 && $0.seconds < 5 })
        }
    }

    @Test(
        "gzip follows Accept-Encoding",
        arguments: [
            ("gzip", true), ("gzip, deflate, br", true), ("*", true), ("gzip;q=0", false),
            ("identity;q=1, gzip;q=0.5", false), ("br", false), (nil, false)
        ] as [(String?, Bool)]
    )
    func gzip(acceptEncoding: String?, expectGzip: Bool) async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { _, port in
            let headers = acceptEncoding.map { ["Accept-Encoding: \($0)"] } ?? []
            let response = try await fetch(port: port, get("/metrics", port: port, headers: headers))
            #expect(response.status == 200)
            #expect(response.header("Vary") == "Accept-Encoding")
            #expect(response.header("Content-Length") == String(response.body.count))
            if expectGzip {
                #expect(response.header("Content-Encoding") == "gzip")
                #expect(Array(response.body.prefix(2)) == [0x1f, 0x8b])
                #expect(response.body.count < provider.body.count)
                #expect(try gunzip(response.body) == provider.body)
            } else {
                #expect(response.header("Content-Encoding") == nil)
                #expect(response.body == provider.body)
            }
        }
    }

    @Test func curlDecompressesAndSeesHeaders() async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { _, port in
            let result = try await runProcess(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "5", "--compressed", "-D", "-", "-H", "Accept: application/openmetrics-text",
                    "http://127.0.0.1:\(port)/metrics"
                ])
            #expect(result.status == 0)
            let text = String(decoding: result.stdout, as: UTF8.self)
            #expect(text.lowercased().contains("content-encoding: gzip"))
            #expect(text.contains(StubProvider.openMetricsType))
            #expect(text.hasSuffix(String(decoding: provider.body, as: UTF8.self)))
        }
    }

    @Test func routesAndMethods() async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { _, port in
            let health = try await fetch(port: port, get("/healthz", port: port))
            #expect(health.status == 200)
            #expect(health.text == "ok\n")

            let missing = try await fetch(port: port, get("/nope", port: port))
            #expect(missing.status == 404)
            let metricsPrefix = try await fetch(port: port, get("/metricsx", port: port))
            #expect(metricsPrefix.status == 404)

            let withQuery = try await fetch(port: port, get("/metrics?foo=bar", port: port))
            #expect(withQuery.status == 200)

            let post = try await fetch(port: port, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            #expect(post.status == 405)
            #expect(post.header("Allow") == "GET, HEAD")
            let delete = try await fetch(port: port, "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(delete.status == 405)

            // /metrics requests are reported to the provider (including the 405); /healthz and 404s are not.
            _ = await provider.waitForScrapes(2)
            try await Task.sleep(for: .milliseconds(100))
            #expect(provider.scrapes.map(\.code).sorted() == [200, 405])  // the query-string GET and the POST
        }
    }

    @Test func headReturnsHeadersOnlyAndKeepsConnectionUsable() async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { server, port in
            let (head, next, openDuring) = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try c.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                let head = try c.readResponse(headRequest: true)
                // If the server had sent a body after the HEAD response this would misparse.
                try c.send(get("/healthz", port: port))
                return (head, try c.readResponse(), server.openConnections)
            }
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == String(provider.body.count))
            #expect(head.header("Content-Type") == StubProvider.textType)
            #expect(next.status == 200)
            #expect(next.text == "ok\n")
            #expect(openDuring == 1)
        }
    }

    @Test func keepAliveServesTwoRequestsOnOneConnection() async throws {
        let provider = StubProvider()
        try await withServer(provider: provider) { server, port in
            let (first, second, openDuring) = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try c.send(get("/metrics", port: port, headers: ["Accept-Encoding: gzip"]))
                let first = try c.readResponse()
                try c.send(get("/metrics", port: port))
                let second = try c.readResponse()
                return (first, second, server.openConnections)
            }
            #expect(first.status == 200 && second.status == 200)
            #expect(first.header("Connection") == nil)
            #expect(try gunzip(first.body) == provider.body)
            #expect(second.body == provider.body)
            #expect(openDuring == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withServer { _, port in
            let responses = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try c.send(get("/metrics", port: port) + get("/nope", port: port) + get("/healthz", port: port))
                return try (0..<3).map { _ in try c.readResponse() }
            }
            #expect(responses.map(\.status) == [200, 404, 200])
        }
    }

    @Test func connectionCloseAndHTTP10AreHonoured() async throws {
        try await withServer { _, port in
            let (closeResponse, closedAfter) = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try c.send(get("/healthz", port: port, headers: ["Connection: close"]))
                return (try c.readResponse(), try c.waitForClose())
            }
            #expect(closeResponse.header("Connection") == "close")
            #expect(closedAfter)

            let (http10, closed10) = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try c.send("GET /healthz HTTP/1.0\r\n\r\n")
                return (try c.readResponse(), try c.waitForClose())
            }
            #expect(http10.status == 200)
            #expect(closed10)
        }
    }

    @Test func oversizedHeaderGets431AndClose() async throws {
        try await withServer(configure: { $0.maxRequestHeaderBytes = 16 * 1024 }) { _, port in
            let big = String(repeating: "a", count: 20 * 1024)
            let (response, closed) = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try? c.send(get("/metrics", port: port, headers: ["X-Big: \(big)"]))
                return (try c.readResponse(), try c.waitForClose())
            }
            #expect(response.status == 431)
            #expect(response.header("Connection") == "close")
            #expect(closed)

            // Many small headers adding up past the limit are refused too.
            let many = (0..<400).map { "X-H\($0): \(String(repeating: "b", count: 50))" }
            let response2 = try await onThread {
                let c = try RawHTTPConnection(port: port)
                try? c.send(get("/metrics", port: port, headers: many))
                return try c.readResponse()
            }
            #expect(response2.status == 431)

            // Just below the limit is fine.
            let ok = try await fetch(
                port: port, get("/healthz", port: port, headers: ["X-Big: \(String(repeating: "c", count: 15 * 1024))"])
            )
            #expect(ok.status == 200)
        }
    }

    @Test func garbageGets400() async throws {
        try await withServer { _, port in
            let response = try await fetch(port: port, "NOT HTTP AT ALL\r\n\r\n")
            #expect(response.status == 400)
        }
    }

    @Test func slowClientIsClosedAndDoesNotBlockOthers() async throws {
        try await withServer(configure: { $0.readTimeout = .milliseconds(600) }) { _, port in
            let slow = try RawHTTPConnection(port: port, receiveTimeout: 5)
            try slow.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Partial: ")  // and then nothing

            let (response, took) = try await elapsed { try await fetch(port: port, get("/metrics", port: port)) }
            #expect(response.status == 200)
            #expect(took < .seconds(1))

            let (closed, closeTook) = try await elapsed { try await onThread { try slow.waitForClose() } }
            #expect(closed)
            #expect(closeTook < .seconds(3))

            // An idle keep-alive connection is closed after the same timeout.
            let (idleClosed, idleTook) = try await elapsed {
                try await onThread {
                    let c = try RawHTTPConnection(port: port)
                    try c.send(get("/healthz", port: port))
                    _ = try c.readResponse()
                    return try c.waitForClose()
                }
            }
            #expect(idleClosed)
            #expect(idleTook >= .milliseconds(400) && idleTook < .seconds(3))
        }
    }

    @Test func trickleOfHeaderBytesCannotExtendTheDeadline() async throws {
        try await withServer(configure: { $0.readTimeout = .milliseconds(500) }) { _, port in
            let (closed, took) = try await elapsed {
                try await onThread { () -> Bool in
                    let c = try RawHTTPConnection(port: port, receiveTimeout: 0.1)
                    try c.send("GET /metrics HTTP/1.1\r\n")
                    let clock = ContinuousClock()
                    let end = clock.now + .seconds(4)
                    // One header byte every 100 ms, never finishing the request.
                    while clock.now < end {
                        do { if try c.waitForClose() { return true } } catch {}
                        do { try c.send("X") } catch { return true }
                    }
                    return false
                }
            }
            #expect(closed)
            #expect(took < .seconds(2))
        }
    }

    @Test func slowRenderDoesNotBlockAnotherScrape() async throws {
        let provider = StubProvider(slowRender: .seconds(2))
        try await withServer(provider: provider) { _, port in
            async let slow = elapsed {
                try await fetch(port: port, get("/metrics", port: port, headers: ["Accept: slow"]))
            }
            try await Task.sleep(for: .milliseconds(200))  // let the slow render start
            let (fast, fastTook) = try await elapsed { try await fetch(port: port, get("/metrics", port: port)) }
            #expect(fast.status == 200)
            #expect(fastTook < .seconds(1))
            let (slowResponse, slowTook) = try await slow
            #expect(slowResponse.status == 200)
            #expect(slowTook >= .seconds(2) && slowTook < .seconds(5))
            // /healthz is answered on the event loop at once even while renders run.
            let scrapes = await provider.waitForScrapes(2)
            #expect(scrapes.contains { $0.seconds >= 1.9 })
        }
    }

    @Test func concurrentScrapes() async throws {
        let provider = StubProvider()
        // 24 clients at once from one address: above the default per-client limit (16), which would close some of
        // them whenever more than 16 overlap (a slow machine); that limit has its own test.
        let clients = 24
        let configure: (inout MetricsServer.Configuration) -> Void = {
            $0.renderThreads = 4
            $0.maxConnectionsPerClient = clients
        }
        try await withServer(provider: provider, configure: configure) { _, port in
            let statuses = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for i in 0..<clients {
                    group.addTask {
                        let gz = i % 2 == 0
                        let r = try await fetch(
                            port: port, get("/metrics", port: port, headers: gz ? ["Accept-Encoding: gzip"] : []))
                        let body = gz ? try gunzip(r.body) : r.body
                        return (r.status, body == provider.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.count == clients)
            #expect(statuses.allSatisfy { $0.0 == 200 && $0.1 })
            let scrapes = await provider.waitForScrapes(clients)
            #expect(scrapes.count == clients)
        }
    }

    /// Beyond a client's share the connection is closed at once (the global limit makes room instead: see
    /// MetricsServerAbuseTests).
    @Test func connectionsBeyondTheLimitAreClosedAtOnce() async throws {
        try await withServer(configure: { $0.maxConnectionsPerClient = 2 }) { server, port in
            let a = try RawHTTPConnection(port: port)
            let b = try RawHTTPConnection(port: port)
            try await waitUntil { server.openConnections == 2 }
            let (closed, took) = try await elapsed {
                try await onThread { try RawHTTPConnection(port: port, receiveTimeout: 3).waitForClose() }
            }
            #expect(closed)
            #expect(took < .seconds(1))
            // The admitted ones still work.
            let r = try await onThread {
                try a.send(get("/healthz", port: port))
                return try a.readResponse()
            }
            #expect(r.status == 200)
            _ = b
        }
    }

    @Test func portInUseNamesTheAddress() async throws {
        try await withServer { _, port in
            let second = try MetricsServer(address: "127.0.0.1:\(port)", provider: StubProvider())
            await #expect {
                try await second.start()
            } throws: { error in
                guard let error = error as? MetricsServerError else { return false }
                return error.kind == .addressInUse
                    && error.description
                        == "cannot listen on 127.0.0.1:\(port) (--hubble-metrics-server): address already in use"
            }
            await second.shutdown()
        }
    }

    @Test func unresolvableOrForeignAddressFailsClearly() async throws {
        // 192.0.2.1 (TEST-NET-1) is not configured on this machine: bind fails without sending anything.
        let server = try MetricsServer(address: "192.0.2.1:0", provider: StubProvider())
        await #expect {
            try await server.start()
        } throws: { error in
            guard let error = error as? MetricsServerError else { return false }
            return error.kind == .bindFailed
                && error.description
                    == "cannot listen on 192.0.2.1:0 (--hubble-metrics-server): Cannot assign requested address"
        }
    }

    @Test func allInterfacesAndIPv6Loopback() async throws {
        let any = try MetricsServer(address: ":0", provider: StubProvider())
        let bound = try await any.start()
        let r = try await fetch(port: bound.port, get("/healthz", port: bound.port))
        #expect(r.status == 200)
        await any.shutdown()

        guard Self.hasIPv6Loopback else {
            // Skipping is honest only on a developer's machine; CI must run the IPv6 half.
            if KernelTestGate.isCI {
                Issue.record("CI=true and this machine has no IPv6 loopback: the [::1] half did not run")
            } else {
                print("SKIPPED [::1] check: no IPv6 loopback on this machine")
            }
            return
        }
        let v6 = try MetricsServer(address: "[::1]:0", provider: StubProvider())
        let bound6 = try await v6.start()
        #expect(bound6.description == "[::1]:\(bound6.port)")
        let r6 = try await onThread {
            let c = try RawHTTPConnection(host: "::1", port: bound6.port)
            try c.send(get("/healthz", port: bound6.port))
            return try c.readResponse()
        }
        #expect(r6.status == 200)
        await v6.shutdown()
    }

    static var hasIPv6Loopback: Bool {
        (try? String(contentsOfFile: "/proc/net/if_inet6", encoding: .utf8))?.contains(
            "00000000000000000000000000000001") ?? false
    }

    @Test func shutdownFinishesInFlightScrapeAndClosesIdleConnections() async throws {
        let provider = StubProvider(slowRender: .seconds(1))
        let server = try MetricsServer(address: "127.0.0.1:0", provider: provider)
        let port = try await server.start().port
        let idle = try RawHTTPConnection(port: port)
        try await waitUntil { server.openConnections == 1 }
        async let inFlight = fetch(port: port, get("/metrics", port: port, headers: ["Accept: slow"]))
        try await waitUntil { provider.accepts.count == 1 }
        let (_, took) = await elapsed { await server.shutdown() }
        let response = try await inFlight
        #expect(response.status == 200)
        #expect(response.header("Connection") == "close")
        #expect(took < .seconds(4))
        #expect(try await onThread { try idle.waitForClose() })
        #expect(server.openConnections == 0)
    }
}

@Suite("MetricsServer lifecycle and back-pressure", .serialized, .timeLimit(.minutes(1)))
struct MetricsServerLifecycleTests {
    @Test func runServesUntilCancelled() async throws {
        let server = try MetricsServer(address: "127.0.0.1:0", provider: StubProvider())
        let task = Task { try await server.run() }
        try await waitUntil { server.boundAddress != nil }
        let port = try #require(server.boundAddress).port
        #expect(try await fetch(port: port, get("/healthz", port: port)).status == 200)
        task.cancel()
        try await task.value
        #expect(server.boundAddress == nil)
        await #expect(throws: (any Error).self) { _ = try await fetch(port: port, get("/healthz", port: port)) }
    }

    @Test func runReturnsWhenShutDownElsewhere() async throws {
        let server = try MetricsServer(address: "127.0.0.1:0", provider: StubProvider())
        let task = Task { try await server.run() }
        try await waitUntil { server.boundAddress != nil }
        await server.shutdown()
        let (_, took) = try await elapsed { try await task.value }
        #expect(took < .seconds(2))
    }

    @Test func clientThatNeverReadsIsDroppedAfterTheTimeout() async throws {
        // 48 MiB cannot fit in the socket buffers, so the write stays pending until the timeout.
        let provider = StubProvider(body: [UInt8](repeating: UInt8(ascii: "x"), count: 48 << 20))
        try await withServer(provider: provider, configure: { $0.readTimeout = .milliseconds(500) }) { server, port in
            let lazy = try RawHTTPConnection(port: port)
            try lazy.send(get("/metrics", port: port))
            try await waitUntil { server.openConnections == 1 }
            let (_, took) = try await elapsed {
                try await waitUntil(timeout: .seconds(5)) { server.openConnections == 0 }
            }
            #expect(took < .seconds(4))
            let scrapes = await provider.waitForScrapes(1)
            #expect(scrapes.map(\.code) == [200])
            _ = lazy
        }
    }
}

/// Polls `condition` every 10 ms for up to `timeout`.
func waitUntil(timeout: Duration = .seconds(3), _ condition: @Sendable () -> Bool) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while !condition() {
        guard clock.now < end else { throw TestFailure("condition not met within \(timeout)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]
}

/// Runs a program with a hard timeout (the process is killed when it expires).
func runProcess(_ path: String, _ arguments: [String], timeout: Double = 10) async throws -> ProcessResult {
    try await onThread {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        killer.cancel()
        return ProcessResult(status: p.terminationStatus, stdout: Array(stdout), stderr: Array(stderr))
    }
}
