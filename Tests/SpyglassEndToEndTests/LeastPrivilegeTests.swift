import Foundation
import SpyglassLab
import SpyglassTesting
import Testing

/// The `spyglass` binary under reduced privileges (util-linux `setpriv`): with exactly CAP_BPF, CAP_PERFMON and
/// CAP_NET_ADMIN it attaches and serves, as uid 0 and as an unprivileged user with ambient capabilities; without
/// any one of them it stops at once naming it. Also: HTTPS with mTLS through the real agent, flow-log file modes,
/// and that secrets in HTTP traffic reach neither the flow log nor the agent's log.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized, .timeLimit(.minutes(3)))
struct LeastPrivilegeTests {
    static let binary = CommandLineTests.binary
    static let minimal = ["bpf", "perfmon", "net_admin"]
    static let capabilityNames = ["bpf": "CAP_BPF", "perfmon": "CAP_PERFMON", "net_admin": "CAP_NET_ADMIN"]

    /// `setpriv` keeping only `caps` (effective, permitted, inheritable, bounding; ambient too for a non-root user).
    static func setpriv(keeping caps: [String], user: Bool = false) -> [String] {
        let list = (["-all"] + caps.map { "+\($0)" }).joined(separator: ",")
        var argv = ["/usr/bin/setpriv"]
        if user { argv += ["--reuid=65534", "--regid=65534", "--clear-groups"] }
        argv += ["--inh-caps=\(list)"]
        if user { argv += ["--ambient-caps=\(list)"] }
        return argv + ["--bounding-set=\(list)"]
    }

    func tcFilters(_ lab: NetworkLab, _ iface: String) throws -> [String] {
        let r = try lab.run(inNamespace: nil, ["tc", "filter", "show", "dev", iface, "ingress"])
        return r.stdout.split(separator: "\n").map(String.init).filter { $0.contains("spy_tc_") }
    }

    /// Waits (bounded) for the agent's "serving metrics on … (port N)" line and returns N.
    func metricsPort(of agent: LabProcess) throws -> Int {
        for _ in 0..<150 {
            let log = agent.stderr
            if let range = log.range(of: #"\(port (\d+)\)"#, options: .regularExpression) {
                return Int(log[range].dropFirst(6).dropLast()) ?? 0
            }
            if !agent.isRunning { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw ToolFailure("the agent did not start serving: \(agent.stderr)")
    }

    @Test func eachMissingCapabilityStopsStartUpNamingIt() throws {
        try withLab { lab in
            let pod = try lab.addPod(name: "a", ipv4: "10.199.61.2/24")
            for dropped in Self.minimal {
                let kept = Self.minimal.filter { $0 != dropped }
                let r = try lab.run(
                    inNamespace: nil,
                    Self.setpriv(keeping: kept) + [
                        Self.binary, "run", "--interface", pod.hostInterface, "--hubble-metrics-server", "127.0.0.1:0",
                        "--duration", "5s"
                    ], timeout: .seconds(20))
                #expect(r.exitStatus != 0, "started without \(dropped): \(r.stderr)")
                let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("Error:") }
                #expect(errors.count == 1, "\(r.stderr)")
                let line = String(errors.first ?? "")
                let name = try #require(Self.capabilityNames[dropped])
                #expect(line.contains("\(name) ("), "\(line)")
                for other in kept { #expect(!line.contains(Self.capabilityNames[other]!), "\(line)") }
                #expect(try tcFilters(lab, pod.hostInterface).isEmpty, "nothing attached without \(dropped)")
            }
        }
    }

    @Test func unusableCertificateStopsStartUpNamingTheFile() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        try withLab { lab in
            let pod = try lab.addPod(name: "a", ipv4: "10.199.64.2/24")
            let r = try lab.run(
                inNamespace: nil,
                [
                    Self.binary, "run", "--interface", pod.hostInterface, "--hubble-metrics-server", "127.0.0.1:0",
                    "--hubble-metrics-server-enable-tls=true", "--hubble-metrics-server-tls-cert-file", pki.caKey,
                    "--hubble-metrics-server-tls-key-file", pki.serverKey, "--duration", "5s"
                ], timeout: .seconds(20))
            #expect(r.exitStatus != 0)
            let errors = r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error:") }
            #expect(
                errors == [
                    "Error: metrics server TLS: --hubble-metrics-server-tls-cert-file \(pki.caKey): not a PEM certificate"
                ],
                "\(r.stderr)")
            #expect(try tcFilters(lab, pod.hostInterface).isEmpty, "hooks removed after the failed start")
        }
    }

    @Test func agentWaitsForCertificateFilesLikeHubble() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let later = pki.path("later")
        try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: false)
        try await withLab { lab in
            let pod = try lab.addPod(name: "a", ipv4: "10.199.65.2/24")
            let agent = try lab.spawn(
                inNamespace: nil,
                Self.setpriv(keeping: Self.minimal) + [
                    Self.binary, "run", "--interface", pod.hostInterface, "--hubble-metrics-server", "127.0.0.1:0",
                    "--hubble-metrics-server-enable-tls=true", "--hubble-metrics-server-tls-cert-file",
                    later + "/tls.crt",
                    "--hubble-metrics-server-tls-key-file", later + "/tls.key"
                ], timeout: .seconds(60))
            defer { _ = agent.terminate() }
            let port = try metricsPort(of: agent)
            #expect(agent.stderr.contains("Waiting for TLS certificates to become available"), "\(agent.stderr)")
            let https = ["-sS", "--max-time", "3", "--cacert", pki.caCert, "https://127.0.0.1:\(port)/healthz"]
            #expect(try ToolRun.run(TestPKI.curl, https, timeout: 10).status != 0, "served before the files exist")

            try FileManager.default.copyItem(atPath: pki.serverKey, toPath: later + "/tls.key")
            try FileManager.default.copyItem(atPath: pki.serverCert, toPath: later + "/tls.crt")
            var served = ToolRun(status: -1, stdout: "", stderr: "", seconds: 0)
            for _ in 0..<50 where served.status != 0 {
                try await Task.sleep(for: .milliseconds(100))
                served = try ToolRun.run(TestPKI.curl, https, timeout: 10)
            }
            // "ok", then one line per check.
            #expect(served.status == 0 && served.stdout.hasPrefix("ok\n"), "\(served.stderr)")
            #expect(agent.terminate(grace: .seconds(15)).exitStatus == 0)
        }
    }

    @Test func minimalCapabilitiesServeHTTPSWithMTLSAndKeepSecretsOutOfLogs() async throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let exportDir = pki.path("flows")
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.62.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.62.3/24")
            let server = try await startHTTPServer(lab, in: web)
            defer { _ = server.terminate() }

            let agent = try lab.spawn(
                inNamespace: nil,
                Self.setpriv(keeping: Self.minimal) + [
                    Self.binary, "run", "--interface", client.hostInterface, "--interface", web.hostInterface,
                    "--hubble-metrics-server", "127.0.0.1:0", "--hubble-metrics", "httpV2 flow",
                    "--hubble-metrics-server-enable-tls=true",
                    "--hubble-metrics-server-tls-cert-file", pki.serverCert, "--hubble-metrics-server-tls-key-file",
                    pki.serverKey,
                    "--hubble-metrics-server-tls-client-ca-files", pki.caCert,
                    "--hubble-export-file-path", exportDir + "/events.log"
                ], timeout: .seconds(90))
            defer { _ = agent.terminate() }
            let port = try metricsPort(of: agent)
            #expect(try tcFilters(lab, client.hostInterface).count == 1)

            // Secrets in a request header, a cookie and the URL's user info (an absolute request target).
            let secrets = ["s3cr3t-bearer-token", "c00kie-session-value", "pa55word-in-url"]
            let request = try await lab.run(
                in: client,
                [
                    "curl", "-s", "-o", "/dev/null", "-H", "Authorization: Bearer \(secrets[0])", "-H",
                    "Cookie: session=\(secrets[1])",
                    "--request-target", "http://alice:\(secrets[2])@\(web.ipv4):8080/ok", "http://\(web.ipv4):8080/"
                ])
            #expect(request.succeeded, "\(request)")

            func scrape(_ extra: [String]) throws -> ToolRun {
                try ToolRun.run(
                    TestPKI.curl,
                    ["-sS", "--max-time", "5", "--cacert", pki.caCert] + extra
                        + ["https://127.0.0.1:\(port)/metrics"], timeout: 10)
            }
            let refused = try scrape([])
            #expect(refused.status != 0, "served without a client certificate")
            var metrics = PrometheusText("")
            for _ in 0..<50 {
                let r = try scrape(["--cert", pki.clientCert, "--key", pki.clientKey])
                #expect(r.status == 0, "\(r.stderr)")
                metrics = PrometheusText(r.stdout)
                if metrics.value("hubble_http_requests_total") >= 2 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(metrics.value("hubble_http_requests_total") >= 2, "\(metrics.series("hubble_http_requests_total"))")
            #expect(metrics.value("spyglass_metrics_server_tls_certificate_loads_total", ["result": "success"]) == 1)
            #expect(metrics.value("spyglass_metrics_server_tls_handshake_failures_total") >= 1)
            #expect(
                metrics.value("spyglass_metrics_server_tls_certificate_expiry_timestamp_seconds")
                    > Date().timeIntervalSince1970)

            let stopped = agent.terminate(grace: .seconds(15))
            #expect(stopped.exitStatus == 0, "\(stopped)")

            // The flow log: 0600, the L7 flows are there with the secrets redacted.
            let log = exportDir + "/events.log"
            let attributes = try FileManager.default.attributesOfItem(atPath: log)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let flows = try String(contentsOfFile: log, encoding: .utf8)
            #expect(flows.contains("\"HUBBLE_REDACTED\""), "no redacted header in \(flows.prefix(2000))")
            #expect(flows.contains("\"Authorization\""), "the header name stays")
            #expect(
                flows.contains("\"url\":\"http://\(web.ipv4):8080/ok\""),
                "user info removed from the URL: \(flows.prefix(3000))")
            for secret in secrets {
                #expect(!flows.contains(secret), "\(secret) reached the flow log")
                #expect(!agent.stderr.contains(secret), "\(secret) reached the agent's log")
            }
            #expect(!agent.stderr.contains("Bearer"), "HTTP payload reached the agent's log")
        }
    }

    @Test func unprivilegedUserWithAmbientCapabilitiesRuns() throws {
        try withLab { lab in
            let pod = try lab.addPod(name: "a", ipv4: "10.199.63.2/24")
            let agent = try lab.spawn(
                inNamespace: nil,
                Self.setpriv(keeping: Self.minimal, user: true) + [
                    Self.binary, "run", "--interface", pod.hostInterface, "--hubble-metrics-server", "127.0.0.1:0"
                ], timeout: .seconds(60))
            defer { _ = agent.terminate() }
            let port = try metricsPort(of: agent)
            #expect(try tcFilters(lab, pod.hostInterface).count == 1)
            let status = try String(contentsOfFile: "/proc/\(agent.pid)/status", encoding: .utf8)
            #expect(status.contains("Uid:\t65534"), "not running as nobody: \(status)")
            let metrics = PrometheusText(try curlGet("http://127.0.0.1:\(port)/metrics"))
            // The pipeline's own families are served (value() of a missing family is 0, so check the series).
            #expect(
                metrics.series("spyglass_flows_processed_total").count == 2,
                "\(metrics.series("spyglass_flows_processed_total"))")
            #expect(!metrics.series("spyglass_datapath_packets_total").isEmpty)
            let stopped = agent.terminate(grace: .seconds(15))
            #expect(stopped.exitStatus == 0, "\(stopped)")
            #expect(try tcFilters(lab, pod.hostInterface).isEmpty, "hooks detached on SIGTERM")
        }
    }
}
