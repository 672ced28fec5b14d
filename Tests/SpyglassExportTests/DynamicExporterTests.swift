import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

@Suite(.serialized) struct DynamicExporterTests {
    func metric(_ ex: FlowExporters, _ name: String, _ label: (String, String)? = nil) -> Double? {
        guard let fam = ex.selfMetrics().first(where: { $0.name == name }) else { return nil }
        return fam.samples.first { s in label.map { s.labels == [$0.0: $0.1] } ?? s.labels.isEmpty }?.value
    }

    @Test func addUpdateRemoveEndAndBadYAML() throws {
        let dir = TestDir.make("dyn")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = dir + "/flowlogs.yaml"
        try """
        flowLogs:
        - name: all
          filePath: \(dir)/all.log
          fieldMask: [verdict, uuid]
        - name: drops
          filePath: \(dir)/drops.log
          includeFilters:
          - verdict: [DROPPED]
          excludeFilters: [{source_pod: ["ingress/"]}]
          fileMaxSizeMb: 1
          fileCompress: true
          aggregationInterval: 0s
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        let ex = try FlowExporters(
            static: nil, dynamicConfigPath: cfg, nodeName: "n", logger: testLogger, dynamicPollInterval: .seconds(3600))
        let dyn = ex.dynamicForTesting!
        #expect(dyn.names == ["all", "drops"])
        #expect(dyn.lastError == nil)
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "add")) == 2)
        #expect(metric(ex, "hubble_dynamic_exporter_exporters_total", ("status", "active")) == 2)
        #expect(metric(ex, "hubble_dynamic_exporter_up", ("name", "drops")) == 1)
        #expect(metric(ex, "hubble_dynamic_exporter_config_hash")! > 0)
        #expect(metric(ex, "hubble_dynamic_exporter_config_last_applied")! > 1_700_000_000)

        for (_, f) in Fx.all { ex.export(f) }
        #expect(
            eventually {
                dyn.exporter(named: "all")!.written == UInt64(Fx.all.count)
                    && dyn.exporter(named: "drops")!.written == 2
            })

        // Update "drops" (now only forwarded), remove "all", add "icmp" with an end in the past.
        let oldDrops = dyn.exporter(named: "drops")!
        try """
        flowLogs:
        - name: drops
          filePath: \(dir)/drops.log
          includeFilters:
          - verdict: [FORWARDED]
            protocol: [icmp]
        - name: icmp
          filePath: \(dir)/icmp.log
          end: "2001-01-01T00:00:00Z"
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(dyn.reload())
        #expect(dyn.names == ["drops", "icmp"])
        #expect(dyn.exporter(named: "drops") !== oldDrops)
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "update")) == 1)
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "remove")) == 1)
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "add")) == 3)
        #expect(metric(ex, "hubble_dynamic_exporter_up", ("name", "icmp")) == 0)
        #expect(metric(ex, "hubble_dynamic_exporter_exporters_total", ("status", "inactive")) == 1)
        #expect(metric(ex, "hubble_dynamic_exporter_up", ("name", "all")) == nil)

        for (_, f) in Fx.all { ex.export(f) }
        #expect(eventually { dyn.exporter(named: "drops")!.written == 2 })

        // Unchanged content: nothing happens. Reordered filters: no update either.
        #expect(dyn.reload())
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "update")) == 1)

        // Bad YAML: the last good config stays, the failure is counted once, the error says where.
        try """
        flowLogs:
        - name: drops
          filePath: \(dir)/drops.log
          includeFilters:
          - verdict: [DROPED]
        """.write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(!dyn.reload())
        #expect(!dyn.reload())
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "failure")) == 1)
        #expect(
            dyn.lastError?.contains(#"flowLogs[0] "drops": includeFilters[0]: verdict: unknown enum value "DROPED""#)
                == true, "\(dyn.lastError ?? "")")
        #expect(dyn.names == ["drops", "icmp"])
        try "flowLogs:\n- name: x\n  filePath: [unclosed\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(!dyn.reload())
        #expect(dyn.lastError?.contains("invalid YAML") == true)
        #expect(metric(ex, "hubble_dynamic_exporter_reconfigurations_total", ("op", "failure")) == 2)

        ex.shutdown(timeout: .seconds(10))
        let all = readAllLines(path: dir + "/all.log").lines
        #expect(all.count == Fx.all.count)
        #expect(all[0].hasPrefix(#"{"flow":{"uuid":""#) && all[0].hasSuffix(#"","verdict":"FORWARDED"}}"#))
        let drops = readAllLines(path: dir + "/drops.log").lines
        #expect(drops.count == 4)
        #expect(drops.prefix(2).allSatisfy { $0.contains(#""verdict":"DROPPED""#) })
        #expect(drops.suffix(2).allSatisfy { $0.contains(#""ICMPv"#) })
        #expect(!FileManager.default.fileExists(atPath: dir + "/icmp.log"))
        // Counters of the replaced and removed exporters are kept.
        let written = ex.selfMetrics().first { $0.name == "spyglass_export_events_written_total" }!
        #expect(written.samples.first { $0.labels == ["exporter": "dynamic:all"] }?.value == Double(Fx.all.count))
        #expect(written.samples.first { $0.labels == ["exporter": "dynamic:drops"] }?.value == 4)
    }

    @Test func pollingPicksUpChanges() throws {
        let dir = TestDir.make("poll")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cfg = dir + "/flowlogs.yaml"
        let ex = try FlowExporters(
            static: nil, dynamicConfigPath: cfg, nodeName: "n", logger: testLogger,
            dynamicPollInterval: .milliseconds(50))
        let dyn = ex.dynamicForTesting!
        #expect(dyn.lastError?.contains("cannot read") == true)
        try "flowLogs:\n- name: a\n  filePath: \(dir)/a.log\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(eventually(5) { dyn.names == ["a"] })
        try "flowLogs: []\n".write(toFile: cfg, atomically: true, encoding: .utf8)
        #expect(eventually(5) { dyn.names.isEmpty })
        ex.shutdown(timeout: .seconds(5))
    }

    @Test(arguments: [
        ("flowLogs:\n- filePath: /tmp/a\n", "flowLogs[0]: name: required"),
        ("flowLogs:\n- name: a\n", #"flowLogs[0] "a": filePath: required"#),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a}\n- {name: a, filePath: /tmp/b}\n",
            #"flowLogs[1] "a": name: duplicate name "a""#
        ),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a}\n- {name: b, filePath: /tmp/a}\n",
            #"flowLogs[1] "b": filePath: file "/tmp/a" is used by another flow log"#
        ),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a, fieldMask: [source.bogus]}\n",
            #"flowLogs[0] "a": fieldMask: invalid field path "source.bogus""#
        ),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a, aggregationInterval: 5 minutes}\n",
            #"flowLogs[0] "a": aggregationInterval: invalid duration "5 minutes""#
        ),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a, end: tomorrow}\n",
            #"flowLogs[0] "a": end: invalid RFC 3339 time "tomorrow""#
        ),
        (
            "flowLogs:\n- {name: a, filePath: /tmp/a, fileMaxSizeMb: -3}\n",
            #"flowLogs[0] "a": fileMaxSizeMb: expected a number of 0 or more, found "-3""#
        ),
        ("flowLogs:\n- {name: a, filePath: /tmp/a, filepath: /tmp/b}\n", #"flowLogs[0]: unknown key "filepath""#),
        ("flowlogs: []\n", #"flowlogs: unknown key (expected flowLogs)"#)
    ])
    func invalidFiles(_ yaml: String, _ expected: String) {
        do {
            _ = try FlowLogsFile.parse(yaml)
            Issue.record("accepted")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    @Test func configEqualityIgnoresOrder() throws {
        let a = try FlowLogsFile.parse(
            "flowLogs:\n- {name: a, filePath: /x, fieldMask: [IP, l4], includeFilters: [{verdict: [DROPPED]}, {protocol: [udp]}]}\n"
        )
        let b = try FlowLogsFile.parse(
            "flowLogs:\n- {name: a, filePath: /x, fieldMask: [l4, IP], includeFilters: [{protocol: [udp]}, {verdict: [DROPPED]}]}\n"
        )
        #expect(a == b)
        #expect(Timestamp(rfc3339: "2023-10-09T23:59:59-07:00") == Timestamp(seconds: 1_696_921_199, nanos: 0))
        #expect(Timestamp(rfc3339: " 1970-01-01T00:00:01.5Z\n") == Timestamp(seconds: 1, nanos: 500_000_000))
        #expect(Timestamp(rfc3339: "2023-10-09 23:59:59") == nil)
        // More than 9 fraction digits (Go accepts them) trapped the parser before SpyglassSupport's tests found it.
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:01.1234567891Z") == Timestamp(seconds: 1, nanos: 123_456_789))
    }
}
