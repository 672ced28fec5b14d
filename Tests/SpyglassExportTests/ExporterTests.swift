import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

@Suite(.serialized) struct ExporterTests {
    @Test func staticConfigErrorsNameTheFlag() throws {
        func err(_ c: StaticExporterConfig) -> String {
            do {
                try c.validate()
                return ""
            } catch { return error.description }
        }
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", allowList: #"{"verdict":["DROPPED"]},{"verdict":["ERROR"]}"#))
                .hasPrefix(#"--hubble-export-allowlist: invalid JSON: unexpected "," between values"#))
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", denyList: #"{"source_pod":[""]}"#))
                == #"--hubble-export-denylist: source_pod: empty value """#)
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", fieldMask: ["source.nope"])).hasPrefix(
                #"--hubble-export-fieldmask: invalid field path "source.nope""#))
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", fieldAggregate: ["bogus"])).hasPrefix(
                "--hubble-export-fieldaggregate: "))
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", fileMaxSizeMB: -1)).hasPrefix(
                "--hubble-export-file-max-size-mb: "))
        #expect(
            err(StaticExporterConfig(filePath: "/tmp/x", fileMaxBackups: -2)).hasPrefix(
                "--hubble-export-file-max-backups: "))
        #expect(throws: ExportConfigError.self) { try StaticExporterConfig.parseDuration("10 parsecs") }
        #expect(try StaticExporterConfig.parseDuration("1m30s") == .seconds(90))
        #expect(try StaticExporterConfig.parseDuration("500ms") == .milliseconds(500))
        #expect(
            err(
                StaticExporterConfig(
                    filePath: "stdout", allowList: "{} {}",
                    fieldMask: StaticExporterConfig.splitList("time, verdict IP"))) == "")
    }

    @Test func filtersMaskAndLostEvents() throws {
        let dir = TestDir.make("filters")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let spec = try ExporterSpec.test(
            path: path, allow: #"{"verdict":["DROPPED"]} {"event_type":[{"type":129}]}"#,
            deny: #"{"protocol":["http"]}"#,
            mask: ["verdict", "l7.dns.query", "uuid"])
        let ex = FlowExporters(spec: spec, nodeName: "kind-worker", logger: testLogger)
        for (_, f) in Fx.all { ex.export(f) }
        // Passes: the event_type filter matches lost events.
        ex.exportLost(source: .perfEventRingBuffer, count: 7, cpu: 1)
        ex.shutdown(timeout: .seconds(5))
        let lines = readAllLines(path: path).lines
        #expect(lines.count == 5)
        #expect(
            lines[0].hasPrefix(#"{"flow":{"uuid":""#)
                && lines[0].hasSuffix(#"","verdict":"FORWARDED","l7":{"dns":{"query":"example.com."}}}}"#))
        #expect(lines[2].hasSuffix(#""verdict":"DROPPED","l7":{}}}"#))
        #expect(
            lines[4].hasPrefix(
                #"{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"7","cpu":1},"node_name":"kind-worker","time":""#
            ))
        // Every flow got its own v4 UUID.
        let uuids = lines.prefix(4).compactMap { l -> String? in
            guard let r = l.range(of: #""uuid":""#) else { return nil }
            return String(l[r.upperBound...].prefix(36))
        }
        #expect(Set(uuids).count == 4)
        #expect(
            uuids.allSatisfy {
                $0.range(
                    of: "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                    options: .regularExpression) != nil
            })
    }

    @Test func uuidFilterSeesTheGeneratedUUID() throws {
        let dir = TestDir.make("uuid")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try ExporterSpec.test(path: dir + "/e.log", deny: #"{"uuid":["not-this-one"]}"#)
        #expect(spec.filtersUseUUID)
        let ex = FlowExporters(spec: spec, nodeName: "n", logger: testLogger)
        ex.export(Fx.tcp)
        ex.shutdown(timeout: .seconds(5))
        #expect(readAllLines(path: dir + "/e.log").lines.count == 1)
    }

    @Test func queueFullDropsAreCountedAndReported() throws {
        let dir = TestDir.make("queue")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let ex = FlowExporters(spec: try .test(path: path, queue: 8), nodeName: "n", logger: testLogger)
        let start = ContinuousClock.now
        for i in 0..<20_000 { ex.export(numbered(i)) }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(5))  // never blocks on the writer
        ex.shutdown(timeout: .seconds(10))
        let s = ex.staticForTesting!
        let dropped = s.dropped["queue_full"] ?? 0
        #expect(dropped > 0)
        #expect(s.written + dropped == 20_000)
        let lines = readAllLines(path: path).lines
        let lost = lines.filter { $0.hasPrefix(#"{"lost_events""#) }.compactMap { l -> UInt64? in
            guard let r = l.range(of: #""num_events_lost":""#) else { return nil }
            return UInt64(l[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(lost.reduce(0, +) == dropped)  // nothing lost unseen
        let seq = sequenceNumbers(lines)
        #expect(seq == seq.sorted())
        let metrics = ex.selfMetrics()
        let fam = metrics.first { $0.name == "spyglass_export_dropped_total" }!
        #expect(
            fam.samples.contains {
                $0.labels == ["exporter": "static", "reason": "queue_full"] && $0.value == Double(dropped)
            })
    }

    @Test func aggregationThroughTheExporter() throws {
        let dir = TestDir.make("agg")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        var spec = try ExporterSpec.test(path: path)
        spec.aggregate = try FieldMask(paths: ["verdict"])
        spec.aggregationInterval = .seconds(3600)
        let ex = FlowExporters(spec: spec, nodeName: "n", logger: testLogger)
        for (_, f) in Fx.all { ex.export(f) }
        ex.exportLost(source: .hubbleRingBuffer, count: 2, cpu: nil)  // written at once, not aggregated
        #expect(eventually { readAllLines(path: path).lines.count == 1 })
        ex.shutdown(timeout: .seconds(5))  // the final tick writes the aggregates
        let lines = readAllLines(path: path).lines
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix(#"{"lost_events":{"source":"HUBBLE_RING_BUFFER""#))
        #expect(
            lines[1]
                == #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"FORWARDED","aggregate":{"ingress_flow_count":2,"egress_flow_count":7,"unknown_direction_flow_count":1}},"time":"2023-11-14T22:13:20.123456789Z"}"#
        )
        #expect(
            lines[2]
                == #"{"flow":{"time":"2023-11-14T22:13:20.123456789Z","verdict":"DROPPED","aggregate":{"ingress_flow_count":1,"unknown_direction_flow_count":1}},"time":"2023-11-14T22:13:20.123456789Z"}"#
        )
        #expect(
            lines[3]
                == #"{"flow":{"time":"1970-01-01T00:00:01Z","aggregate":{"unknown_direction_flow_count":1}},"time":"1970-01-01T00:00:01Z"}"#
        )
    }

    @Test func stdoutNeedsNoFile() throws {
        let ex = try FlowExporters(
            static: StaticExporterConfig(filePath: "stdout", allowList: #"{"verdict":["AUDIT"]}"#),
            dynamicConfigPath: nil, nodeName: "n", logger: testLogger)
        ex.export(Fx.tcp)  // filtered out; nothing printed
        #expect(ex.shutdown(timeout: .seconds(2)))
    }
}
