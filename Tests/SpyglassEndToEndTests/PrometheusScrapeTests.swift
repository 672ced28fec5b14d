import Foundation
import SpyglassFlow
import SpyglassMetrics
import SpyglassServer
import SpyglassTesting
import Testing

@testable import SpyglassAgent

/// A real Prometheus (Debian's 2.42, `--enable-feature=exemplar-storage`) scrapes a `MetricsServer` serving a
/// `MetricsEngine` through the agent's own `MetricsEndpoint` (OpenMetrics enabled), every second. Every default family
/// must reach Prometheus' TSDB, and the httpV2 exemplar's trace ID must come back from `/api/v1/query_exemplars`.
///
/// Without `/usr/bin/prometheus` the test is skipped with the reason below; under `CI=true` it always runs (and fails
/// when Prometheus is missing).
@Suite(.enabled(if: PrometheusGate.enabled, PrometheusGate.reason), .serialized)
struct PrometheusScrapeTests {
    static let binary = PrometheusGate.binary

    /// Families of the default handlers (`MetricsConfig.defaultSpec`) and the internal ones the test feeds, as
    /// Prometheus stores them (histograms by their `_bucket` series).
    static let families = [
        "hubble_dns_queries_total", "hubble_dns_responses_total", "hubble_dns_response_types_total",
        "hubble_drop_total", "hubble_tcp_flags_total", "hubble_flows_processed_total",
        "hubble_port_distribution_total", "hubble_icmp_total",
        "hubble_http_requests_total", "hubble_http_request_duration_seconds_bucket",
        "hubble_lost_events_total", "hubble_metrics_http_handler_requests_total"
    ]
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    @Test(.timeLimit(.minutes(1)))
    func prometheusScrapesEveryDefaultFamilyWithExemplars() async throws {
        try #require(FileManager.default.fileExists(atPath: Self.binary), "CI=true but \(Self.binary) is missing")
        let (config, warnings) = try MetricsConfig.parse(
            MetricsConfig.defaultSpec.replacingOccurrences(of: "httpV2", with: "httpV2:exemplars=true"))
        #expect(warnings.isEmpty)
        let engine = MetricsEngine(config: config)
        // Test hook: fixture flows go straight into the engine. Live L7 (DNS/HTTP) traffic from the datapath arrives
        // with the L7 issue; until then the L7 families are fed here.
        let now = Date().timeIntervalSince1970
        let flows = Self.fixtureFlows(at: Timestamp(seconds: Int64(now), nanos: 0))
        for f in flows { engine.process(f) }
        engine.addLost(source: "perf_event_ring_buffer", count: 3)

        let server = try MetricsServer(
            address: "127.0.0.1:0", provider: MetricsEndpoint(engine: engine, openMetrics: true))
        let bound = try await server.start()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spyglass-prometheus-\(UUID().uuidString)")
        var prometheus: PrometheusProcess?
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let p = try PrometheusProcess.start(dir: dir, target: "127.0.0.1:\(bound.port)")
            prometheus = p
            try await check(p, flowCount: flows.count, since: now)
        } catch {
            prometheus?.dumpLog()
            prometheus?.stop()
            try? FileManager.default.removeItem(at: dir)
            await server.shutdown()
            throw error
        }
        prometheus?.stop()
        try? FileManager.default.removeItem(at: dir)
        await server.shutdown()
    }

    func check(_ p: PrometheusProcess, flowCount: Int, since start: Double) async throws {
        // The first scrape lands a few seconds after start (Prometheus spreads targets over the interval).
        let deadline = ContinuousClock.now + .seconds(20)
        var missing = Self.families
        while !missing.isEmpty && ContinuousClock.now < deadline {
            missing = try missing.filter { try p.query("count(\($0))").isEmpty }
            if !missing.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(missing.isEmpty, "families without data in Prometheus after 20 s: \(missing)")
        guard missing.isEmpty else { return }

        let flows = try p.query("sum(hubble_flows_processed_total)")
        #expect(flows.first.flatMap(Self.sampleValue) == Double(flowCount), "hubble_flows_processed_total: \(flows)")
        let http = try p.query("sum(hubble_http_requests_total)")
        #expect(http.first.flatMap(Self.sampleValue) == 1, "hubble_http_requests_total: \(http)")
        let up = try p.query("up")
        #expect(up.first.flatMap(Self.sampleValue) == 1, "up: \(up)")

        // Exemplars: stored only from OpenMetrics scrapes, so their presence also proves the negotiation.
        var traceIDs: Set<String> = []
        let exemplarDeadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < exemplarDeadline {
            for family in ["hubble_http_requests_total", "hubble_http_request_duration_seconds_bucket"] {
                traceIDs.formUnion(
                    try p.exemplarTraceIDs(family, start: start - 60, end: Date().timeIntervalSince1970 + 60))
            }
            if traceIDs.contains(Self.traceID) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(traceIDs == [Self.traceID], "exemplar trace IDs from /api/v1/query_exemplars: \(traceIDs)")
    }

    static func sampleValue(_ result: [String: Any]) -> Double? {
        (result["value"] as? [Any])?.last.flatMap { $0 as? String }.flatMap(Double.init)
    }

    // MARK: Fixtures

    /// One flow or more for every default handler; all stamped `time` (exemplar timestamps come from it).
    static func fixtureFlows(at time: Timestamp) -> [Flow] {
        let client = Endpoint(
            id: 101, identity: 12345, namespace: "default", labels: ["k8s:app=client"], podName: "client-1",
            workloads: [Workload(name: "client", kind: "Deployment")])
        let server = Endpoint(
            id: 202, identity: 23456, namespace: "shop", labels: ["k8s:app=web"], podName: "web-1",
            workloads: [Workload(name: "web", kind: "Deployment")])
        let c = IPAddress("10.0.0.1")!, s = IPAddress("10.0.1.2")!, d = IPAddress("10.0.2.10")!
        let v4 = { (a: IPAddress, b: IPAddress) in IPHeader(source: a, destination: b, ipVersion: .ipv4) }
        let trace = CiliumEventType(type: CiliumEventType.trace, subType: 0)
        let accessLog = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)
        return [
            Flow(
                time: time, verdict: .forwarded, ip: v4(c, s),
                l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.syn])), source: client,
                destination: server, type: .l3L4, eventType: trace, trafficDirection: .egress, isReply: false),
            Flow(
                time: time, verdict: .forwarded, ip: v4(c, s), l4: .icmpv4(ICMP(type: 8, code: 0)), source: client,
                destination: server, type: .l3L4, eventType: trace, trafficDirection: .egress, isReply: false),
            Flow(
                time: time, verdict: .dropped, dropReasonDesc: .policyDenied, ip: v4(c, s),
                l4: .tcp(TCP(sourcePort: 43211, destinationPort: 25, flags: [.syn])), source: client,
                destination: server, type: .l3L4, eventType: CiliumEventType(type: CiliumEventType.drop, subType: 133),
                trafficDirection: .egress, isReply: false),
            Flow(
                time: time, verdict: .forwarded, ip: v4(c, d), l4: .udp(UDP(sourcePort: 40001, destinationPort: 53)),
                source: client, type: .l7,
                l7: Layer7(type: .request, record: .dns(DNS(query: "example.com.", qtypes: ["A"]))),
                eventType: accessLog, trafficDirection: .egress, isReply: false),
            Flow(
                time: time, verdict: .forwarded, ip: v4(d, c), l4: .udp(UDP(sourcePort: 53, destinationPort: 40001)),
                destination: client, type: .l7,
                l7: Layer7(
                    type: .response, latencyNs: 1_000_000,
                    record: .dns(
                        DNS(
                            query: "example.com.", ips: ["93.184.216.34"], ttl: 300, rcode: 0, qtypes: ["A"],
                            rrtypes: ["A"]))),
                eventType: accessLog, trafficDirection: .egress, isReply: true),
            Flow(
                time: time, verdict: .forwarded, ip: v4(s, c), l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210)),
                source: server, destination: client, type: .l7,
                l7: Layer7(
                    type: .response, latencyNs: 12_000_000,
                    record: .http(HTTP(code: 200, method: "GET", url: "http://web.shop/", protocol: "HTTP/1.1"))),
                eventType: accessLog, trafficDirection: .egress, isReply: true,
                traceContext: TraceContext(traceID: traceID))
        ]
    }
}

/// Like `KernelTestGate`: skipped (with the reason printed) without the binary, never skipped under `CI=true`.
enum PrometheusGate {
    static let binary = "/usr/bin/prometheus"
    static var enabled: Bool {
        let present = FileManager.default.fileExists(atPath: binary)
        if !present && !KernelTestGate.isCI { print("PrometheusScrapeTests skipped: \(reason)") }
        return present || KernelTestGate.isCI
    }
    static let reason: Comment =
        "needs Debian's prometheus at /usr/bin/prometheus (apt install prometheus); under CI=true it always runs"
}

/// A Prometheus server on loopback with its own temporary TSDB, scraping one target every second.
final class PrometheusProcess {
    let process = Process()
    let port: Int
    let logURL: URL

    static func start(dir: URL, target: String) throws -> PrometheusProcess {
        let config = dir.appendingPathComponent("prometheus.yml")
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
          evaluation_interval: 1s
        scrape_configs:
          - job_name: spyglass
            static_configs:
              - targets: ['\(target)']
        """.write(to: config, atomically: true, encoding: .utf8)
        let p = try PrometheusProcess(dir: dir, config: config)
        // Ready within 15 s or fail.
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if !p.process.isRunning {
                throw PrometheusError("prometheus exited with status \(p.process.terminationStatus)")
            }
            if (try? curlGet("http://127.0.0.1:\(p.port)/-/ready", timeout: 1))?.contains("Ready") == true { return p }
            Thread.sleep(forTimeInterval: 0.2)
        }
        p.stop()
        throw PrometheusError("prometheus did not become ready on port \(p.port) within 15 s")
    }

    private init(dir: URL, config: URL) throws {
        port = try PrometheusProcess.freePort()
        logURL = dir.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: PrometheusScrapeTests.binary)
        process.arguments = [
            "--config.file=\(config.path)",
            "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
            "--web.listen-address=127.0.0.1:\(port)",
            "--enable-feature=exemplar-storage",
            "--log.level=warn"
        ]
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// SIGTERM, then SIGKILL after 5 s; waits for the exit.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    func dumpLog() {
        let text = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        print("prometheus log (last 40 lines):\n" + text.split(separator: "\n").suffix(40).joined(separator: "\n"))
    }

    /// `/api/v1/query`: the instant vector's results (`metric`, `value`).
    func query(_ promQL: String) throws -> [[String: Any]] {
        let data = try api("query", ["query": promQL])
        return (data as? [String: Any])?["result"] as? [[String: Any]] ?? []
    }

    /// `/api/v1/query_exemplars`: every exemplar's `traceID` label.
    func exemplarTraceIDs(_ promQL: String, start: Double, end: Double) throws -> Set<String> {
        let data = try api("query_exemplars", ["query": promQL, "start": String(start), "end": String(end)])
        var ids: Set<String> = []
        for series in data as? [[String: Any]] ?? [] {
            for e in series["exemplars"] as? [[String: Any]] ?? [] {
                if let id = (e["labels"] as? [String: String])?["traceID"] { ids.insert(id) }
            }
        }
        return ids
    }

    private func api(_ endpoint: String, _ params: [String: String]) throws -> Any? {
        var c = URLComponents(string: "http://127.0.0.1:\(port)/api/v1/\(endpoint)")!
        c.queryItems = params.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        // URLComponents leaves '+' alone; PromQL needs it escaped in a query string.
        let url = c.url!.absoluteString.replacingOccurrences(of: "+", with: "%2B")
        let body = try curlGet(url, timeout: 5)
        guard let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            json["status"] as? String == "success"
        else {
            throw PrometheusError("\(endpoint) \(params): \(body.prefix(300))")
        }
        return json["data"]
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PrometheusError("socket: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else { throw PrometheusError("bind: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

struct PrometheusError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
