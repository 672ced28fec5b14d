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
