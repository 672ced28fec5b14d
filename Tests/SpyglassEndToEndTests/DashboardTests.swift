import Foundation
import SpyglassTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The Grafana dashboards and the deployment files, checked for real:
/// * `scripts/check-dashboards.py` (structure, layout, datasource, variables; every query parsed by promtool) and
///   `dashboards/generate.py --check` (the committed JSON is what the generator makes);
/// * `scripts/check-deploy.py` (Kubernetes schemas and references, systemd unit, Containerfile, flags and shared
///   libraries of the built binary);
/// * every panel query of every dashboard run against a real Prometheus that scrapes the real `spyglass demo`.
@Suite(.serialized)
struct DashboardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let binary = root.appendingPathComponent(".build/debug/spyglass").path
    /// Debian's interpreter: the checks use Debian's python3-yaml / python3-jsonschema, whatever `python3` is on PATH.
    static let python = "/usr/bin/python3"
    static let prometheus = "/usr/bin/prometheus"
    static let promtool = "/usr/bin/promtool"
    /// The `--hubble-metrics` the manifests and the systemd unit ship (deploy/systemd/spyglass.env; check-deploy.py
    /// holds the DaemonSet to the same value): the demo runs with it, so every panel is proven on what users get.
    static var shippedMetrics: String {
        get throws {
            let env = try String(
                contentsOf: root.appendingPathComponent("deploy/systemd/spyglass.env"), encoding: .utf8)
            guard let line = env.split(separator: "\n").first(where: { $0.hasPrefix("SPYGLASS_HUBBLE_METRICS=\"") })
            else {
                throw DashboardTestError("deploy/systemd/spyglass.env has no SPYGLASS_HUBBLE_METRICS=\"...\"")
            }
            return String(line.dropFirst("SPYGLASS_HUBBLE_METRICS=\"".count).dropLast())
        }
    }
    /// Series Prometheus makes itself for every target: present whatever the agent serves.
    static let prometheusFamilies: Set<String> = [
        "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
        "scrape_series_added"
    ]

    struct Outcome { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a program to completion (bounded), output captured through files (no pipe can fill up).
    static func run(_ exe: String, _ args: [String], timeout: TimeInterval = 120) throws -> Outcome {
        let dir = try makeTempDir("run")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = "\(dir)/out", err = "\(dir)/err"
        FileManager.default.createFile(atPath: out, contents: nil)
        FileManager.default.createFile(atPath: err, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        p.currentDirectoryURL = root
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        return Outcome(
            status: p.terminationStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    static func makeTempDir(_ tag: String) throws -> String {
        var template = Array("\(NSTemporaryDirectory())/spyglass-dash-\(tag)-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw POSIXError(.EIO) }
        return String(cString: p)
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    // MARK: - Structure (no root needed)

    @Test func dashboardsAreStructurallyValid() throws {
        let check = try Self.run(Self.python, ["scripts/check-dashboards.py", "--promtool", Self.promtool])
        #expect(check.status == 0, "check-dashboards.py:\n\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("all parsed by promtool"), "\(check.stdout)")
        let generated = try Self.run(Self.python, ["dashboards/generate.py", "--check"])
        #expect(generated.status == 0, "dashboards/generate.py --check:\n\(generated.stdout)\(generated.stderr)")
    }

    @Test func structuralCheckRejectsBrokenDashboards() throws {
        // The checker itself must catch what it promises to: a model with an overlap, a duplicate id, a foreign
        // datasource and an undefined variable gives one precise line per problem and a non-zero exit.
        let dir = try Self.makeTempDir("bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = """
            {"uid": "bad", "title": "Bad", "schemaVersion": 39, "time": {"from": "now-1h", "to": "now"},
             "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
             "panels": [
              {"id": 1, "type": "timeseries", "title": "One", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
               "datasource": {"type": "prometheus", "uid": "${datasource}"},
               "targets": [{"refId": "A", "expr": "sum(rate(x{a=~\\"$nope\\"}[5m]))",
                            "datasource": {"type": "prometheus", "uid": "${datasource}"}}]},
              {"id": 1, "type": "stat", "title": "Two", "gridPos": {"x": 6, "y": 4, "w": 12, "h": 8},
               "datasource": {"type": "prometheus", "uid": "prom"},
               "targets": [{"refId": "A", "expr": "up", "datasource": {"type": "prometheus", "uid": "prom"}}]}
             ]}
            """
        try bad.write(toFile: "\(dir)/bad.json", atomically: true, encoding: .utf8)
        let check = try Self.run(Self.python, ["scripts/check-dashboards.py", "\(dir)/bad.json"])
        #expect(check.status != 0)
        for needle in ["id 1 is also used", "overlaps", "panel datasource must be", "uses $nope"] {
            #expect(check.stdout.contains(needle), "expected '\(needle)' in:\n\(check.stdout)")
        }
    }

    @Test func deploymentFilesAreValid() throws {
        var args = ["scripts/check-deploy.py"]
        if FileManager.default.isExecutableFile(atPath: Self.binary) { args += ["--binary", Self.binary] }
        let check = try Self.run(Self.python, args)
        print(check.stdout)
        #expect(check.status == 0, "check-deploy.py:\n\(check.stdout)\(check.stderr)")
        #expect(
            check.stdout.contains("systemd unit verified with systemd-analyze")
                || !FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"),
            "\(check.stdout)")
    }

    /// The PrometheusRule's alerts pass `promtool check rules` and their unit tests (`promtool test rules`).
    @Test func alertRulesPassPromtool() throws {
        let check = try Self.run(Self.python, ["scripts/check-alerts.py"])
        #expect(check.status == 0, "check-alerts.py:\n\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 6 rules found") && check.stdout.contains("SUCCESS"), "\(check.stdout)")
    }

    /// The alert unit tests can fail: a weakened alert (drops must now rise 30-fold) misses its expected firing.
    @Test func alertTestsCatchAWeakenedRule() throws {
        let dir = try Self.makeTempDir("alerts")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: "\(dir)/deploy/kubernetes/components", withIntermediateDirectories: true)
        try fm.copyItem(
            atPath: Self.root.appendingPathComponent("deploy/kubernetes/components/prometheus-operator").path,
            toPath: "\(dir)/deploy/kubernetes/components/prometheus-operator")
        try fm.copyItem(
            atPath: Self.root.appendingPathComponent("deploy/prometheus").path, toPath: "\(dir)/deploy/prometheus")
        try fm.createDirectory(atPath: "\(dir)/scripts", withIntermediateDirectories: true)
        try fm.copyItem(
            atPath: Self.root.appendingPathComponent("scripts/check-alerts.py").path,
            toPath: "\(dir)/scripts/check-alerts.py")
        let rule = "\(dir)/deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml"
        let text = try String(contentsOfFile: rule, encoding: .utf8)
        #expect(text.contains("> 3 * sum by (instance, reason)"))
        try text.replacingOccurrences(of: "> 3 * sum by (instance, reason)", with: "> 30 * sum by (instance, reason)")
            .write(toFile: rule, atomically: true, encoding: .utf8)
        let check = try Self.run(Self.python, ["\(dir)/scripts/check-alerts.py"])
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("alertname: SpyglassDropsRising"), "\(check.stdout)")
    }

    @Test func deployCheckRejectsBrokenFiles() throws {
        // A copy of the deployment files with one mistake of each kind the checker promises to catch.
        let dir = try Self.makeTempDir("deploy")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        for item in ["deploy", "scripts", "Containerfile", "Package.swift", "Package.resolved"] {
            try fm.copyItem(atPath: Self.root.appendingPathComponent(item).path, toPath: "\(dir)/\(item)")
        }
        for empty in ["Plugins", "Sources", "bpf", "Tests"] {
            try fm.createDirectory(atPath: "\(dir)/\(empty)", withIntermediateDirectories: true)
        }
        func edit(_ path: String, _ from: String, _ to: String) throws {
            let text = try String(contentsOfFile: "\(dir)/\(path)", encoding: .utf8)
            #expect(text.contains(from), "\(path) no longer contains '\(from)': update this test")
            try text.replacingOccurrences(of: from, with: to).write(
                toFile: "\(dir)/\(path)", atomically: true, encoding: .utf8)
        }
        try edit("deploy/kubernetes/daemonset.yaml", "readinessProbe:", "readinesProbe:")
        try edit(
            "deploy/kubernetes/daemonset.yaml", "\"PERFMON\", \"SYS_RESOURCE\"",
            "\"PERFMON\", \"SYS_RESOURCE\", \"SYS_PTRACE\"")
        try edit(
            "deploy/kubernetes/rbac.yaml", "resources: [\"replicasets\"]\n    verbs: [\"get\", \"list\", \"watch\"]",
            "resources: [\"replicasets\"]\n    verbs: [\"get\", \"list\", \"watch\", \"delete\"]")
        try edit(
            "deploy/kubernetes/components/prometheus-operator/servicemonitor.yaml", "- port: metrics", "- port: metricz"
        )
        try edit(
            "deploy/kubernetes/resourcequota.yaml", "values: [\"system-node-critical\"]",
            "values: [\"system-cluster-critical\"]")
        try edit("deploy/kubernetes/service.yaml", "prometheus.io/scrape: \"true\"", "prometheus.io/scrape: \"false\"")
        try edit("deploy/systemd/spyglass.service", "ProtectHome=yes", "ProtectHome=read-only")
        try edit("deploy/systemd/spyglass.service", "RestrictRealtime=yes", "RestrictRealtime=maybe")
        try edit("deploy/systemd/spyglass.service", "RestartPreventExitStatus=64", "RestartPreventExitStatus=1")
        try edit("Containerfile", "libbpf1 ", "")
        let check = try Self.run(Self.python, ["\(dir)/scripts/check-deploy.py"])
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        var needles = [
            "'readinesProbe' was unexpected", "capabilities not needed: ['SYS_PTRACE']",
            "grants more than get/list/watch: ['delete']", "endpoint port 'metricz' is not a Service port name",
            "ProtectHome=read-only, want yes", "the runtime stage does not install libbpf1",
            "needs a ResourceQuota with a PriorityClass scope naming it", "needs annotations prometheus.io/scrape",
            "RestartPreventExitStatus=1, want 64"
        ]
        if fm.isExecutableFile(atPath: "/usr/bin/systemd-analyze") { needles.append("Failed to parse boolean value") }
        for needle in needles {
            #expect(check.stdout.contains(needle), "expected '\(needle)' in:\n\(check.stdout)")
        }
    }

    // MARK: - Every panel query on real data (root: the demo builds network namespaces)

    struct Query {
        var dashboard: String
        var panel: String
        var refId: String
        var kind: String
        var expr: String
        var families: [String]
        var exemplar: Bool
        var label: String
        var match: String
    }

    static func loadQueries() throws -> [Query] {
        let listed = try run(python, ["scripts/check-dashboards.py", "--queries"])
        guard listed.status == 0, let data = listed.stdout.data(using: .utf8),
            let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
        else {
            throw DashboardTestError("check-dashboards.py --queries failed: \(listed.stdout)\(listed.stderr)")
        }
        return array.map { q in
            Query(
                dashboard: q["dashboard"] as? String ?? "", panel: q["panel"] as? String ?? "",
                refId: q["refId"] as? String ?? "", kind: q["kind"] as? String ?? "",
                expr: q["expr"] as? String ?? "", families: q["families"] as? [String] ?? [],
                exemplar: q["exemplar"] as? Bool ?? false, label: q["label"] as? String ?? "",
                match: q["match"] as? String ?? "")
        }
    }

    struct DashboardTestError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Percent-encodes a query-string value (PromQL has `+`, `&`, `#`, quotes, braces...).
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// GET a Prometheus API path; returns the decoded JSON object (status, data, error).
    static func api(_ base: String, _ pathAndQuery: String) throws -> [String: Any] {
        let text = try curlGet("\(base)\(pathAndQuery)", timeout: 10)
        guard let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw DashboardTestError("not JSON: \(text.prefix(200))")
        }
        return obj
    }

    /// Families (sample names with histogram suffixes folded) that have at least one sample in a scrape.
    static func families(in exposition: String) -> Set<String> {
        var out = Set<String>()
        for s in PrometheusText(exposition).samples {
            var name = s.name
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                name = String(name.dropLast(suffix.count))
            }
            out.insert(name)
        }
        return out
    }

    static func stop(_ p: Process, grace: TimeInterval) {
        guard p.isRunning else { return }
        p.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Families a dashboard reads that the demo cannot produce, each with the reason. Every other family a query
    /// names must be in the demo's scrape, so a query naming an unknown family (a typo, a renamed metric) fails.
    static let notInDemo: [String: String] = [:]

    static func unknownFamilies(_ families: [String], produced: Set<String>, notInDemo: [String: String] = notInDemo)
        -> [String]
    {
        families.filter { !produced.contains($0) && notInDemo[$0] == nil }
    }

    @Test func aQueryNamingAnUnknownFamilyFails() {
        let produced: Set<String> = ["hubble_flows_processed_total", "up"]
        #expect(Self.unknownFamilies(["hubble_flows_processed_total"], produced: produced).isEmpty)
        #expect(
            Self.unknownFamilies(["hubble_flow_processed_total"], produced: produced) == ["hubble_flow_processed_total"]
        )
        #expect(
            Self.unknownFamilies(
                ["spyglass_metrics_config_reloads_total"], produced: produced,
                notInDemo: ["spyglass_metrics_config_reloads_total": "only with a dynamic metrics file"]
            ).isEmpty)
    }

    @Test(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason))
    func everyPanelQueryRunsOnRealDemoData() throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.binary), "build first: swift build --build-tests")
        try #require(FileManager.default.isExecutableFile(atPath: Self.prometheus), "apt-get install prometheus")
        let queries = try Self.loadQueries()
        let dir = try Self.makeTempDir("prom")
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // The demo, with the shipped metric options, on a free port.
        let demoPort = try Self.freePort()
        let demo = Process()
        demo.executableURL = URL(fileURLWithPath: Self.binary)
        demo.arguments = [
            "demo", "--duration", "150s", "--traffic-period", "0.3",
            "--hubble-metrics-server", "127.0.0.1:\(demoPort)", "--hubble-metrics", try Self.shippedMetrics
        ]
        FileManager.default.createFile(atPath: "\(dir)/demo.log", contents: nil)
        let demoLog = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/demo.log"))
        demo.standardOutput = demoLog
        demo.standardError = demoLog
        try demo.run()
        defer { Self.stop(demo, grace: 15) }
        func demoLogText() -> String { (try? String(contentsOfFile: "\(dir)/demo.log", encoding: .utf8)) ?? "" }

        var exposition = ""
        let demoDeadline = Date().addingTimeInterval(30)
        while Date() < demoDeadline && demo.isRunning {
            if let text = try? curlGet("http://127.0.0.1:\(demoPort)/metrics"),
                PrometheusText(text).value("hubble_flows_processed_total") > 0
            {
                exposition = text
                break
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        try #require(!exposition.isEmpty, "the demo served no flows within 30 s:\n\(demoLogText())")

        // A real Prometheus scraping the demo every second, with exemplar storage.
        let promPort = try Self.freePort()
        let config = """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: spyglass
                static_configs:
                  - targets: ["127.0.0.1:\(demoPort)"]

            """
        try config.write(toFile: "\(dir)/prometheus.yml", atomically: true, encoding: .utf8)
        let prom = Process()
        prom.executableURL = URL(fileURLWithPath: Self.prometheus)
        prom.arguments = [
            "--enable-feature=exemplar-storage", "--storage.tsdb.path=\(dir)/data",
            "--web.listen-address=127.0.0.1:\(promPort)", "--config.file=\(dir)/prometheus.yml"
        ]
        FileManager.default.createFile(atPath: "\(dir)/prometheus.log", contents: nil)
        let promLog = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/prometheus.log"))
        prom.standardOutput = promLog
        prom.standardError = promLog
        prom.currentDirectoryURL = URL(fileURLWithPath: dir)
        try prom.run()
        defer { Self.stop(prom, grace: 10) }
        let base = "http://127.0.0.1:\(promPort)"
        func promLogText() -> String { (try? String(contentsOfFile: "\(dir)/prometheus.log", encoding: .utf8)) ?? "" }

        // Wait for rates: at least two scrapes of the flow counter and of the scrape-latency histogram.
        var ready = false
        let ready1 =
            "sum(rate(hubble_flows_processed_total[1m])) and "
            + "sum(rate(hubble_metrics_http_handler_request_duration_seconds_count[1m]))"
        let promDeadline = Date().addingTimeInterval(30)
        while Date() < promDeadline && prom.isRunning && !ready {
            if let r = try? Self.api(base, "/api/v1/query?query=\(Self.encode(ready1))"),
                let data = r["data"] as? [String: Any], let result = data["result"] as? [Any], !result.isEmpty
            {
                ready = true
            } else {
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        let targets = (try? curlGet("\(base)/api/v1/targets")) ?? "(no answer)"
        try #require(
            ready, "Prometheus had no rate of the demo's flows within 30 s.\ntargets: \(targets)\n\(promLogText())")
        Thread.sleep(forTimeInterval: 3)  // a few more samples for the ratios and quantiles
        #expect(targets.contains("\"health\":\"up\""), "the scrape target is up: \(targets)")

        // What the demo produces right now, by scraping it (not a hard-coded list).
        if let now = try? curlGet("http://127.0.0.1:\(demoPort)/metrics") { exposition = now }
        let produced = Self.families(in: exposition).union(Self.prometheusFamilies)
        print("demo families: \(produced.subtracting(Self.prometheusFamilies).sorted().joined(separator: " "))")

        var failures: [String] = []
        var noDataYet: [String: Set<String>] = [:]  // family -> panels
        var nanOnly: [String] = []
        var withData = 0
        let now = Date().timeIntervalSince1970
        for q in queries {
            let label = "\(q.dashboard): panel \(q.panel)\(q.refId.isEmpty ? "" : " target \(q.refId)")"
            let missing = q.families.filter { !produced.contains($0) }
            let answer: [String: Any]
            do {
                if q.kind == "label_values" {
                    let match = q.match.isEmpty ? "" : "?match[]=\(Self.encode(q.match))"
                    answer = try Self.api(base, "/api/v1/label/\(q.label)/values\(match)")
                } else {
                    answer = try Self.api(base, "/api/v1/query?query=\(Self.encode(q.expr))&time=\(now)")
                }
            } catch {
                failures.append("\(label): request failed: \(error)")
                continue
            }
            guard answer["status"] as? String == "success" else {
                failures.append(
                    "\(label): \(answer["errorType"] ?? "") \(answer["error"] ?? "") in \(q.kind == "query" ? q.expr : q.match)"
                )
                continue
            }
            if q.exemplar {
                let ex = try Self.api(
                    base, "/api/v1/query_exemplars?query=\(Self.encode(q.expr))&start=\(now - 300)&end=\(now)")
                if ex["status"] as? String != "success" {
                    failures.append("\(label): exemplar query failed: \(ex["error"] ?? "")")
                } else if !String(describing: ex["data"] ?? "").contains("traceID") {
                    // The demo sends a traceparent with every other request: Prometheus must hold its trace IDs.
                    failures.append("\(label): no exemplar with a traceID came back from Prometheus")
                }
            }
            let data = answer["data"]
            let hasData: Bool
            var allNaN = false
            if q.kind == "label_values" {
                hasData = !((data as? [Any]) ?? []).isEmpty
            } else if let d = data as? [String: Any] {
                let resultType = d["resultType"] as? String
                let result = d["result"]
                if resultType == "scalar" || resultType == "string" {
                    hasData = true
                } else {
                    let series = (result as? [[String: Any]]) ?? []
                    hasData = !series.isEmpty
                    allNaN = hasData && series.allSatisfy { s in ((s["value"] as? [Any])?.last as? String) == "NaN" }
                }
            } else {
                hasData = false
            }
            let unknown = Self.unknownFamilies(q.families, produced: produced)
            if !unknown.isEmpty {
                failures.append(
                    "\(label): names \(unknown.joined(separator: ", ")), which the demo does not produce and "
                        + "which is not among the families it cannot produce (notInDemo): \(q.expr)")
                continue
            }
            if !missing.isEmpty {
                if !hasData { for f in missing { noDataYet[f, default: []].insert("\(q.dashboard) \(q.panel)") } }
                continue
            }
            if hasData {
                withData += 1
                if allNaN { nanOnly.append(label) }
            } else if q.kind == "query" {
                failures.append(
                    "\(label): no data although \(q.families.joined(separator: ", ")) is in the demo's scrape: \(q.expr)"
                )
            } else if q.label == "instance" {
                failures.append("\(label): label_values(\(q.match), \(q.label)) is empty")
            }
        }

        print("dashboard queries: \(queries.count), with data: \(withData), failures: \(failures.count)")
        for (family, panels) in noDataYet.sorted(by: { $0.key < $1.key }) {
            print("no data yet (family \(family) not in the demo): \(panels.sorted().joined(separator: "; "))")
        }
        for n in nanOnly { print("NaN only (no events in the last minute): \(n)") }
        #expect(failures.isEmpty, "\(failures.count) dashboard queries failed:\n\(failures.joined(separator: "\n"))")
        #expect(withData > 0)
        #expect(demo.isRunning, "the demo kept running:\n\(demoLogText())")
    }
}
