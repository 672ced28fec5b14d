import Foundation
import SpyglassServer
import SpyglassTesting
import Testing

/// HTTPS on the metrics server, checked with real TLS clients (curl, openssl s_client) against certificates
/// generated for each test.
@Suite(
    "MetricsServer TLS with curl and openssl", .serialized, .timeLimit(.minutes(2)),
    .enabled(
        if: TestPKI.toolsPresent || KernelTestGate.isCI,
        "needs /usr/bin/openssl and /usr/bin/curl (apt-get install openssl curl)")
)
struct MetricsServerTLSTests {
    static func tls(_ pki: TestPKI, clientCAs: [String] = []) -> MetricsServerTLS {
        MetricsServerTLS(
            certificateFile: pki.serverCert, keyFile: pki.serverKey, clientCAFiles: clientCAs,
            reloadInterval: .milliseconds(100))
    }

    /// GET over HTTPS with curl; the last stdout line is the HTTP status (000 when there was no response).
    func curl(_ port: Int, _ pki: TestPKI, path: String = "/metrics", _ extra: [String] = []) async throws -> (
        code: Int, body: String, run: ToolRun
    ) {
        let run = try await onThread {
            try ToolRun.run(
                TestPKI.curl,
                ["-sS", "--max-time", "5", "--cacert", pki.caCert, "-w", "\n%{http_code}"]
                    + extra + ["https://127.0.0.1:\(port)\(path)"], timeout: 10)
        }
        var lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let code = Int(lines.popLast() ?? "") ?? -1
        return (code, lines.joined(separator: "\n"), run)
    }

    /// `openssl s_client` handshake (stdin closed, so it leaves right after it).
    func sClient(_ port: Int, _ pki: TestPKI, _ extra: [String] = []) async throws -> ToolRun {
        try await onThread {
            try ToolRun.run(
                TestPKI.openssl,
                [
                    "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", pki.caCert,
                    "-verify_return_error"
                ] + extra, timeout: 10)
        }
    }

    /// Serial number of the certificate the server presents now.
    func servedSerial(_ port: Int, _ pki: TestPKI) async throws -> String {
        let run = try await sClient(port, pki)
        guard run.status == 0, let begin = run.stdout.range(of: "-----BEGIN CERTIFICATE-----"),
            let end = run.stdout.range(of: "-----END CERTIFICATE-----")
        else { throw TestFailure("s_client failed (\(run.status)): \(run.stderr)") }
        return try TestPKI.serialAndSubject(ofPEM: String(run.stdout[begin.lowerBound..<end.upperBound]) + "\n").serial
    }

    func withPKI(_ body: (TestPKI) async throws -> Void) async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try await body(pki)
    }

    @Test func curlWithTLS13AndTheCAGetsMetricsAndHealth() async throws {
        try await withPKI { pki in
            let provider = StubProvider()
            try await withServer(provider: provider, configure: { $0.tls = Self.tls(pki) }) { server, port in
                let metrics = try await curl(port, pki, ["--tlsv1.3", "-v"])
                #expect(metrics.code == 200, "\(metrics.run.stderr)")
                #expect(Array(metrics.body.utf8) == provider.body)
                #expect(metrics.run.stderr.contains("TLSv1.3"), "\(metrics.run.stderr)")
                let health = try await curl(port, pki, path: "/healthz")
                #expect(health.code == 200 && health.body == "ok\n")
                let missing = try await curl(port, pki, path: "/nope")
                #expect(missing.code == 404)
                let stats = try #require(server.tlsStatistics)
                #expect(stats.loads == 1 && stats.loadFailures == 0 && !stats.waitingForCertificates)
                #expect(stats.handshakeFailures == 0)
                #expect((stats.certificateNotAfter ?? 0) > Date().timeIntervalSince1970)
            }
        }
    }

    @Test func tls12AndOlderAreRefused() async throws {
        try await withPKI { pki in
            try await withServer(configure: { $0.tls = Self.tls(pki) }) { server, port in
                let viaCurl = try await curl(port, pki, ["--tlsv1.2", "--tls-max", "1.2"])
                #expect(viaCurl.run.status != 0 && viaCurl.code == 0, "\(viaCurl.run.stderr)")
                let viaOpenSSL = try await sClient(port, pki, ["-tls1_2"])
                #expect(viaOpenSSL.status != 0, "\(viaOpenSSL.stdout)")
                #expect(
                    viaOpenSSL.stderr.contains("alert protocol version")
                        || viaOpenSSL.stdout.contains("Cipher is (NONE)"),
                    "\(viaOpenSSL.stderr)")
                let tls13 = try await sClient(port, pki, ["-tls1_3"])
                #expect(tls13.status == 0, "\(tls13.stderr)")
                #expect(tls13.stdout.contains("TLSv1.3"))
                try await waitUntil { (server.tlsStatistics?.handshakeFailures ?? 0) == 2 }
            }
        }
    }

    @Test func plainHTTPOnTheTLSPortFailsAtOnce() async throws {
        try await withPKI { pki in
            try await withServer(configure: { $0.tls = Self.tls(pki) }) { server, port in
                let plain = try await onThread {
                    try ToolRun.run(
                        TestPKI.curl, ["-sS", "--max-time", "5", "http://127.0.0.1:\(port)/metrics"], timeout: 10)
                }
                #expect(plain.status != 0, "plain HTTP got an answer: \(plain.stdout)")
                #expect(plain.seconds < 2, "took \(plain.seconds) s")
                try await waitUntil { server.openConnections == 0 }
                let https = try await curl(port, pki)
                #expect(https.code == 200)
            }
        }
    }

    @Test func mutualTLSRequiresAClientCertificateFromTheConfiguredCA() async throws {
        try await withPKI { pki in
            try await withServer(configure: { $0.tls = Self.tls(pki, clientCAs: [pki.caCert]) }) { server, port in
                let anonymous = try await curl(port, pki)
                #expect(anonymous.run.status != 0 && anonymous.code == 0, "served without a client certificate")

                let stranger = try await curl(port, pki, ["--cert", pki.otherClientCert, "--key", pki.otherClientKey])
                #expect(stranger.run.status != 0 && stranger.code == 0, "served a client of an unknown CA")

                let trusted = try await curl(port, pki, ["--cert", pki.clientCert, "--key", pki.clientKey])
                #expect(trusted.code == 200, "\(trusted.run.stderr)")

                // The server asks for a certificate and names the CA it trusts.
                let handshake = try await sClient(port, pki, ["-cert", pki.clientCert, "-key", pki.clientKey])
                #expect(handshake.status == 0)
                #expect(handshake.stdout.contains("Acceptable client certificate CA names"))
                #expect(handshake.stdout.contains("Spyglass Test CA"))
                try await waitUntil { (server.tlsStatistics?.handshakeFailures ?? 0) == 2 }
            }
        }
    }

    @Test func everyConfiguredClientCAIsTrusted() async throws {
        try await withPKI { pki in
            let tls = Self.tls(pki, clientCAs: [pki.caCert, pki.otherCACert])
            try await withServer(configure: { $0.tls = tls }) { _, port in
                let first = try await curl(port, pki, ["--cert", pki.clientCert, "--key", pki.clientKey])
                let second = try await curl(port, pki, ["--cert", pki.otherClientCert, "--key", pki.otherClientKey])
                #expect(first.code == 200 && second.code == 200, "\(first.run.stderr) \(second.run.stderr)")
            }
        }
    }

    @Test func clientThatNeverSendsClientHelloIsClosedAtTheTimeout() async throws {
        try await withPKI { pki in
            try await withServer(configure: {
                $0.tls = Self.tls(pki)
                $0.readTimeout = .milliseconds(600)
            }) { server, port in
                let silent = try RawHTTPConnection(port: port, receiveTimeout: 5)
                try await waitUntil { server.openConnections == 1 }
                // Others are served meanwhile.
                let (other, otherTook) = try await elapsed { try await curl(port, pki) }
                #expect(other.code == 200)
                #expect(otherTook < .seconds(2))
                let (closed, took) = try await elapsed { try await onThread { try silent.waitForClose() } }
                #expect(closed)
                #expect(took < .seconds(3))
                try await waitUntil { server.openConnections == 0 }
            }
        }
    }

    @Test func dribbledClientHelloCannotExtendTheDeadline() async throws {
        try await withPKI { pki in
            try await withServer(configure: {
                $0.tls = Self.tls(pki)
                $0.readTimeout = .milliseconds(500)
            }) { _, port in
                let (closed, took) = try await elapsed {
                    try await onThread { () -> Bool in
                        let c = try RawHTTPConnection(port: port, receiveTimeout: 0.1)
                        // The start of a TLS record header for a handshake message, then one byte per 100 ms.
                        try c.send([0x16, 0x03, 0x01, 0x02, 0x00])
                        let clock = ContinuousClock()
                        let end = clock.now + .seconds(4)
                        while clock.now < end {
                            do { if try c.waitForClose() { return true } } catch {}
                            do { try c.send([0x01]) } catch { return true }
                        }
                        return false
                    }
                }
                #expect(closed)
                #expect(took < .seconds(2))
            }
        }
    }
}
