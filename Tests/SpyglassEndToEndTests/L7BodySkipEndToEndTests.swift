import Foundation
import SpyglassAgent
import SpyglassExport
import SpyglassLab
import SpyglassTesting
import Testing

/// Large HTTP bodies through the real agent on two watched veths (client and server side): the kernel leaves the
/// segments wholly inside a counted body out of the L7 events once the parser has written the body's end, and
/// every exchange on the keep-alive connections is still counted with its status, URL and latency.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct L7BodySkipEndToEndTests {
    /// `python3 -c <script> ADDRESS PORT`: /big?n=N answers N body bytes with Content-Length, 16 KiB every 5 ms,
    /// /chunked?n=N answers N bytes in 16 KiB chunks at once, POST /upload reads its body and answers 201, /missing 404, /boom 500, anything else 200.
    static let server = """
        import sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        from urllib.parse import urlparse, parse_qs

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                url = urlparse(self.path)
                n = int(parse_qs(url.query).get("n", ["0"])[0])
                if url.path == "/chunked":
                    self.send_response(200)
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    while n > 0:
                        k = min(n, 16384)
                        self.wfile.write(b"%x\\r\\n" % k + b"c" * k + b"\\r\\n")
                        n -= k
                    self.wfile.write(b"0\\r\\n\\r\\n")
                    return
                if url.path == "/big":
                    # Paced as a server reading from disk or a backend: 16 KiB every 5 ms.
                    self.send_response(200)
                    self.send_header("Content-Length", str(n))
                    self.end_headers()
                    self.wfile.flush()
                    while n > 0:
                        k = min(n, 16384)
                        self.wfile.write(b"b" * k)
                        self.wfile.flush()
                        n -= k
                        time.sleep(0.005)
                    return
                code, body = {"/upload": (201, b"stored\\n"), "/missing": (404, b"no\\n"),
                              "/boom": (500, b"boom\\n")}.get(url.path, (200, b"ok\\n"))
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
        """

    /// (method, url, code, latency ns) of every HTTP response flow in the flow log.
    func responses(_ log: String) throws -> [(String, String, Int, UInt64)] {
        var out: [(String, String, Int, UInt64)] = []
        for line in log.split(separator: "\n") where line.contains("\"RESPONSE\"") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let l7 = (object?["flow"] as? [String: Any])?["l7"] as? [String: Any]
            guard let http = l7?["http"] as? [String: Any] else { continue }
            let latency = (l7?["latency_ns"] as? String).flatMap { UInt64($0) } ?? (l7?["latency_ns"] as? UInt64) ?? 0
            out.append(
                (http["method"] as? String ?? "", http["url"] as? String ?? "", http["code"] as? Int ?? 0, latency))
        }
        return out
    }

    @Test func largeBodiesAreLeftOutAndEveryExchangeIsCounted() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-l7skip-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let body = 2 << 20
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.87.2/24")
            let web = try lab.addPod(name: "web", ipv4: "10.199.87.3/24")
            let server = try lab.spawn(in: web, ["python3", "-c", Self.server, web.ipv4, "8080"])
            defer { _ = server.terminate() }
            let base = "http://\(web.ipv4):8080"
            let up = try await lab.run(
                inNamespace: client.namespace,
                [
                    "bash", "-c",
                    "for i in $(seq 1 50); do curl -s -o /dev/null \(base)/ok && exit 0; sleep 0.1; done; exit 1"
                ], timeout: .seconds(10))
            try #require(up.succeeded, "HTTP server did not come up: \(server.stderr)")

            var c = AgentConfig()
            c.interfaces = [client.hostInterface, web.hostInterface]
            c.metricsServer = "127.0.0.1:0"
            c.hubbleMetrics = "httpV2"
            c.staticExport = StaticExporterConfig(filePath: path)
            try await withStartedAgent(c) { agent in
                let t0 = Date()
                // One keep-alive connection: a 2 MiB response (paced), then three more requests, one answered chunked.
                let gets = try lab.run(
                    in: client,
                    ["curl", "-s"] + Array(repeating: ["-o", "/dev/null"], count: 4).flatMap { $0 } + [
                        "\(base)/big?n=\(body)", "\(base)/missing", "\(base)/chunked?n=65536", "\(base)/boom"
                    ], timeout: .seconds(30))
                #expect(gets.succeeded, "\(gets)")
                // Another: a 2 MiB upload at 8 MB/s (Content-Length, no 100-continue), then a GET.
                let upload = try lab.run(
                    in: client,
                    [
                        "bash", "-c",
                        "head -c \(body) /dev/zero | curl -s -o /dev/null -H 'Expect:' --limit-rate 8M --data-binary @- \(base)/upload"
                            + " --next -s -o /dev/null \(base)/after-upload"
                    ], timeout: .seconds(30))
                #expect(upload.succeeded, "\(upload)")
                let elapsed = Date().timeIntervalSince(t0)

                let name = "hubble_http_requests_total"
                let m = try scrapeMetrics(agent.serverPort) { Int($0.value(name)) >= 12 }
                for reporter in ["client", "server"] {
                    for (method, status, count) in [
                        ("GET", "200", 3), ("GET", "404", 1), ("GET", "500", 1), ("POST", "201", 1)
                    ] {
                        let labels = ["method": method, "status": status, "reporter": reporter]
                        #expect(Int(m.value(name, labels)) == count, "\(labels): \(m.series(name))")
                    }
                    let n = m.value("hubble_http_request_duration_seconds_count", ["reporter": reporter])
                    let sum = m.value("hubble_http_request_duration_seconds_sum", ["reporter": reporter])
                    #expect(n == 6)
                    #expect(sum > 0 && sum < elapsed, "latency sum \(sum) s, client time \(elapsed) s")
                }
                #expect(Int(m.value(name)) == 12)

                let stats = agent.datapathStats
                let l7Events = m.value("spyglass_l7_only_events_total")
                let skipped = Double(stats.l7BodySkipped)
                print(
                    "l7skip: packets=\(stats.packets) events=\(stats.events) body_skipped=\(stats.l7BodySkipped)"
                        + " l7_only_events=\(l7Events)")
                #expect(stats.l7BodySkipped > 0, "the kernel left body segments out")
                #expect(
                    m.value("spyglass_datapath_l7_body_segments_skipped_total") >= skipped,
                    "exported as spyglass_datapath_l7_body_segments_skipped_total")
                #expect(m.value("spyglass_datapath_l7_skip_write_failures_total") == 0)
                #expect(m.value("spyglass_l7_http_body_skips_total") > 0, "the parser wrote body parts")
                #expect(!m.series("spyglass_datapath_l7_skip_write_failures_total").isEmpty)
                // Both sites' parsers skipped by count what the one entry per direction left out at both.
                #expect(l7Events < skipped, "L7 events \(l7Events), body segments left out \(skipped)")
            }

            // Every response paired with its request's method and URL, with a latency, at both sites.
            let all = try responses(try String(contentsOfFile: path, encoding: .utf8))
            for (method, url, code) in [
                ("GET", "\(base)/big?n=\(body)", 200), ("GET", "\(base)/missing", 404),
                ("GET", "\(base)/chunked?n=65536", 200), ("GET", "\(base)/boom", 500),
                ("POST", "\(base)/upload", 201), ("GET", "\(base)/after-upload", 200)
            ] {
                let seen = all.filter { $0.0 == method && $0.1 == url && $0.2 == code }
                #expect(seen.count == 2, "\(method) \(url) \(code): \(all.map { "\($0.0) \($0.1) \($0.2)" })")
                #expect(seen.allSatisfy { $0.3 > 0 }, "latency of \(url)")
            }
        }
    }
}
