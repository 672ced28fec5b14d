import Foundation
import Logging
import NIOSSL
import SpyglassFlow
import Testing

@testable import SpyglassEndpoints

enum KubePaths {
    static let pods = "/api/v1/pods"
    static let replicaSets = "/apis/apps/v1/replicasets"
    static let jobs = "/apis/batch/v1/jobs"
    static let services = "/api/v1/services"
    static let nodes = "/api/v1/nodes"
    static let slices = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
    static let all = [pods, replicaSets, jobs, services, nodes, slices]
}

func serveFixtures(_ server: FakeAPIServer) {
    server.setList(KubePaths.pods, Fixtures.text("pods-list.json"))
    server.setList(KubePaths.replicaSets, Fixtures.text("replicasets-list.json"))
    server.setList(KubePaths.jobs, Fixtures.text("jobs-list.json"))
    server.setList(KubePaths.services, Fixtures.text("services-list.json"))
    server.setList(KubePaths.nodes, Fixtures.text("nodes-list.json"))
    server.setList(KubePaths.slices, Fixtures.text("endpointslices-list.json"))
}

func kubeConfig(_ kubernetes: EndpointsConfig.Kubernetes) -> EndpointsConfig {
    var c = EndpointsConfig()
    c.kubernetes = kubernetes
    c.nodeAddressProvider = { [ip("192.168.49.3")] }
    c.departureGrace = .milliseconds(300)
    c.rebuildCoalesce = .milliseconds(5)
    c.kubeLimits.initialBackoff = .milliseconds(300)
    c.kubeLimits.maxBackoff = .seconds(1)
    c.kubeLimits.watchTimeoutSeconds = 60
    return c
}

func errorCount(_ e: Endpoints, _ reason: String) -> Double {
    e.selfMetrics().first { $0.name == "spyglass_endpoints_errors_total" }!.samples
        .first { $0.labels["source"] == "kubernetes" && $0.labels["reason"] == reason }?.value ?? -1
}

@Suite(.serialized) struct KubernetesSourceTests {
    @Test(.timeLimit(.minutes(1))) func listWatchRelistReconnect() async throws {
        let server = try FakeAPIServer()
        defer { server.shutdown() }
        serveFixtures(server)
        let endpoints = Endpoints(
            config: kubeConfig(.credentials(KubeCredentials(server: server.url))), logger: quietLogger)
        let log = DepartureLog()
        endpoints.onDeparture { log.add($0) }
        try await endpoints.start()
        #expect(await endpoints.waitUntilSynced(timeout: .seconds(10)))
        for p in KubePaths.all { _ = try await server.waitForWatch(p) }
        let r = endpoints.resolver

        // --- After the initial lists ---
        let frontend = try #require(r.lookup(ip("10.244.1.10")))
        #expect(frontend.podName == "frontend-7d9c8b6f5d-x2k4p")
        #expect(frontend.namespace == "shop")
        #expect(frontend.clusterName == "default")
        #expect(frontend.workloads == [Workload(name: "frontend", kind: "Deployment")])
        #expect(
            frontend.labels == [
                "k8s:app=frontend", "k8s:io.cilium.k8s.policy.cluster=default",
                "k8s:io.cilium.k8s.policy.serviceaccount=frontend",
                "k8s:io.kubernetes.pod.namespace=shop", "k8s:tier=web"
            ])
        #expect((256...65535).contains(Int(frontend.identity)))
        #expect(frontend.id > 0)
        #expect(r.lookup(ip("fd00:10:244:1::a")) == frontend)
        #expect(r.lookup(ip("10.244.2.20"))?.workloads == [Workload(name: "checkout", kind: "Deployment")])
        // ReplicaSet not known: the pod-template-hash fallback.
        #expect(r.lookup(ip("10.244.2.21"))?.workloads == [Workload(name: "legacy", kind: "Deployment")])
        let db = try #require(r.lookup(ip("10.244.2.30")))
        #expect(db.workloads == [Workload(name: "db", kind: "StatefulSet")])
        #expect(
            db.labels == [
                "k8s:app.kubernetes.io/name=postgres", "k8s:io.cilium.k8s.policy.cluster=default",
                "k8s:io.cilium.k8s.policy.serviceaccount=default", "k8s:io.kubernetes.pod.namespace=shop"
            ])
        #expect(r.lookup(ip("10.244.1.40"))?.workloads == [Workload(name: "nightly-report", kind: "CronJob")])
        #expect(r.lookup(ip("10.244.1.41")) == nil)  // Succeeded: its IP is free
        #expect(r.lookup(ip("10.244.1.50"))?.workloads == [Workload(name: "node-exporter", kind: "DaemonSet")])
        #expect(r.lookup(ip("10.244.2.60"))?.workloads == [])  // bare pod
        #expect(r.lookup(ip("10.244.2.60"))?.podName == "debug")
        // Nodes, the apiserver, the host (hostNetwork kube-proxy does not claim the node's address).
        #expect(
            r.resolve(ip("192.168.49.2"))
                == Endpoint(
                    identity: 7, clusterName: "default", labels: ["reserved:kube-apiserver", "reserved:remote-node"]))
        #expect(r.resolve(ip("192.168.49.3")).labels == ["reserved:host"])
        #expect(r.resolve(ip("203.0.113.7")).identity == 6)
        // Services name frontends; the endpoint behind a ClusterIP stays world.
        #expect(r.service(for: ip("10.96.0.10")) == Service(name: "kube-dns", namespace: "kube-system"))
        #expect(r.service(for: ip("fd00:96::a")) == Service(name: "kube-dns", namespace: "kube-system"))
        #expect(r.service(for: ip("198.51.100.20")) == Service(name: "frontend", namespace: "shop"))
        #expect(r.service(for: ip("10.96.0.1")) == Service(name: "kubernetes", namespace: "default"))
        #expect(r.resolve(ip("10.96.0.10")).labels == ["reserved:world"])
        // What was asked.
        let podWatch = try #require(server.requests(KubePaths.pods).last { $0.isWatch })
        #expect(podWatch.query["resourceVersion"] == "1200")
        #expect(podWatch.query["allowWatchBookmarks"] == "true")
        // No token over plain http (the TLS case checks that the token is sent).
        #expect(!podWatch.headers.contains { $0.0.lowercased() == "authorization" })
        let rsList = try #require(server.requests(KubePaths.replicaSets).first)
        #expect(rsList.headers.contains { $0.0.lowercased() == "accept" && $0.1.contains("PartialObjectMetadataList") })
        #expect(
            server.requests(KubePaths.slices).first?.query["labelSelector"] == "kubernetes.io/service-name=kubernetes")
        let objects = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_objects" }!
        #expect(objects.samples.contains(.init(labels: ["source": "kubernetes", "kind": "pods"], value: 10)))
        #expect(objects.samples.contains(.init(labels: ["source": "kubernetes", "kind": "replicasets"], value: 2)))

        // --- Watch: ADDED, MODIFIED (label change), DELETED, BOOKMARK ---
        let events = Fixtures.lines("pods-watch-1.jsonl")
        server.send(KubePaths.pods, events[0])
        #expect(await eventually { r.lookup(ip("10.244.1.11"))?.podName == "frontend-7d9c8b6f5d-zz9q1" })
        #expect(r.lookup(ip("10.244.1.11"))?.identity == frontend.identity)  // same labels, same identity

        server.send(KubePaths.pods, events[1])
        #expect(await eventually { r.lookup(ip("10.244.1.10"))?.labels.contains("k8s:tier=edge") == true })
        #expect(r.lookup(ip("10.244.1.10"))?.identity != frontend.identity)

        server.send(KubePaths.pods, events[2])
        #expect(await eventually { r.lookup(ip("10.244.2.20")) == nil })
        #expect(await eventually { log.all.count == 1 })
        #expect(
            log.all.first
                == { () -> EndpointDeparture in
                    var d = EndpointDeparture(
                        namespace: "shop", podName: "checkout-5f6d7c8b9-abcde", workloadName: "checkout",
                        workloadKind: "Deployment",
                        ips: [ip("10.244.2.20")],
                        labels: [
                            "k8s:app=checkout", "k8s:io.cilium.k8s.policy.cluster=default",
                            "k8s:io.cilium.k8s.policy.serviceaccount=default",
                            "k8s:io.kubernetes.pod.namespace=shop"
                        ], source: "kubernetes")
                    d.workloadGone = true  // the only checkout pod
                    return d
                }())

        server.send(KubePaths.pods, events[3])  // bookmark: resourceVersion 1250

        // --- A dropped connection: reconnect after backoff, resume from the bookmark, no relist ---
        try await Task.sleep(for: .milliseconds(50))
        let dropped = ContinuousClock.now
        server.dropWatches(KubePaths.pods)
        let rewatch = try await server.waitForWatch(KubePaths.pods, count: 2)
        #expect(rewatch.query["resourceVersion"] == "1250")
        #expect(
            rewatch.at - dropped >= .milliseconds(140), "reconnected after \(rewatch.at - dropped), before the backoff")
        #expect(server.requests(KubePaths.pods).filter { !$0.isWatch }.count == 1)
        #expect(errorCount(endpoints, "connect") >= 1)
        #expect(r.lookup(ip("10.244.1.11"))?.podName == "frontend-7d9c8b6f5d-zz9q1")

        // --- 410 Gone as a watch ERROR event: relist, then watch from the new list's version ---
        server.setList(KubePaths.pods, Fixtures.text("pods-relist.json"))
        server.send(KubePaths.pods, Fixtures.text("pods-watch-gone.jsonl").trimmingCharacters(in: .newlines))
        let afterGone = try await server.waitForWatch(KubePaths.pods, count: 3)
        #expect(afterGone.query["resourceVersion"] == "2000")
        #expect(server.requests(KubePaths.pods).filter { !$0.isWatch }.count == 2)
        #expect(await eventually { r.lookup(ip("10.244.2.22"))?.podName == "checkout-5f6d7c8b9-fghij" })
        #expect(r.lookup(ip("10.244.1.11")) == nil)  // gone while we were not watching
        #expect(r.lookup(ip("10.244.1.10"))?.labels.contains("k8s:tier=edge") == true)
        #expect(errorCount(endpoints, "gone") == 1)
        #expect(await eventually { log.all.contains { $0.podName == "frontend-7d9c8b6f5d-zz9q1" } })

        // --- 410 Gone as an HTTP status on the watch: relist too ---
        server.failNext(
            watch: KubePaths.pods, status: 410,
            body:
                #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version","reason":"Expired","code":410}"#
        )
        server.endWatches(KubePaths.pods)  // the server's timeout: the client re-watches at once and gets 410
        _ = try await server.waitForWatch(KubePaths.pods, count: 5)
        #expect(server.requests(KubePaths.pods).filter { !$0.isWatch }.count == 3)
        #expect(errorCount(endpoints, "gone") == 2)

        // --- The list fails (apiserver restarting): backoff, unsynced, then recovers ---
        server.failNext(
            list: KubePaths.nodes, status: 503,
            body: #"{"kind":"Status","code":503,"message":"apiserver is shutting down"}"#)
        server.failNext(watch: KubePaths.nodes, status: 410)
        server.endWatches(KubePaths.nodes)
        _ = try await server.waitForWatch(KubePaths.nodes, count: 3)
        #expect(errorCount(endpoints, "http_status") == 1)
        #expect(await endpoints.waitUntilSynced(timeout: .seconds(5)))
        #expect(r.resolve(ip("203.0.113.7")).identity == 6)

        await endpoints.stop()
    }

    @Test(.timeLimit(.minutes(1))) func tlsWithKubeconfig() async throws {
        let dir = TempDir()
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            dir.path("key.pem"),
            "-out", dir.path("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1"
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        guard FileManager.default.fileExists(atPath: "/usr/bin/openssl") else {
            Issue.record("openssl not installed; TLS case skipped")
            return
        }
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let cert = try NIOSSLCertificate.fromPEMFile(dir.path("cert.pem"))
        let key = try NIOSSLPrivateKey(file: dir.path("key.pem"), format: .pem)
        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: cert.map { .certificate($0) }, privateKey: .privateKey(key)))
        let server = try FakeAPIServer(tls: tls)
        defer { server.shutdown() }
        serveFixtures(server)
        let ca = try Data(contentsOf: URL(fileURLWithPath: dir.path("cert.pem"))).base64EncodedString()
        dir.write(
            "kubeconfig",
            """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters:
            - name: other
              cluster: {server: "https://192.0.2.1:6443"}
            - name: fake
              cluster:
                server: \(server.url)
                certificate-authority-data: \(ca)
            contexts:
            - name: test
              context: {cluster: fake, user: tester}
            users:
            - name: tester
              user: {token: tls-token}
            """)
        let endpoints = Endpoints(config: kubeConfig(.kubeconfig(path: dir.path("kubeconfig"))), logger: quietLogger)
        try await endpoints.start()
        #expect(await endpoints.waitUntilSynced(timeout: .seconds(10)))
        #expect(endpoints.resolver.lookup(ip("10.244.2.30"))?.podName == "db-0")
        #expect(server.requests(KubePaths.pods).first?.headers.contains { $0.1 == "Bearer tls-token" } == true)
        await endpoints.stop()

        // The same server with a CA that did not sign it: no sync, counted as connect errors.
        dir.write(
            "kubeconfig2",
            """
            current-context: t
            clusters: [{name: c, cluster: {server: "\(server.url)"}}]
            contexts: [{name: t, context: {cluster: c, user: u}}]
            users: [{name: u, user: {token: x}}]
            """)
        let untrusted = Endpoints(config: kubeConfig(.kubeconfig(path: dir.path("kubeconfig2"))), logger: quietLogger)
        try await untrusted.start()
        #expect(await untrusted.waitUntilSynced(timeout: .milliseconds(800)) == false)
        #expect(errorCount(untrusted, "connect") >= 1)
        await untrusted.stop()
    }

    @Test func unreachableServerIsRetriedNotFatal() async throws {
        // A port nobody listens on (bound then closed).
        let server = try FakeAPIServer()
        let url = server.url
        server.shutdown()
        let endpoints = Endpoints(config: kubeConfig(.credentials(KubeCredentials(server: url))), logger: quietLogger)
        try await endpoints.start()
        #expect(await endpoints.waitUntilSynced(timeout: .milliseconds(500)) == false)
        #expect(errorCount(endpoints, "connect") >= 1)
        let synced = endpoints.selfMetrics().first { $0.name == "spyglass_endpoints_source_synced" }!
        #expect(synced.samples.contains(.init(labels: ["source": "kubernetes"], value: 0)))
        await endpoints.stop()
    }
}

@Suite struct KubeCredentialsTests {
    @Test func kubeconfigSubset() throws {
        let dir = TempDir()
        dir.write("ca.crt", "CA")
        dir.write("client.crt", "CERT")
        dir.write("client.key", "KEY")
        dir.write(
            "config",
            """
            apiVersion: v1
            kind: Config
            current-context: dev
            clusters:
            - name: dev-cluster
              cluster:
                server: https://10.0.0.1:6443/
                certificate-authority: ca.crt
            - name: prod-cluster
              cluster:
                server: https://prod:6443
                insecure-skip-tls-verify: true
            contexts:
            - name: dev
              context: {cluster: dev-cluster, user: dev-user}
            - name: prod
              context: {cluster: prod-cluster, user: exec-user}
            - name: data
              context: {cluster: prod-cluster, user: data-user}
            users:
            - name: dev-user
              user: {client-certificate: client.crt, client-key: \(dir.path("client.key"))}
            - name: exec-user
              user:
                exec: {command: aws, args: [eks, get-token]}
            - name: data-user
              user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ, token: abc}
            """)
        let dev = try KubeCredentials.kubeconfig(path: dir.path("config"))
        #expect(dev.server == "https://10.0.0.1:6443")
        #expect(dev.certificateAuthority == Array("CA".utf8))
        #expect(dev.clientCertificate == Array("CERT".utf8))
        #expect(dev.clientKey == Array("KEY".utf8))
        #expect(dev.insecureSkipTLSVerify == false)
        let data = try KubeCredentials.kubeconfig(path: dir.path("config"), context: "data")
        #expect(data.clientCertificate == Array("CERT".utf8) && data.clientKey == Array("KEY".utf8))
        #expect(data.token == "abc" && data.insecureSkipTLSVerify)
        #expect(throws: KubeConfigError.self) {
            try KubeCredentials.kubeconfig(path: dir.path("config"), context: "prod")
        }
        do {
            _ = try KubeCredentials.kubeconfig(path: dir.path("config"), context: "prod")
        } catch {
            #expect(error.description.contains("exec/auth-provider"))
        }
        #expect(throws: KubeConfigError.self) {
            try KubeCredentials.kubeconfig(path: dir.path("config"), context: "nope")
        }
        #expect(throws: KubeConfigError.self) { try KubeCredentials.kubeconfig(path: dir.path("missing")) }
    }

    @Test func inCluster() throws {
        let dir = TempDir()
        dir.write("token", "sa-token\n")
        dir.write("ca.crt", "CA")
        let c = try KubeCredentials.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"],
            directory: dir.url.path)
        #expect(c.server == "https://[fd00::1]:443")
        #expect(c.currentToken() == "sa-token")
        dir.write("token", "rotated")
        #expect(c.currentToken() == "rotated")
        #expect(c.certificateAuthority == Array("CA".utf8))
        #expect(throws: KubeConfigError.self) {
            try KubeCredentials.inCluster(environment: [:], directory: dir.url.path)
        }
    }

    /// A pod without the cluster's CA must not fall back to the system trust store.
    @Test func inClusterWithoutCAFailsClearly() throws {
        let dir = TempDir()
        dir.write("token", "sa-token\n")
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        do {
            _ = try KubeCredentials.inCluster(environment: env, directory: dir.url.path)
            Issue.record("in-cluster credentials without ca.crt were accepted")
        } catch {
            #expect(
                error.description.contains("ca.crt") && error.description.contains("system trust store"), "\(error)")
        }
        dir.write("ca.crt", "")
        #expect(throws: KubeConfigError.self) {
            try KubeCredentials.inCluster(environment: env, directory: dir.url.path)
        }
    }
}

/// Log lines captured from the Endpoints under test.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [(Logger.Level, String)] = []
    func add(_ level: Logger.Level, _ message: String) { lock.withLock { lines.append((level, message)) } }
    var warnings: [String] { lock.withLock { lines.filter { $0.0 == .warning }.map(\.1) } }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(
            level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
            function: String, line: UInt
        ) {
            log.add(level, message.description)
        }
    }
    var logger: Logger { Logger(label: "captured") { _ in Handler(log: self) } }
}

/// What the client refuses and warns about, against the fake API server.
@Suite(.serialized) struct KubeTransportSafetyTests {
    @Test func bearerTokenIsNeverSentOverPlainHTTP() async throws {
        let server = try FakeAPIServer()
        defer { server.shutdown() }
        serveFixtures(server)
        for creds in [
            KubeCredentials(server: server.url, token: "plain-token"),
            KubeCredentials(server: server.url, tokenFile: "/dev/null")
        ] {
            let endpoints = Endpoints(config: kubeConfig(.credentials(creds)), logger: quietLogger)
            do {
                try await endpoints.start()
                await endpoints.stop()
                Issue.record("started with a token over \(server.url)")
            } catch let error as KubeConfigError {
                #expect(error.description.contains("http://") && error.description.contains("token"), "\(error)")
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.requests(KubePaths.pods).isEmpty, "nothing was sent")
    }

    @Test(.timeLimit(.minutes(1))) func insecureSkipTLSVerifyWarns() async throws {
        let dir = TempDir()
        guard FileManager.default.fileExists(atPath: "/usr/bin/openssl") else {
            Issue.record("openssl not installed")
            return
        }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            dir.path("key.pem"),
            "-out", dir.path("cert.pem"), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1"
        ]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)
        let cert = try NIOSSLCertificate.fromPEMFile(dir.path("cert.pem"))
        let key = try NIOSSLPrivateKey(file: dir.path("key.pem"), format: .pem)
        let tls = try NIOSSLContext(
            configuration: .makeServerConfiguration(
                certificateChain: cert.map { .certificate($0) }, privateKey: .privateKey(key)))
        let server = try FakeAPIServer(tls: tls)
        defer { server.shutdown() }
        serveFixtures(server)
        dir.write(
            "kubeconfig",
            """
            current-context: t
            clusters: [{name: c, cluster: {server: "\(server.url)", insecure-skip-tls-verify: true}}]
            contexts: [{name: t, context: {cluster: c, user: u}}]
            users: [{name: u, user: {token: skip-token}}]
            """)
        let log = CapturedLog()
        let endpoints = Endpoints(config: kubeConfig(.kubeconfig(path: dir.path("kubeconfig"))), logger: log.logger)
        try await endpoints.start()
        #expect(await endpoints.waitUntilSynced(timeout: .seconds(10)), "it still works")
        await endpoints.stop()
        #expect(log.warnings.contains { $0.contains("insecure-skip-tls-verify") }, "\(log.warnings)")
    }
}
