import Foundation
import SpyglassServer
import SpyglassTesting
import Testing

/// Certificate files at start-up (bad ones stop it, missing ones are waited for) and while running (reloaded
/// without a restart, a bad replacement keeps the old certificate).
@Suite(
    "MetricsServer TLS certificate loading and reload", .serialized, .timeLimit(.minutes(2)),
    .enabled(
        if: TestPKI.toolsPresent || KernelTestGate.isCI,
        "needs /usr/bin/openssl and /usr/bin/curl (apt-get install openssl curl)")
)
struct MetricsServerTLSReloadTests {
    let tlsTests = MetricsServerTLSTests()

    func startError(_ tls: MetricsServerTLS) async throws -> MetricsServerError {
        var configuration = MetricsServer.Configuration()
        configuration.tls = tls
        let server = try MetricsServer(address: "127.0.0.1:0", provider: StubProvider(), configuration: configuration)
        do {
            try await server.start()
            await server.shutdown()
            throw TestFailure("start() accepted \(tls)")
        } catch let error as MetricsServerError {
            await server.shutdown()
            return error
        }
    }

    @Test func unusableFilesStopStartUpNamingFlagAndFile() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let garbage = pki.path("garbage.pem")
        try "this is not PEM\n".write(toFile: garbage, atomically: true, encoding: .utf8)

        var tls = MetricsServerTLS(certificateFile: garbage, keyFile: pki.serverKey)
        var error = try await startError(tls)
        #expect(error.kind == .tlsCredentials)
        #expect(
            error.message.contains("--hubble-metrics-server-tls-cert-file \(garbage): not a PEM certificate"),
            "\(error)")

        tls = MetricsServerTLS(certificateFile: pki.serverCert, keyFile: garbage)
        error = try await startError(tls)
        #expect(
            error.message.contains("--hubble-metrics-server-tls-key-file \(garbage): not a PEM private key"), "\(error)"
        )

        // A key that belongs to another certificate.
        tls = MetricsServerTLS(certificateFile: pki.serverCert, keyFile: pki.clientKey)
        error = try await startError(tls)
        #expect(
            error.message.contains(
                "--hubble-metrics-server-tls-key-file \(pki.clientKey): does not match the certificate"), "\(error)")

        // A path that exists but cannot be read as a file.
        tls = MetricsServerTLS(certificateFile: pki.serverCert, keyFile: pki.serverKey, clientCAFiles: [pki.dir.path])
        error = try await startError(tls)
        #expect(
            error.message.contains(
                "--hubble-metrics-server-tls-client-ca-files \(pki.dir.path): cannot read: Is a directory"), "\(error)")

        tls = MetricsServerTLS(certificateFile: pki.serverCert, keyFile: pki.serverKey, clientCAFiles: [garbage])
        error = try await startError(tls)
        #expect(
            error.message.contains("--hubble-metrics-server-tls-client-ca-files \(garbage): not a PEM certificate"),
            "\(error)")
    }

    @Test func missingFilesAreWaitedForThenServed() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let later = pki.dir.appendingPathComponent("later").path
        try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: false)
        let tls = MetricsServerTLS(
            certificateFile: later + "/tls.crt", keyFile: later + "/tls.key",
            reloadInterval: .milliseconds(100))
        try await withServer(configure: { $0.tls = tls }) { server, port in
            #expect(server.tlsStatistics?.waitingForCertificates == true)
            // Nothing is served yet; the connection is closed at once rather than left hanging.
            let early = try await tlsTests.curl(port, pki, path: "/healthz")
            #expect(early.code == 0 && early.run.status != 0)
            #expect(early.run.seconds < 2)
            #expect((server.tlsStatistics?.refusedWithoutCertificate ?? 0) >= 1)

            try FileManager.default.copyItem(atPath: pki.serverKey, toPath: later + "/tls.key")
            try FileManager.default.copyItem(atPath: pki.serverCert, toPath: later + "/tls.crt")
            try await waitUntil(timeout: .seconds(5)) { server.tlsStatistics?.waitingForCertificates == false }
            let served = try await tlsTests.curl(port, pki)
            #expect(served.code == 200, "\(served.run.stderr)")
            #expect(server.tlsStatistics?.loads == 1)
        }
    }

    @Test func replacedCertificateIsServedWithoutRestartAndABadOneIsRefused() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let live = pki.dir.appendingPathComponent("live").path
        try FileManager.default.createDirectory(atPath: live, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: pki.serverCert, toPath: live + "/tls.crt")
        try FileManager.default.copyItem(atPath: pki.serverKey, toPath: live + "/tls.key")
        let tls = MetricsServerTLS(
            certificateFile: live + "/tls.crt", keyFile: live + "/tls.key",
            reloadInterval: .milliseconds(100))
        try await withServer(configure: { $0.tls = tls }) { server, port in
            #expect(try await tlsTests.servedSerial(port, pki) == "5e1001")

            // A new key pair with another serial and subject, moved into place (as cert-manager or an operator would).
            let staging = pki.dir.appendingPathComponent("staging").path
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
            try pki.issue(
                "tls", by: "ca", subject: "/CN=spyglass-rotated", serial: "0x5e1002",
                extensions: ["subjectAltName=IP:127.0.0.1"], into: staging)
            #expect(rename(staging + "/tls.key", live + "/tls.key") == 0)
            #expect(rename(staging + "/tls.crt", live + "/tls.crt") == 0)
            try await waitUntil(timeout: .seconds(5)) { server.tlsStatistics?.loads == 2 }
            #expect(try await tlsTests.servedSerial(port, pki) == "5e1002")
            let run = try await tlsTests.sClient(port, pki)
            #expect(
                run.stdout.contains("CN = spyglass-rotated") || run.stdout.contains("CN=spyglass-rotated"),
                "\(run.stdout)")

            // A broken replacement: logged, counted once, and the previous certificate stays in use.
            try "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n"
                .write(toFile: live + "/tls.crt", atomically: true, encoding: .utf8)
            try await waitUntil(timeout: .seconds(5)) { server.tlsStatistics?.loadFailures == 1 }
            try await Task.sleep(for: .milliseconds(500))
            #expect(server.tlsStatistics?.loadFailures == 1, "a bad file is counted once, not at every poll")
            #expect(server.tlsStatistics?.loads == 2)
            #expect(try await tlsTests.servedSerial(port, pki) == "5e1002")
            #expect(try await tlsTests.curl(port, pki).code == 200)
        }
    }

    @Test func kubernetesSecretSymlinkSwapIsSeen() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        // The layout of a mounted Secret: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/
        let mount = pki.dir.appendingPathComponent("secret").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: mount + "/..v1", withIntermediateDirectories: true)
        try fm.copyItem(atPath: pki.serverCert, toPath: mount + "/..v1/tls.crt")
        try fm.copyItem(atPath: pki.serverKey, toPath: mount + "/..v1/tls.key")
        try fm.createSymbolicLink(atPath: mount + "/..data", withDestinationPath: "..v1")
        try fm.createSymbolicLink(atPath: mount + "/tls.crt", withDestinationPath: "..data/tls.crt")
        try fm.createSymbolicLink(atPath: mount + "/tls.key", withDestinationPath: "..data/tls.key")
        let tls = MetricsServerTLS(
            certificateFile: mount + "/tls.crt", keyFile: mount + "/tls.key",
            reloadInterval: .milliseconds(100))
        try await withServer(configure: { $0.tls = tls }) { server, port in
            #expect(try await tlsTests.servedSerial(port, pki) == "5e1001")
            try fm.createDirectory(atPath: mount + "/..v2", withIntermediateDirectories: false)
            try pki.issue(
                "tls", by: "ca", subject: "/CN=spyglass-v2", serial: "0x5e1003",
                extensions: ["subjectAltName=IP:127.0.0.1"], into: mount + "/..v2")
            try fm.createSymbolicLink(atPath: mount + "/..data_tmp", withDestinationPath: "..v2")
            #expect(rename(mount + "/..data_tmp", mount + "/..data") == 0)
            try fm.removeItem(atPath: mount + "/..v1")
            try await waitUntil(timeout: .seconds(5)) { server.tlsStatistics?.loads == 2 }
            #expect(try await tlsTests.servedSerial(port, pki) == "5e1003")
            #expect(server.tlsStatistics?.loadFailures == 0)
        }
    }
}
