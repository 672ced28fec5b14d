import Foundation
import SpyglassFlow
import SpyglassSupport
import Synchronization
import Testing

@testable import SpyglassMetrics

@Suite struct DynamicConfigParseTests {
    func parse(_ yaml: String) throws -> (MetricsConfig, warnings: [String]) {
        try DynamicMetricsConfig.parse(yaml, path: "/etc/dyn.yaml")
    }

    func error(_ yaml: String) -> DynamicMetricsConfigError? {
        do {
            _ = try parse(yaml)
            return nil
        } catch let e as DynamicMetricsConfigError {
            return e
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    /// The shape of Hubble's `pkg/hubble/metrics/testdata` files and the Helm `dynamic.config.content` example.
    @Test func fullExample() throws {
        let (c, warnings) = try parse(
            """
            metrics:
            - name: flow
              contextOptions:
              - name: sourceContext
                values: [workload-name, reserved-identity]
              - name: labelsContext
                values:
                - source_namespace
                - destination_namespace
              includeFilters:
              - source_pod: ["default/"]
              excludeFilters:
              - verdict: [DROPPED]
                source_pod: ["kube-system/"]
            - name: dns
              contextOptions:
              - name: query
              - name: ignoreAAAA
            - name: httpV2
              contextOptions:
              - name: exemplars
                values: [true]
              - name: sourceContext
                values: ["pod|ip"]
            """)
        #expect(warnings.isEmpty)
        #expect(c.handlers.map(\.name) == ["flow", "dns", "httpV2"])
        let flow = c.handlers[0]
        #expect(flow.context.sourceContext == [.workloadName, .reservedIdentity])
        #expect(flow.context.labelsContext == [.sourceNamespace, .destinationNamespace])
        #expect(flow.includeFilters == (try FlowFilter.parseList(#"{"source_pod":["default/"]}"#)))
        #expect(
            flow.excludeFilters == (try FlowFilter.parseList(#"{"verdict":["DROPPED"],"source_pod":["kube-system/"]}"#))
        )
        #expect(c.handlers[1].flags == ["query", "ignoreaaaa"])
        #expect(c.handlers[2].exemplars)
        #expect(c.handlers[2].context.sourceContext == [.pod, .ip])
    }

    @Test func emptyForms() throws {
        for yaml in ["", "\n", "metrics:", "metrics: []", "metrics: null", "---\n"] {
            let (c, w) = try parse(yaml)
            #expect(c.handlers.isEmpty, "\(yaml.debugDescription)")
            #expect(w.isEmpty)
        }
    }

    /// The YAML → JSON step before the filters are read as FlowFilters (sigs.k8s.io/yaml's rules).
    @Test func jsonValuesOfFilters() throws {
        var p = FileParser(path: "/etc/dyn.yaml")
        let entries = try p.entries(
            """
            metrics:
            - name: drop
              includeFilters:
              - {source_identity: [12345, 18446744073709551615], reply: [false], http_status_code: ["5+"], x: null, ip_version: [IPv4], q: 'it''s "q"'}
            """)
        #expect(
            entries[0].include[0].jsonText
                == #"{"source_identity":[12345,18446744073709551615],"reply":[false],"http_status_code":["5+"],"x":null,"ip_version":["IPv4"],"q":"it's \"q\""}"#
        )
    }

    /// The same filter through the whole path: YAML → `FlowFilter`, as protojson reads it.
    @Test func filtersAreFlowFilters() throws {
        let (c, _) = try parse(
            """
            metrics:
            - name: drop
              includeFilters:
              - {source_identity: [12345, 4294967295], reply: [false], http_status_code: ["5+"], ip_version: [IPv4]}
            """)
        let expected = try FlowFilter.parseList(
            #"{"source_identity":[12345,4294967295],"reply":[false],"http_status_code":["5+"],"ip_version":["IPv4"]}"#)
        #expect(c.handlers[0].includeFilters == expected)
    }

    @Test func keysAreCaseInsensitiveAndUnknownOnesWarn() throws {
        let (c, warnings) = try parse(
            """
            Metrics:
            - NAME: tcp
              contextoptions: [{Name: destinationContext, VALUES: [pod]}]
              colour: blue
            - name: kafka
            spare: 1
            """)
        #expect(c.handlers.map(\.name) == ["tcp"])
        #expect(c.handlers[0].context.destinationContext == [.pod])
        #expect(warnings.count == 3)
        #expect(
            warnings.contains { $0.contains("metrics[0] (name 'tcp', line 2): unknown key 'colour' ignored (line 4)") })
        #expect(
            warnings.contains {
                $0.contains("metrics[1] (name 'kafka', line 5): Skipping unknown hubble metric 'kafka'")
            })
        #expect(warnings.contains { $0.contains("unknown top-level key 'spare'") })
    }

    @Test func missingAndDuplicateNames() {
        let missing = error("metrics:\n- name: dns\n- contextOptions: [{name: query}]\n")
        #expect(missing?.kind == .missingName)
        #expect(
            missing?.description
                == "dynamic metrics config /etc/dyn.yaml: metrics[1] (line 3): name: missing metric name")
        #expect(error("metrics:\n- name: ''\n")?.kind == .missingName)
        let dup = error("metrics:\n- name: dns\n- name: drop\n- name: dns\n")
        #expect(dup?.kind == .duplicateName)
        #expect(
            dup?.description
                == "dynamic metrics config /etc/dyn.yaml: metrics[2] (name 'dns', line 4): name: duplicate metric 'dns': already listed as metrics[0] (name 'dns', line 2)"
        )
    }

    @Test func httpConflict() {
        let e = error("metrics:\n- name: httpV2\n- name: dns\n- name: http\n")
        #expect(e?.kind == .conflict)
        #expect(e?.underlying == .conflictingMetrics("httpV2", "http"))
        #expect(e?.metric == "metrics[2] (name 'http', line 4)")
    }

    @Test func badOptionsNameTheMetricAndField() throws {
        let e = error(
            "metrics:\n- name: dns\n- name: flow\n  contextOptions:\n  - name: sourceContext\n    values: [pod-short]\n"
        )
        #expect(e?.kind == .invalidOptions)
        #expect(e?.underlying == .unknownContext(metric: "flow", option: "sourceContext", value: "pod-short"))
        #expect(
            e?.description
                == "dynamic metrics config /etc/dyn.yaml: metrics[1] (name 'flow', line 3): contextOptions: unknown context 'pod-short' in option 'sourceContext' of metric 'flow'"
        )
        // An option the handler does not read is ignored with a warning, as Cilium ignores it.
        let (ignored, warnings) = try parse("metrics:\n- name: drop\n  contextOptions: [{name: query}]\n")
        #expect(ignored.handlers.map(\.name) == ["drop"])
        #expect(
            warnings.count == 1
                && warnings.first?.contains("Ignoring unknown option 'query' for metric 'drop'") == true, "\(warnings)")
        #expect(
            error("metrics:\n- name: flow\n  contextOptions: [{name: labelsContext, values: [source_pod, nope]}]\n")?
                .underlying
                == .invalidLabelsContext(metric: "flow", value: "nope"))
        #expect(
            error("metrics:\n- name: httpV2\n  contextOptions: [{name: exemplars, values: [yes please]}]\n")?.underlying
                == .invalidExemplars(metric: "httpV2", value: "yes please"))
    }

    @Test func schemaErrors() {
        let cases: [(String, String)] = [
            ("- name: dns\n", "expected a mapping with a 'metrics' list at the top, found a list"),
            ("metrics: {name: dns}\n", "metrics: expected a list (line 1), found a mapping"),
            ("metrics:\n- dns\n", "metrics[0] (line 2): expected a mapping with 'name', found a scalar"),
            ("metrics:\n- name: [dns]\n", "metrics[0] (line 2): name: expected a string (line 2), found a list"),
            (
                "metrics:\n- name: flow\n  contextOptions: {name: sourceContext}\n",
                "metrics[0] (name 'flow', line 2): contextOptions: expected a list of {name, values} (line 3), found a mapping"
            ),
            (
                "metrics:\n- name: flow\n  contextOptions:\n  - name: sourceContext\n    values: pod\n",
                "metrics[0] (name 'flow', line 2): contextOptions[0].values: expected a list of strings (line 5), found a scalar"
            ),
            (
                "metrics:\n- name: flow\n  contextOptions:\n  - values: [pod]\n",
                "metrics[0] (name 'flow', line 2): contextOptions[0]: option without 'name' (line 4)"
            ),
            (
                "metrics:\n- name: flow\n  includeFilters: {source_pod: [a/]}\n",
                "metrics[0] (name 'flow', line 2): includeFilters: expected a list of FlowFilters (line 3), found a mapping"
            ),
            (
                "metrics:\n- name: flow\n  excludeFilters: [source_pod]\n",
                "metrics[0] (name 'flow', line 2): excludeFilters[0]: expected a FlowFilter mapping (line 3), found a scalar"
            )
        ]
        for (yaml, expected) in cases {
            let e = error(yaml)
            #expect(e?.kind == .schema, "\(yaml)")
            #expect(e?.description == "dynamic metrics config /etc/dyn.yaml: " + expected)
        }
    }

    @Test func syntaxErrorHasALine() {
        let e = error("metrics:\n- name: dns\n  contextOptions: [\n")
        #expect(e?.kind == .syntax)
        #expect(
            e?.description.hasPrefix("dynamic metrics config /etc/dyn.yaml: invalid YAML: 4:1: error: parser:") == true,
            "\(String(describing: e))")
        #expect(e?.description.contains("\n") == false)
    }

    @Test func invalidFiltersNameTheirMetric() {
        let bad = error("metrics:\n- name: dns\n- name: drop\n  includeFilters: [{colour: [red]}]\n")
        #expect(bad?.kind == .invalidFilters)
        #expect(
            bad?.description
                == "dynamic metrics config /etc/dyn.yaml: metrics[1] (name 'drop', line 3): includeFilters/excludeFilters: colour: unknown FlowFilter field"
        )
        #expect(bad?.underlying == .invalidFilters(metric: "drop", message: "colour: unknown FlowFilter field"))
        // Read, but rejected when compiled: the matcher's error, with the metric.
        let cidr = error("metrics:\n- name: drop\n  excludeFilters: [{source_ip: [10.0.0.0/99]}]\n")
        #expect(cidr?.kind == .invalidFilters)
        #expect(
            cidr?.description
                == "dynamic metrics config /etc/dyn.yaml: metrics[0] (name 'drop', line 2): includeFilters/excludeFilters: source_ip: invalid CIDR \"10.0.0.0/99\""
        )
    }

    @Test func staticAndDynamicTogetherIsAStartupError() throws {
        #expect(throws: MetricsConfigError.staticAndDynamic) {
            try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: "dns", dynamicConfigPath: "/etc/dyn.yaml")
        }
        try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: nil, dynamicConfigPath: "/etc/dyn.yaml")
        try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: " \n", dynamicConfigPath: "/etc/dyn.yaml")
        try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: "dns", dynamicConfigPath: "")
        try MetricsConfig.checkStaticAndDynamic(hubbleMetrics: "dns", dynamicConfigPath: nil)
        #expect(
            MetricsConfigError.staticAndDynamic.description.hasPrefix(
                "cannot configure both static and dynamic Hubble metrics"))
    }
}

@Suite struct DynamicEngineTests {
    static func config(_ spec: String, include: [String: [FlowFilter]] = [:], exclude: [String: [FlowFilter]] = [:])
        throws -> MetricsConfig
    {
        var c = try MetricsConfig.parse(spec).0
        for i in c.handlers.indices {
            c.handlers[i].includeFilters = include[c.handlers[i].name] ?? []
            c.handlers[i].excludeFilters = exclude[c.handlers[i].name] ?? []
        }
        return c
    }

    static func filter(_ key: String, _ values: [String]) throws -> FlowFilter {
        try FlowFilter(json: .object([JSONMember(key: key, value: .array(values.map { .string($0) }))]))
    }

    func families(_ e: MetricsEngine) -> Set<String> {
        Set(
            TestSupport.text(e, .prometheusText).split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
                .map { String($0.split(separator: " ")[2]) })
    }

    func options() -> MetricsEngineOptions {
        MetricsEngineOptions(selfMetrics: false)
    }

    @Test func unchangedHandlersKeepSeriesOthersAreReplaced() throws {
        let e = MetricsEngine(config: try Self.config("dns drop flow:sourceContext=namespace tcp"), options: options())
        for f in Fixtures.all { e.process(f) }
        let dnsBefore = e.handlerFamilies.first { $0.name == "hubble_dns_queries_total" }!
        let dropBefore = e.handlerFamilies.first { $0.name == "hubble_drop_total" }!
        #expect(dnsBefore.liveSeries > 0 && dropBefore.liveSeries > 0)

        // dns unchanged, drop gets a filter, flow changes its labels, tcp goes, icmp comes.
        let r = try e.apply(
            try Self.config(
                "dns drop flow:sourceContext=pod icmp", include: ["drop": [Self.filter("verdict", ["DROPPED"])]]))
        #expect(r.unchanged == ["dns"] && r.refiltered == ["drop"] && r.relabelled == ["flow"])
        #expect(r.added == ["icmp"] && r.removed == ["tcp"])
        #expect(e.enabledHandlers == ["dns", "drop", "flow", "icmp"])
        #expect(e.handlerFamilies.first { $0.name == "hubble_dns_queries_total" } === dnsBefore)
        #expect(e.handlerFamilies.first { $0.name == "hubble_drop_total" } === dropBefore)
        let fams = families(e)
        #expect(!fams.contains("hubble_tcp_flags_total"))
        #expect(!fams.contains("hubble_flows_processed_total"), "relabelled family starts empty")
        #expect(!fams.contains("hubble_icmp_total"), "new family has no series yet")
        #expect(fams.contains("hubble_dns_queries_total") && fams.contains("hubble_drop_total"))

        e.process(Fixtures.tcpSyn)
        let text = TestSupport.text(e, .prometheusText)
        #expect(
            text.contains("hubble_flows_processed_total{protocol=\"TCP\",source=\"default/client-7d9f8b6c5-abcde\""))
        #expect(!text.contains("hubble_tcp_flags_total"))
        #expect(e.handlerStatus[1].hasSuffix("{filters: 1 include, 0 exclude}"))
    }

    @Test func filtersSelectFlows() throws {
        let c = try Self.config(
            "flow drop", include: ["flow": [Self.filter("source_pod", ["default/"])]],
            exclude: ["drop": [Self.filter("source_pod", ["default/"])]])
        let e = MetricsEngine(config: c, options: options())
        for f in Fixtures.all { e.process(f) }
        let flows = PrometheusSamples(TestSupport.text(e, .prometheusText))
        // Only flows from the default namespace (the client) are counted by flow...
        let fromClient = Fixtures.all.filter { $0.source?.namespace == "default" }.count
        #expect(flows.sum("hubble_flows_processed_total") == Double(fromClient))
        // ...and drop skips them: only the kernel drop from the world remains.
        #expect(flows.sum("hubble_drop_total") == 1)
    }

    @Test func applyRejectsAndKeepsTheOldSet() throws {
        let e = MetricsEngine(config: try Self.config("dns"), options: MetricsEngineOptions(selfMetrics: false))
        // A filter that reads but does not compile.
        #expect(
            throws: MetricsConfigError.invalidFilters(
                metric: "drop", message: "source_ip: invalid CIDR \"10.0.0.0/99\"")
        ) {
            try e.apply(try Self.config("drop", include: ["drop": [Self.filter("source_ip", ["10.0.0.0/99"])]]))
        }
        #expect(e.enabledHandlers == ["dns"])
        var dup = try Self.config("dns")
        dup.handlers.append(dup.handlers[0])
        #expect(throws: MetricsConfigError.duplicateMetric("dns")) { try e.apply(dup) }
        let conflict = MetricsConfig(handlers: [HandlerConfig(name: "http"), HandlerConfig(name: "httpV2")])
        #expect(throws: MetricsConfigError.conflictingMetrics("http", "httpV2")) { try e.apply(conflict) }
        try e.registerCollector(name: "hubble_drop_total", help: "squatter", type: .counter) { [] }
        #expect(throws: MetricsConfigError.familyNameTaken(metric: "drop", family: "hubble_drop_total")) {
            try e.apply(try Self.config("drop"))
        }
        #expect(e.enabledHandlers == ["dns"])
    }

    @Test func selfMetricsFollowTheCurrentSet() throws {
        let e = MetricsEngine(config: MetricsConfig(handlers: []))
        #expect(!TestSupport.text(e, .prometheusText).contains("spyglass_metrics_series"))
        try e.apply(try Self.config("drop"))
        e.process(Fixtures.dropPolicy)
        #expect(
            TestSupport.text(e, .prometheusText).contains("spyglass_metrics_series{metric=\"hubble_drop_total\"} 1"))
    }

    /// process on one thread, render on two others, apply swapping configurations: every exposition stays
    /// well-formed (each family once, sorted) and nothing crashes. Real threads (not the cooperative pool, which
    /// busy loops would starve).
    @Test func swapsWhileProcessingAndRendering() throws {
        let configs = try [
            Self.config(MetricsConfig.defaultSpec),
            Self.config("dns drop flow:sourceContext=pod;destinationContext=pod tcp"),
            Self.config("flow:sourceContext=namespace icmp httpV2:exemplars=true;labelsContext=source_pod"),
            MetricsConfig(handlers: [])
        ]
        let e = MetricsEngine(config: configs[0])
        let stop = StopFlag()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            while !stop.isSet { for f in Fixtures.all { e.process(f) } }
        }
        for format in ExpositionFormat.allCases {
            DispatchQueue.global().async(group: group) {
                while !stop.isSet {
                    let text = TestSupport.text(e, format)
                    let names = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map {
                        $0.split(separator: " ")[2]
                    }
                    if names != names.sorted() || Set(names).count != names.count { stop.bad() }
                }
            }
        }
        for i in 0..<200 {
            _ = try? e.apply(configs[i % configs.count])
            if i % 10 == 0 { Thread.sleep(forTimeInterval: 0.001) }
        }
        stop.set()
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(!stop.sawBad)
        #expect(e.enabledHandlers == [])
    }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    private let badFlag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
    var sawBad: Bool { badFlag.load(ordering: .relaxed) }
    func bad() { badFlag.store(true, ordering: .relaxed) }
}

@Suite(.serialized) struct DynamicWatcherTests {
    final class Log: Sendable {
        let lines = Mutex<[(DynamicMetricsConfigWatcher.LogLevel, String)]>([])
        func add(_ l: DynamicMetricsConfigWatcher.LogLevel, _ s: String) { lines.withLock { $0.append((l, s)) } }
        var errors: [String] { lines.withLock { $0.filter { $0.0 == .error }.map(\.1) } }
        var all: [String] { lines.withLock { $0.map(\.1) } }
    }

    func tempFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("spyglass-dyn-\(UUID().uuidString).yaml")
    }

    @Test func reloadsKeepsLastGoodAndCounts() throws {
        let url = tempFile()
        defer { try? FileManager.default.removeItem(at: url) }
        try "metrics:\n- name: drop\n- name: tcp\n".write(to: url, atomically: true, encoding: .utf8)
        let engine = MetricsEngine(config: MetricsConfig(handlers: []), options: MetricsEngineOptions())
        let log = Log()
        let w = try DynamicMetricsConfigWatcher(path: url.path, engine: engine, log: log.add)
        let r = try w.loadInitial()
        #expect(r.added == ["drop", "tcp"])
        #expect(engine.enabledHandlers == ["drop", "tcp"])
        #expect(w.check() == .unchanged)
        engine.process(Fixtures.dropPolicy)

        // A bad file: rejected once, the last good configuration stays, the problem is visible.
        try "metrics:\n- name: drop\n- name: drop\n".write(to: url, atomically: true, encoding: .utf8)
        guard case .rejected(let err) = w.check() else { Issue.record("expected a rejection"); return }
        #expect(err.kind == .duplicateName)
        #expect(w.check() == .unchanged)
        #expect(engine.enabledHandlers == ["drop", "tcp"])
        #expect(w.lastError == err)
        #expect(log.errors == ["\(err); keeping the previous metrics configuration"])
        var text = TestSupport.text(engine, .prometheusText)
        #expect(
            text.contains(
                "spyglass_metrics_config_reloads_total{result=\"failure\"} 1\nspyglass_metrics_config_reloads_total{result=\"success\"} 1\n"
            ))
        #expect(text.contains("spyglass_metrics_config_last_reload_successful 0\n"))
        #expect(text.contains("spyglass_metrics_config_last_success_timestamp_seconds 1."))
        #expect(text.contains("hubble_drop_total{"))

        // Fixed, with a label change: applied without restart; drop keeps its series.
        try "metrics:\n- name: drop\n- name: tcp\n  contextOptions: [{name: sourceContext, values: [namespace]}]\n"
            .write(to: url, atomically: true, encoding: .utf8)
        guard case .applied(let r2, _) = w.check() else { Issue.record("expected success"); return }
        #expect(r2.relabelled == ["tcp"] && r2.unchanged == ["drop"])
        text = TestSupport.text(engine, .prometheusText)
        #expect(text.contains("spyglass_metrics_config_reloads_total{result=\"success\"} 2\n"))
        #expect(text.contains("spyglass_metrics_config_last_reload_successful 1\n"))
        #expect(text.contains("hubble_drop_total{"))
        #expect(w.lastError == nil)

        // Gone: one failure, configuration kept.
        try FileManager.default.removeItem(at: url)
        guard case .rejected(let gone) = w.check() else { Issue.record("expected a rejection"); return }
        #expect(gone.kind == .unreadable)
        #expect(gone.description.contains("No such file or directory"), "\(gone)")
        #expect(w.check() == .unchanged)
        #expect(engine.enabledHandlers == ["drop", "tcp"])
        #expect(log.all.contains { $0.contains("applied") && $0.contains("relabelled tcp") })
    }

    @Test func secondWatcherOnOneEngineIsRefused() throws {
        let engine = MetricsEngine(config: MetricsConfig(handlers: []))
        _ = try DynamicMetricsConfigWatcher(path: "/nonexistent", engine: engine)
        #expect(throws: MetricsRegistrationError.self) {
            _ = try DynamicMetricsConfigWatcher(path: "/nonexistent", engine: engine)
        }
    }

    @Test func initialLoadThrowsForABadFile() throws {
        let engine = MetricsEngine(config: MetricsConfig(handlers: []))
        let w = try DynamicMetricsConfigWatcher(path: "/nonexistent/dyn.yaml", engine: engine)
        #expect(throws: DynamicMetricsConfigError.self) { try w.loadInitial() }
    }

    @Test func runPollsUntilCancelled() async throws {
        let url = tempFile()
        defer { try? FileManager.default.removeItem(at: url) }
        try "metrics:\n- name: drop\n".write(to: url, atomically: true, encoding: .utf8)
        let engine = MetricsEngine(config: MetricsConfig(handlers: []))
        let w = try DynamicMetricsConfigWatcher(path: url.path, engine: engine, interval: .milliseconds(20))
        let task = Task { await w.run() }
        defer { task.cancel() }
        let deadline = ContinuousClock.now + .seconds(5)
        while engine.enabledHandlers != ["drop"] && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(engine.enabledHandlers == ["drop"])
        try "metrics:\n- name: icmp\n".write(to: url, atomically: true, encoding: .utf8)
        while engine.enabledHandlers != ["icmp"] && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(engine.enabledHandlers == ["icmp"])
        task.cancel()
        await task.value
    }
}

/// Sums of samples by family name, from text exposition.
struct PrometheusSamples {
    var values: [(String, Double)] = []
    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) { values.append((String(name), v)) }
        }
    }
    func sum(_ name: String) -> Double { values.filter { $0.0 == name }.reduce(0) { $0 + $1.1 } }
}
