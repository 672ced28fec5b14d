import Foundation
import SpyglassTesting
import Testing

/// Every flag of `spyglass run` with a bad value stops start-up: non-zero status and one `Error:` line that names
/// the flag (issue #10, part 6). Rows already in `CommandLineTests.badFlagsStopStartUpNamingTheFlag` are not
/// repeated. Each run is bounded by `--duration`, so a value that is wrongly accepted fails the row, not the suite.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct FlagValidationTests {
    /// Files the rows point at: made before each case and removed after it (nothing is left behind).
    static let files = (
        dir: FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-flags-\(getpid())").path,
        badYAML: FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-flags-\(getpid())/bad.yaml")
            .path,
        emptyDir: FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-flags-\(getpid())/empty")
            .path,
        // Root reads any file: an "unreadable" one is a file the agent cannot parse as the flag's format (and, as a
        // regular file, cannot be a directory to create a flow log in).
        unreadable: FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-flags-\(getpid())/binary")
            .path
    )

    static func makeFiles() throws {
        try FileManager.default.createDirectory(atPath: files.emptyDir, withIntermediateDirectories: true)
        try Data("metrics: [\n  - name: {\n".utf8).write(to: URL(fileURLWithPath: files.badYAML))
        try Data([0xff, 0xfe, 0x00, 0x01]).write(to: URL(fileURLWithPath: files.unreadable))
    }

    static let rows: [([String], String)] = [
        // --devices: Cilium's syntax (names, a trailing '+' wildcard)
        (["--devices", "e+th"], "--devices"),
        (["--devices", "eth0,,eth1"], "--devices"),
        (["--devices", "an-interface-name-too-long"], "--devices"),
        // numbers: not a number, negative, out of range
        (["--ring-buffer-size-mb", "eight"], "--ring-buffer-size-mb"),
        (["--ring-buffer-size-mb", "0"], "--ring-buffer-size-mb"),
        (["--ring-buffer-size-mb", "-8"], "--ring-buffer-size-mb"),
        (["--ring-buffer-size-mb", "2048"], "--ring-buffer-size-mb"),
        (["--snap-length", "-1"], "--snap-length"),
        (["--snap-length", "4096"], "--snap-length"),
        (["--l7-snap-length", "100"], "--l7-snap-length"),
        (["--l7-snap-length", "-5"], "--l7-snap-length"),
        (["--l7-memory-limit-mb", "3"], "--l7-memory-limit-mb"),
        (["--l7-memory-limit-mb", "lots"], "--l7-memory-limit-mb"),
        (["--hubble-metrics-max-series", "0"], "--hubble-metrics-max-series"),
        (["--hubble-metrics-max-series", "ten"], "--hubble-metrics-max-series"),
        (["--connection-table-size", "10"], "--connection-table-size"),
        (["--connection-table-size", "99999999999"], "--connection-table-size"),
        (["--event-queue-batches", "1"], "--event-queue-batches"),
        (["--event-queue-batches", "100000"], "--event-queue-batches"),
        (["--drop-rate-limit", "-1"], "--drop-rate-limit"),
        (["--dns-port", "0"], "--dns-port"),
        (["--dns-port", "70000"], "--dns-port"),
        (["--http-port", "-80"], "--http-port"),
        (["--http-port", "http"], "--http-port"),
        (["--hubble-export-file-max-size-mb", "-1"], "--hubble-export-file-max-size-mb"),
        (["--hubble-export-file-max-backups", "-1"], "--hubble-export-file-max-backups"),
        (["--hubble-export-queue-size", "0"], "--hubble-export-queue-size"),
        // booleans
        (["--enable-hubble-open-metrics", "yes"], "--enable-hubble-open-metrics"),
        (["--http-detect", "maybe"], "--http-detect"),
        (["--l7-parsing", "2"], "--l7-parsing"),
        (["--l7-body-skip", "sometimes"], "--l7-body-skip"),
        (["--drop-events", "nope"], "--drop-events"),
        (["--hubble-redact-http-urlquery", "x"], "--hubble-redact-http-urlquery"),
        (["--hubble-redact-http-userinfo", "x"], "--hubble-redact-http-userinfo"),
        (["--hubble-export-file-compress", "x"], "--hubble-export-file-compress"),
        // durations
        (["--monitor-aggregation-interval", "0s"], "--monitor-aggregation-interval"),
        (["--monitor-aggregation-interval", "-5s"], "--monitor-aggregation-interval"),
        (["--hubble-metrics-series-ttl", "soon"], "--hubble-metrics-series-ttl"),
        (["--endpoint-departure-grace", "later"], "--endpoint-departure-grace"),
        (["--duration", "forever"], "--duration"),
        (["--duration", "0s"], "--duration"),
        // words
        (["--kubernetes", "maybe"], "--kubernetes"),
        (["--drop-scope", "some"], "--drop-scope"),
        (["--node-name", ""], "--node-name"),
        (
            ["--hubble-redact-http-headers-allow", "a", "--hubble-redact-http-headers-deny", "b"],
            "--hubble-redact-http-headers-allow"
        ),
        // interfaces that can never match
        (["--interface", ""], "--interface"),
        (["--interface", "a/b"], "--interface"),
        (["--interface", "averyveryverylongname0"], "--interface"),
        // listen addresses
        (["--hubble-metrics-server", "127.0.0.1:99999"], "--hubble-metrics-server"),
        (["--hubble-metrics-server", "localhost"], "--hubble-metrics-server"),
        (["--hubble-metrics-server", "300.1.1.1:9965"], "--hubble-metrics-server"),
        // metrics grammar
        (["--hubble-metrics", "flow:destinationContext=pod|bogus"], "bogus"),
        (["--hubble-metrics", "httpV2 http"], "http"),
        // files
        (["--hubble-dynamic-metrics-config-path", "/nonexistent/metrics.yaml"], "--hubble-dynamic-metrics-config-path"),
        (["--hubble-dynamic-metrics-config-path", files.badYAML], files.badYAML),
        (["--hubble-dynamic-metrics-config-path", files.emptyDir], "--hubble-dynamic-metrics-config-path"),
        (["--endpoints-file", "/nonexistent/endpoints.yaml"], "--endpoints-file"),
        (["--endpoints-file", files.badYAML], files.badYAML),
        (["--k8s-kubeconfig-path", "/nonexistent/kubeconfig"], "--k8s-kubeconfig-path"),
        (["--k8s-kubeconfig-path", files.unreadable], files.unreadable),
        (["--hubble-export-file-path", files.unreadable + "/sub/events.log"], "--hubble-export-file-path"),
        (["--hubble-export-file-path", files.emptyDir], "--hubble-export-file-path"),
        (
            ["--hubble-export-file-path", files.dir + "/e.log", "--hubble-export-allowlist", "{not json"],
            "--hubble-export-allowlist"
        ),
        (
            ["--hubble-export-file-path", files.dir + "/e.log", "--hubble-export-denylist", "{\"verdict\":[\"NOPE\"]}"],
            "--hubble-export-denylist"
        ),
        (
            ["--hubble-export-file-path", files.dir + "/e.log", "--hubble-export-fieldmask", "no.such.field"],
            "--hubble-export-fieldmask"
        ),
        (
            ["--hubble-export-file-path", files.dir + "/e.log", "--hubble-export-aggregation-interval", "often"],
            "--hubble-export-aggregation-interval"
        ),
        (
            ["--hubble-export-file-path", files.dir + "/e.log", "--hubble-export-file-mode", "999"],
            "--hubble-export-file-mode"
        )
    ]

    @Test(arguments: rows)
    func badValueStopsStartUpNamingIt(args: [String], named: String) throws {
        // Defaults that keep a wrongly accepted value harmless and bounded; the row's own flags come last and win.
        try Self.makeFiles()
        defer { try? FileManager.default.removeItem(atPath: Self.files.dir) }
        let base = ["run", "--interface", "lo", "--hubble-metrics-server", "127.0.0.1:0", "--duration", "3s"]
        let o = try CommandLineTests().spyglass(base + args, timeout: 20)
        #expect(o.status != 0, "accepted \(args): \(o.stderr)")
        let errors = CommandLineTests().errorLines(o)
        #expect(errors.count == 1, "\(args): \(o.stderr)")
        #expect(errors.first?.contains(named) == true, "\(args) → \(errors)")
    }

    /// A port another process holds: the agent gives up, names the flag, and leaves no hooks behind.
    @Test func metricsPortInUse() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                try #require(
                    bind(listener, sa, len) == 0 && listen(listener, 1) == 0 && getsockname(listener, sa, &len) == 0)
            }
        }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let o = try CommandLineTests().spyglass([
            "run", "--interface", "lo", "--hubble-metrics-server", "127.0.0.1:\(port)", "--duration", "3s"
        ])
        #expect(o.status != 0, "\(o.stderr)")
        let errors = CommandLineTests().errorLines(o)
        #expect(errors.count == 1 && errors.first?.contains("--hubble-metrics-server") == true, "\(o.stderr)")
    }
}
