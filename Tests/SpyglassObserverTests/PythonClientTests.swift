import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import SpyglassAPI
import SpyglassObserver
import SpyglassTesting
import Testing

/// A second, independent client: Python grpcio with message classes that protoc generates from Protos/ at test
/// time (Debian's python3-grpcio, python3-protobuf and protobuf-compiler, from scripts/install-deps.sh, run with
/// Debian's /usr/bin/python3). Over the unix socket and over TCP with mTLS.
@Suite(.serialized) struct PythonClientTests {
    static let python = "/usr/bin/python3"
    static let protoc = "/usr/bin/protoc"
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Scripts/hubble_client.py"
    ).path

    static var toolsPresent: Bool {
        FileManager.default.isExecutableFile(atPath: protoc)
            && run(python, ["-c", "import grpc, google.protobuf"]).status == 0
    }

    static func run(_ exe: String, _ args: [String]) -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardInput = FileHandle.nullDevice  // s_client ends at end of input
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// protoc --python_out into a fresh directory.
    static func stubs() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-pystubs-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let protos = repo.appendingPathComponent("Protos").path
        let r = run(
            protoc,
            [
                "-I", protos, "--python_out=\(dir)", "flow/flow.proto", "relay/relay.proto", "observer/observer.proto",
                "peer/peer.proto"
            ])
        try #require(r.status == 0, "protoc: \(r.err)")
        return dir
    }

    func check(_ json: [String: Any]) throws {
        let status = try #require(json["status"] as? [String: Any])
        #expect(status["seen_flows"] as? Int == 40)
        #expect(status["max_flows"] as? Int == 4095)
        let last = try #require(json["last"] as? [[String: Any]])
        #expect(last.count == 5)
        let lastFlow = try #require(last.last?["flow"] as? [String: Any])
        // Flow 39 is the DNS answer: Hubble's field names and enum names as a protobuf-python client decodes them.
        #expect(lastFlow["Type"] as? String == "L7")
        #expect(
            lastFlow["Summary"] as? String
                == "DNS Answer \"10.199.0.10\" TTL: 30 (Proxy deathstar.default.svc.cluster.local. A)")
        #expect((lastFlow["l7"] as? [String: Any])?["type"] as? String == "RESPONSE")
        #expect((lastFlow["source"] as? [String: Any])?["pod_name"] as? String == "kube-dns")
        let drops = try #require(json["drops"] as? [[String: Any]])
        #expect(drops.count == 10)
        for d in drops {
            #expect(d["pod"] as? String == "xwing")
            #expect(d["verdict"] as? String == "DROPPED")
            #expect(d["reason"] as? String == "POLICY_DENIED")
            #expect(d["summary"] as? String == "TCP Flags: SYN")
        }
        #expect(json["bad_request"] as? String == "INVALID_ARGUMENT")
        let peer = try #require(json["peer"] as? [String: Any])
        #expect(peer["name"] as? String == SeedFlows.node)
        #expect(peer["type"] as? String == "PEER_ADDED")
    }

    @Test func pythonOverUnixSocket() async throws {
        guard Self.toolsPresent else {
            try #require(
                ProcessInfo.processInfo.environment["CI"] != "true", "python3-grpcio/protobuf-compiler missing under CI"
            )
            print("skipped: /usr/bin/python3 with grpc and protoc are needed (scripts/install-deps.sh)")
            return
        }
        let s = try await TestServer()
        defer { Task { await s.stop() } }
        for i in 0..<40 { s.ring.append(SeedFlows.flow(i)) }
        let stubs = try Self.stubs()
        defer { try? FileManager.default.removeItem(atPath: stubs) }
        let r = Self.run(Self.python, [Self.script, stubs, "unix://\(s.socketPath)"])
        try #require(r.status == 0, "python client: \(r.err)")
        try check(try #require(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]))
    }

    @Test func pythonAndSwiftOverTCPWithMutualTLS() async throws {
        guard Self.toolsPresent, TestPKI.toolsPresent else {
            try #require(ProcessInfo.processInfo.environment["CI"] != "true", "tools missing under CI")
            print("skipped: python3-grpcio, protoc and openssl are needed (scripts/install-deps.sh)")
            return
        }
        let pki = try TestPKI()
        defer { pki.remove() }
        let s = try await TestServer(
            listenAddress: "127.0.0.1:0",
            tls: .init(certFile: pki.serverCert, keyFile: pki.serverKey, clientCAFiles: [pki.caCert]))
        defer { Task { await s.stop() } }
        for i in 0..<40 { s.ring.append(SeedFlows.flow(i)) }
        let port = s.server.tcpPort
        #expect(port > 0)
        let stubs = try Self.stubs()
        defer { try? FileManager.default.removeItem(atPath: stubs) }

        // Python with a client certificate from the trusted CA.
        let ok = Self.run(
            Self.python,
            [
                Self.script, stubs, "127.0.0.1:\(port)", "--ca", pki.caCert, "--cert", pki.clientCert,
                "--key", pki.clientKey, "--server-name", "localhost"
            ])
        try #require(ok.status == 0, "python mTLS client: \(ok.err)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(ok.out.utf8)) as? [String: Any])
        try check(json)
        #expect(
            (json["peer"] as? [String: Any])?["tls_server_name"] as? String
                == "kind-worker.kind-kind.hubble-grpc.cilium.io")

        // Without a client certificate, and with one from another CA: refused.
        let noCert = Self.run(
            Self.python, [Self.script, stubs, "127.0.0.1:\(port)", "--ca", pki.caCert, "--server-name", "localhost"])
        #expect(noCert.status != 0)
        let otherCA = Self.run(
            Self.python,
            [
                Self.script, stubs, "127.0.0.1:\(port)", "--ca", pki.caCert, "--cert", pki.otherClientCert,
                "--key", pki.otherClientKey, "--server-name", "localhost"
            ])
        #expect(otherCA.status != 0)

        // The Swift client (what `spyglass observe --tls` uses) with the trusted client certificate.
        let target = HubbleClientTarget(
            server: "127.0.0.1:\(port)", tls: true, tlsServerName: "localhost", caFiles: [pki.caCert],
            clientCertFile: pki.clientCert, clientKeyFile: pki.clientKey)
        var r = Observer_GetFlowsRequest()
        r.number = 3
        let got = try await getFlows(try target.transport(), r)
        #expect(got.count == 3)
        // TLS 1.3 only: a TLS 1.2 handshake is refused, TLS 1.3 is accepted (openssl s_client).
        let tls12 = Self.run(
            TestPKI.openssl,
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-tls1_2", "-CAfile", pki.caCert,
                "-cert", pki.clientCert, "-key", pki.clientKey
            ])
        #expect(tls12.status != 0, "TLS 1.2 must be refused: \(tls12.out.prefix(300))")
        let tls13 = Self.run(
            TestPKI.openssl,
            [
                "s_client", "-connect", "127.0.0.1:\(port)", "-tls1_3", "-CAfile", pki.caCert,
                "-cert", pki.clientCert, "-key", pki.clientKey
            ])
        #expect(tls13.out.contains("TLSv1.3"), "\(tls13.out.prefix(300))")
        // Plaintext against the TLS port fails.
        let plain = HubbleClientTarget(server: "127.0.0.1:\(port)")
        await #expect(throws: (any Error).self) { _ = try await getFlows(try plain.transport(), r) }
    }
}
