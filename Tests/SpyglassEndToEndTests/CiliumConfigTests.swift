import Foundation
import SpyglassAgent
import SpyglassTesting
import Testing

/// A Cilium user's flags and config directory start the real binary unchanged (issue 17, part 1), and the process
/// is operable: exit codes, `--version`, JSON logs, SIGHUP, `/healthz` and `/readyz` (part 2).
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct CiliumConfigTests {
    /// A config directory laid out as Kubernetes mounts a ConfigMap: the data in a timestamped directory, `..data`
    /// pointing at it, and one symbolic link per key. Removed by `remove()`.
    struct ConfigMapDir {
        let path: String

        init(_ keys: [String: String]) throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-cfgdir-\(UUID().uuidString)")
                .path
            let fm = FileManager.default
            let data = path + "/..2026_12_05_08_00_00.000000001"
            try fm.createDirectory(atPath: data, withIntermediateDirectories: true)
            for (key, value) in keys {
                try Data(value.utf8).write(to: URL(fileURLWithPath: "\(data)/\(key)"))
            }
            try fm.createSymbolicLink(
                atPath: path + "/..data", withDestinationPath: (data as NSString).lastPathComponent)
            for key in keys.keys {
                try fm.createSymbolicLink(atPath: "\(path)/\(key)", withDestinationPath: "..data/\(key)")
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Keys of a real Cilium ConfigMap (cilium-config) that Spyglass shares, plus a few it has no use for.
    static let ciliumConfigMap: [String: String] = [
        "hubble-metrics-server": ":9965",
        "hubble-metrics":
            "dns:query;ignoreAAAA\ndrop:sourceContext=pod,namespace\nflow:sourceContext=workload-name|reserved-identity;destinationContext=dns|ip",
        "enable-hubble-open-metrics": "false",
        "monitor-aggregation": "medium",
        "monitor-aggregation-interval": "5s",
        "monitor-aggregation-flags": "all",
        "cluster-name": "kind-kind",
        "debug": "false",
        // Rendered empty by Cilium's chart when unset: the default stays (both set would be an error).
        "hubble-redact-http-headers-allow": "",
        "hubble-redact-http-headers-deny": "\n",
        // Cilium-only keys: ignored and reported.
        "enable-ipv4": "true",
        "routing-mode": "tunnel",
        "tunnel-protocol": "vxlan",
        "enable-policy": "default"
    ]

    /// What a row expects from a run: the agent serving (with OpenMetrics on or off, these families enabled) or a
    /// configuration error naming something.
    enum Expect {
        case serves(openMetrics: Bool, handlers: [String], logContains: [String])
        case configError(naming: String)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var name: String
        var args: [String]
        var configDir: [String: String]? = nil
        var expect: Expect
        var testDescription: String { name }
    }

    static let defaultHandlers = ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"]

    static let rows: [Row] = [
        Row(
            name: "bare boolean before another flag",
            args: ["--enable-hubble-open-metrics", "--hubble-export-file-compress"],
            expect: .serves(openMetrics: true, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "bare boolean last", args: ["--hubble-redact-http-urlquery", "--enable-hubble-open-metrics"],
            expect: .serves(openMetrics: true, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "--flag=false", args: ["--enable-hubble-open-metrics=false"],
            expect: .serves(openMetrics: false, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "Go's ParseBool spellings",
            args: ["--enable-hubble-open-metrics=F", "--drop-events=1", "--http-detect=TRUE"],
            expect: .serves(openMetrics: false, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "--flag false as two arguments (kept)", args: ["--enable-hubble-open-metrics", "false"],
            expect: .serves(openMetrics: false, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "plain flag with =true", args: ["--debug-libbpf=false", "--debug=true"],
            expect: .serves(openMetrics: true, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "Cilium metric list with comma fallbacks and an option Cilium ignores",
            args: ["--hubble-metrics", "dns:query;ignoreAAAA drop:sourceContext=pod,namespace tcp:bogus=1"],
            expect: .serves(
                openMetrics: true, handlers: ["dns", "drop", "tcp"],
                logContains: ["Ignoring unknown option 'bogus' for metric 'tcp'"])),
        Row(
            name: "Go durations",
            args: [
                "--monitor-aggregation-interval=1m30s", "--hubble-metrics-series-ttl", "1h",
                "--endpoint-departure-grace=0"
            ],
            expect: .serves(openMetrics: true, handlers: defaultHandlers, logContains: [])),
        Row(
            name: "a Cilium ConfigMap directory; the command line's server address wins", args: [],
            configDir: ciliumConfigMap,
            expect: .serves(
                openMetrics: false, handlers: ["dns", "drop", "flow"],
                logContains: [
                    "--config-dir files overridden by the command line: hubble-metrics-server",
                    "ignored: enable-ipv4 enable-policy routing-mode tunnel-protocol",
                    "empty, defaults kept: hubble-redact-http-headers-allow hubble-redact-http-headers-deny"
                ])),
        Row(
            name: "command line wins over the directory", args: ["--enable-hubble-open-metrics"],
            configDir: ciliumConfigMap,
            expect: .serves(openMetrics: true, handlers: ["dns", "drop", "flow"], logContains: [])),
        // Configuration errors: exit 64, one line naming the flag or file.
        Row(
            name: "bare number duration", args: ["--duration", "150"],
            expect: .configError(naming: "--duration: missing unit in duration '150'")),
        Row(
            name: "bare number interval", args: ["--monitor-aggregation-interval=5"],
            expect: .configError(naming: "--monitor-aggregation-interval: missing unit")),
        Row(
            name: "not a boolean", args: ["--enable-hubble-open-metrics=yes"],
            expect: .configError(naming: "--enable-hubble-open-metrics")),
        Row(
            name: "bad boolean in the directory", args: [], configDir: ["hubble-export-file-compress": "maybe"],
            expect: .configError(naming: "hubble-export-file-compress")),
        Row(
            name: "bad metric list in the directory", args: [],
            configDir: ["hubble-metrics": "flow:sourceContext=bogus"],
            expect: .configError(naming: "unknown context 'bogus'")),
        Row(
            name: "missing directory", args: ["--config-dir", "/nonexistent/spyglass-config"],
            expect: .configError(naming: "--config-dir")),
        Row(name: "bad log format", args: ["--log-format", "xml"], expect: .configError(naming: "--log-format"))
    ]

    @Test(arguments: rows)
    func ciliumStyleArguments(row: Row) throws {
        let dir = try row.configDir.map { try ConfigMapDir($0) }
        defer { dir?.remove() }
        var args = ["--interface", "lo", "--hubble-metrics-server", "127.0.0.1:0", "--kubernetes", "off"] + row.args
        if let dir { args = ["--config-dir", dir.path] + args }
        switch row.expect {
        case .configError(let naming):
            let o = try CommandLineTests().spyglass(["run", "--duration", "5s"] + args, timeout: 20)
            #expect(o.status == 64, "\(row.name): status \(o.status): \(o.stderr)")
            let errors = CommandLineTests().errorLines(o)
            #expect(errors.count == 1 && errors[0].contains(naming), "\(row.name): \(o.stderr)")
        case .serves(let openMetrics, let handlers, let logContains):
            let agent = try AgentProcess(["--duration", "20s"] + args)
            let port = try #require(agent.waitForPort(), "\(row.name): did not start: \(agent.log)")
            let body = try curlGet(
                "http://127.0.0.1:\(port)/metrics", headers: ["Accept: application/openmetrics-text; version=1.0.0"])
            #expect(
                body.hasSuffix("# EOF\n") == openMetrics,
                "\(row.name): OpenMetrics \(openMetrics ? "expected" : "not expected")")
            let line = try #require(agent.log.split(separator: "\n").first { $0.contains("serving metrics on") })
            let served = line.split(separator: ": ").last.map { $0.split(separator: " ").map(String.init) } ?? []
            #expect(Set(served) == Set(handlers), "\(row.name): \(line)")
            for text in logContains { #expect(agent.log.contains(text), "\(row.name): no '\(text)' in \(agent.log)") }
            #expect(agent.signal(SIGTERM, timeout: 10) != nil)
            #expect(agent.process.terminationStatus == 0, "\(agent.log)")
        }
    }

    @Test func versionFlag() throws {
        let o = try CommandLineTests().spyglass(["--version"])
        #expect(o.status == 0)
        #expect(
            o.stdout.trimmingCharacters(in: .whitespacesAndNewlines).range(
                of: #"^\d+\.\d+\.\d+$"#, options: .regularExpression) != nil,
            "\(o.stdout)")
    }

    /// `--log-format json`: every line of the agent's log is one JSON object with logrus's keys.
    @Test func jsonLogs() throws {
        let agent = try AgentProcess([
            "--interface", "lo", "--hubble-metrics-server", "127.0.0.1:0", "--kubernetes", "off",
            "--log-format", "json", "--log-level", "debug", "--duration", "20s"
        ])
        let port = try #require(agent.waitForPort(), "\(agent.log)")
        let build = PrometheusText(try curlGet("http://127.0.0.1:\(port)/metrics")).series("spyglass_build_info")
        #expect(
            build.count == 1 && build.first?.value == 1 && build.first?.labels["version"]?.isEmpty == false, "\(build)")
        #expect(agent.signal(SIGTERM, timeout: 10) != nil)
        let lines = agent.log.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            #expect(
                object?["msg"] != nil && object?["level"] != nil && object?["time"]?.hasSuffix("Z") == true,
                "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains(#""level":"info""#) && $0.contains("serving metrics on") })
    }

    /// SIGHUP re-reads the endpoints file and never stops the agent or detaches its hooks; `/healthz` and `/readyz`
    /// report the datapath, the pipeline and the endpoint source.
    @Test func sighupReloadsAndKeepsServing() throws {
        try withLab { lab in
            let a = try lab.addPod(name: "a", ipv4: "10.199.11.2/24")
            let b = try lab.addPod(name: "b", ipv4: "10.199.11.3/24")
            let endpoints = FileManager.default.temporaryDirectory.appendingPathComponent(
                "spyglass-hup-\(UUID().uuidString).yaml"
            ).path
            defer { try? FileManager.default.removeItem(atPath: endpoints) }
            try Data("endpoints:\n- addresses: [10.199.11.2]\n  namespace: default\n  pod: a\n".utf8).write(
                to: URL(fileURLWithPath: endpoints))
            let agent = try AgentProcess([
                "--interface", a.hostInterface, "--hubble-metrics-server", "127.0.0.1:0",
                "--kubernetes", "off", "--endpoints-file", endpoints, "--duration", "60s"
            ])
            let port = try #require(agent.waitForPort(), "\(agent.log)")
            let health = try curlGet("http://127.0.0.1:\(port)/healthz")
            #expect(
                health.hasPrefix("ok\n") && health.contains("pipeline: moving")
                    && health.contains("attached to 1 interface"), "\(health)")
            let ready = try curlGet("http://127.0.0.1:\(port)/readyz")
            #expect(ready.hasPrefix("ok\n"), "\(ready)")

            // Change the file, then SIGHUP three times: the agent logs each reload and keeps running.
            try Data(
                "endpoints:\n- addresses: [10.199.11.2]\n  namespace: default\n  pod: a\n- addresses: [10.199.11.3]\n  namespace: default\n  pod: b\n"
                    .utf8
            )
            .write(to: URL(fileURLWithPath: endpoints))
            for _ in 0..<3 {
                kill(agent.pid, SIGHUP)
                Thread.sleep(forTimeInterval: 0.3)
            }
            #expect(agent.process.isRunning, "SIGHUP must not stop the agent: \(agent.log)")
            #expect(agent.log.components(separatedBy: "SIGHUP: endpoints file ok").count - 1 == 3, "\(agent.log)")
            // Loaded at start and once more for the changed content (the two later SIGHUPs find it unchanged).
            #expect(agent.log.components(separatedBy: "endpoints file loaded").count - 1 == 2, "\(agent.log)")
            let filters = try CommandLineTests().tcFilters(a.hostInterface, "ingress")
            #expect(filters.count == 1, "hooks must stay attached across SIGHUP: \(filters)")

            // Traffic still turns into flows after the reloads.
            _ = try lab.run(in: a, ["ping", "-c", "3", "-i", "0.2", "-W", "1", b.ipv4])
            var flows = 0.0
            for _ in 0..<40 where flows == 0 {
                Thread.sleep(forTimeInterval: 0.25)
                flows = PrometheusText(try curlGet("http://127.0.0.1:\(port)/metrics")).value(
                    "hubble_flows_processed_total")
            }
            #expect(flows > 0, "no flows after SIGHUP")
            #expect(try curlGet("http://127.0.0.1:\(port)/healthz").hasPrefix("ok\n"))
            #expect(agent.signal(SIGTERM, timeout: 10) != nil)
            #expect(agent.process.terminationStatus == 0, "\(agent.log)")
            #expect(try CommandLineTests().tcFilters(a.hostInterface, "ingress").isEmpty)
        }
    }

    /// SIGHUP applies a changed dynamic metrics file and dynamic flow-log config at once (both are otherwise polled
    /// every 5 s): the log says the signal applied them, and the reload counter moved right after.
    @Test func sighupAppliesDynamicMetricsAndFlowLogConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-hup-dyn-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let metrics = dir + "/metrics.yaml", flowLogs = dir + "/flowlogs.yaml"
        try "metrics:\n- name: flow\n".write(toFile: metrics, atomically: true, encoding: .utf8)
        try "flowLogs:\n- name: all\n  filePath: \(dir)/all.log\n".write(
            toFile: flowLogs, atomically: true, encoding: .utf8)
        let agent = try AgentProcess([
            "--interface", "lo", "--hubble-metrics-server", "127.0.0.1:0", "--kubernetes", "off",
            "--hubble-dynamic-metrics-config-path", metrics,
            "--hubble-flowlogs-config-path", flowLogs, "--duration", "30s"
        ])
        let port = try #require(agent.waitForPort(), "\(agent.log)")
        func reloads() throws -> Double {
            PrometheusText(try curlGet("http://127.0.0.1:\(port)/metrics")).value(
                "spyglass_metrics_config_reloads_total", ["result": "success"])
        }
        #expect(try reloads() == 1, "the initial load")
        Thread.sleep(forTimeInterval: 0.5)  // past the watchers' first check
        try "metrics:\n- name: flow\n- name: icmp\n".write(toFile: metrics, atomically: true, encoding: .utf8)
        try
            "flowLogs:\n- name: all\n  filePath: \(dir)/all.log\n- name: drops\n  filePath: \(dir)/drops.log\n  includeFilters: [{verdict: [DROPPED]}]\n"
            .write(toFile: flowLogs, atomically: true, encoding: .utf8)
        kill(agent.pid, SIGHUP)
        var log = ""
        for _ in 0..<40 where !log.contains("SIGHUP:") {
            Thread.sleep(forTimeInterval: 0.05)
            log = agent.log
        }
        let line = log.split(separator: "\n").first { $0.contains("SIGHUP:") }.map(String.init) ?? ""
        #expect(line.contains("dynamic metrics applied") && line.contains("flow-log config re-read"), "\(log)")
        #expect(try reloads() == 2, "SIGHUP applied the new file")
        #expect(agent.process.isRunning)
        #expect(agent.signal(SIGTERM, timeout: 10) != nil)
        #expect(agent.process.terminationStatus == 0, "\(agent.log)")
    }

    /// A failure a restart may fix (here: not root) exits 1, not the configuration status 64.
    @Test func runtimeFailureExitsOne() throws {
        let o = try CommandLineTests().spyglass(
            ["run", "--interface", "lo", "--hubble-metrics-server", "127.0.0.1:0"],
            prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        #expect(o.status == 1, "status \(o.status): \(o.stderr)")
    }
}
