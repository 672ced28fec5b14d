import Foundation
import SpyglassTesting
import Testing

@testable import SpyglassMetrics

/// The standard process_* families a Prometheus user alerts on (memory, CPU, descriptors) describe this process.
@Suite struct ProcessMetricsTests {
    @Test func processFamiliesDescribeThisProcess() throws {
        let engine = MetricsEngine(config: MetricsConfig(handlers: []))
        try ProcessMetrics.register(on: engine, version: "1.2.3-test")
        // Some CPU time to report.
        var spin = 0.0
        for i in 0..<2_000_000 { spin += Double(i).squareRoot() }
        #expect(spin > 0)
        let text = String(decoding: engine.render(.prometheusText), as: UTF8.self)
        let m = PrometheusSamples(text)
        let vmRSSkB = Double(try #require(residentKiB(), "no VmRSS in /proc/self/status"))
        let rss = m.sum("process_resident_memory_bytes")
        #expect(rss > 0)
        #expect(abs(rss - vmRSSkB * 1024) < 64 * 1024 * 1024, "RSS \(rss) vs VmRSS \(vmRSSkB) kB")
        #expect(m.sum("process_virtual_memory_bytes") >= rss)
        #expect(m.sum("process_cpu_seconds_total") > 0)
        #expect(m.sum("process_open_fds") >= 3)
        #expect(m.sum("process_max_fds") >= m.sum("process_open_fds"))
        let start = m.sum("process_start_time_seconds")
        let now = Date().timeIntervalSince1970
        #expect(start <= now + 1 && start > now - 24 * 3600, "start time \(start)")
        #expect(text.contains("spyglass_build_info{"))
        #expect(text.contains("version=\"1.2.3-test\""))
        #expect(text.contains("# TYPE process_cpu_seconds_total counter"))
        // Registered twice: refused, as every collector is.
        #expect(throws: (any Error).self) { try ProcessMetrics.register(on: engine, version: "x") }
    }

    @Test func statLineWithSpacesAndParenthesesInTheName() {
        // Fields after the command: state (3) … utime 14, stime 15, starttime 22, vsize 23, rss 24.
        let fields = (3...24).map { n -> String in
            switch n {
            case 3: "S"
            case 14: "300"
            case 15: "100"
            case 22: "5000"
            case 23: "1048576"
            case 24: "256"
            default: "0"
            }
        }
        let stat = "42 (a (weird) name) " + fields.joined(separator: " ")
        let s = ProcessMetrics.parse(
            stat: stat, bootTime: 1_000_000, ticksPerSecond: 100, pageSize: 4096, openFDs: 7, maxFDs: 1024)
        #expect(
            s
                == ProcessMetrics.Snapshot(
                    cpuSeconds: 4, virtualBytes: 1_048_576, residentBytes: 256 * 4096, startTimeSeconds: 1_000_050,
                    openFDs: 7, maxFDs: 1024))
        #expect(
            ProcessMetrics.parse(
                stat: "42 (x) S 1 2", bootTime: 0, ticksPerSecond: 100, pageSize: 4096, openFDs: 0, maxFDs: 0)
                == nil)
        #expect(
            ProcessMetrics.parse(
                stat: "no parenthesis", bootTime: 0, ticksPerSecond: 100, pageSize: 4096, openFDs: 0, maxFDs: 0)
                == nil)
    }
}
