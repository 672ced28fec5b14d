import SpyglassLab
import Testing

/// The demo's HTTP server in `pod` on `port`, returned once it has answered (a bounded wait); the caller terminates
/// it when done.
func startHTTPServer(_ lab: NetworkLab, in pod: Pod, port: Int = 8080) async throws -> LabProcess {
    let server = try lab.spawn(
        in: pod, ["python3", "-c", DemoScripts.httpServer, pod.ipv4, "\(port)"], timeout: .seconds(120))
    let up = try await lab.run(
        inNamespace: pod.namespace,
        [
            "bash", "-c",
            "for i in $(seq 1 50); do curl -s -o /dev/null http://\(pod.ipv4):\(port)/ok && exit 0; sleep 0.1; done; exit 1"
        ], timeout: .seconds(10))
    if !up.succeeded { _ = server.terminate() }
    try #require(up.succeeded, "HTTP server did not come up: \(server.stderr)")
    return server
}

/// The exchange the HTTP tests count, against the demo server at `base`: one keep-alive connection with three GETs
/// (200, 404, 500), then a POST (200), with `traceparent` when given.
func runLandingExchange(_ lab: NetworkLab, from client: Pod, base: String, traceparent: String? = nil) throws {
    let gets = try lab.run(
        in: client,
        [
            "curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
            "\(base)/ok", "\(base)/missing", "\(base)/boom"
        ])
    #expect(gets.succeeded, "\(gets)")
    let header = traceparent.map { ["-H", "traceparent: \($0)"] } ?? []
    let post = try lab.run(
        in: client,
        ["curl", "-s", "-o", "/dev/null", "-X", "POST", "-d", "ship=tiefighter"] + header
            + ["\(base)/v1/request-landing"])
    #expect(post.succeeded, "\(post)")
}
