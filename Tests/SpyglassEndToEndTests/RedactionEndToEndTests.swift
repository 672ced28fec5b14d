import Foundation
import SpyglassAgent
import SpyglassExport
import SpyglassFlow
import SpyglassLab
import SpyglassTesting
import Testing

/// Credential headers sent by curl over real HTTP through the real agent into its flow log: by default the deny
/// list redacts every credential header the README names; with an allow list only the listed headers keep values.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct RedactionEndToEndTests {
    /// Header → secret value. Every one of them must be redacted by default.
    static let credentials: [(String, String)] = [
        ("Authorization", "Bearer s3cr3t-bearer"), ("Proxy-Authorization", "Basic cHJveHktc2VjcmV0"),
        ("Cookie", "session=c00kie-value"), ("X-Api-Key", "api-key-value-1"), ("X-Auth-Token", "auth-token-value-2"),
        ("X-Amz-Security-Token", "amz-session-token-3"), ("X-Vault-Token", "hvs.vault-token-4"),
        ("Private-Token", "glpat-private-token-5"), ("X-Goog-Api-Key", "goog-api-key-6"),
        ("X-Csrf-Token", "csrf-token-value-7"), ("X-Client-Secret", "client-secret-value-8"),
        ("X-Session-Id", "session-id-value-9"), ("X-Amz-Signature", "amz-signature-value-10")
    ]
    /// Ordinary headers keep their values by default.
    static let ordinary: [(String, String)] = [("X-Request-Id", "req-ordinary-1"), ("X-Tenant", "tenant-ordinary-2")]

    /// Sends one request with every header through the agent and returns the flow log's text.
    func flowLog(_ l7: L7Config, subnet: Int) async throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-redact-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.\(subnet).2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.\(subnet).3/24")
            let server = try await startHTTPServer(lab, in: web)
            defer { _ = server.terminate() }
            var c = AgentConfig()
            c.interfaces = [client.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.l7 = l7
            c.staticExport = StaticExporterConfig(filePath: path)
            try await withStartedAgent(c) { agent in
                var args = ["curl", "-s", "-o", "/dev/null"]
                for (k, v) in Self.credentials + Self.ordinary { args += ["-H", "\(k): \(v)"] }
                let r = try lab.run(in: client, args + ["http://\(web.ipv4):8080/ok"])
                #expect(r.succeeded, "\(r)")
                let m = try scrapeMetrics(agent.serverPort) {
                    $0.value("spyglass_flows_processed_total", ["kind": "l7"]) >= 2
                }
                #expect(m.value("spyglass_flows_processed_total", ["kind": "l7"]) >= 2)
            }
        }
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    /// The request flow's headers from the flow log, key → value.
    func requestHeaders(_ log: String) throws -> [String: String] {
        for line in log.split(separator: "\n") where line.contains("\"X-Request-Id\"") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let flow = object?["flow"] as? [String: Any]
            let http = (flow?["l7"] as? [String: Any])?["http"] as? [String: Any]
            let headers = http?["headers"] as? [[String: Any]] ?? []
            return Dictionary(
                headers.map { ($0["key"] as? String ?? "", $0["value"] as? String ?? "") },
                uniquingKeysWith: { a, _ in a })
        }
        Issue.record("no request flow with headers in: \(log.prefix(2000))")
        return [:]
    }

    @Test func defaultDenyListRedactsCredentialHeaders() async throws {
        let log = try await flowLog(L7Config(), subnet: 64)
        let headers = try requestHeaders(log)
        for (key, secret) in Self.credentials {
            #expect(headers[key] == L7Config.redactedValue, "\(key): \(headers[key] ?? "missing")")
            #expect(!log.contains(secret), "\(key)'s value reached the flow log")
        }
        for (key, value) in Self.ordinary {
            #expect(headers[key] == value, "\(key) is kept by default")
        }
    }

    @Test func allowListKeepsOnlyTheListedHeaders() async throws {
        let log = try await flowLog(L7Config(headerAllowList: ["x-request-id", "Host"]), subnet: 65)
        let headers = try requestHeaders(log)
        #expect(headers["X-Request-Id"] == "req-ordinary-1")
        #expect(headers["Host"]?.hasPrefix("10.199.65.3") == true)
        #expect(headers["X-Tenant"] == L7Config.redactedValue, "not listed: redacted")
        #expect(headers["User-Agent"] == L7Config.redactedValue)
        for (key, secret) in Self.credentials {
            #expect(headers[key] == L7Config.redactedValue, "\(key)")
            #expect(!log.contains(secret), "\(key)'s value reached the flow log")
        }
    }
}
