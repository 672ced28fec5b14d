import Foundation
import SpyglassAgent
import SpyglassTesting
import Testing

/// The standard process_* families a Prometheus user alerts on (memory, CPU, descriptors) describe this process.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct ProcessMetricsTests {
    @Test func processFamiliesDescribeTheAgentProcess() async throws {
        try await withLab { lab in
            let pod = try lab.addPod(name: "proc", ipv4: "10.199.12.2/24")
            var config = AgentConfig()
            config.interfaces = [pod.hostInterface]
            config.metricsServer = "127.0.0.1:0"
            try await withStartedAgent(config) { agent in
                let m = try scrapeMetrics(agent.serverPort) { $0.value("process_resident_memory_bytes") > 0 }
                let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
                let vmRSSkB =
                    status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
                    .flatMap { Double($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
                let rss = m.value("process_resident_memory_bytes")
                #expect(abs(rss - vmRSSkB * 1024) < 64 * 1024 * 1024, "RSS \(rss) vs VmRSS \(vmRSSkB) kB")
                #expect(m.value("process_virtual_memory_bytes") >= rss)
                #expect(m.value("process_cpu_seconds_total") > 0)
                #expect(m.value("process_open_fds") >= 3)
                #expect(m.value("process_max_fds") >= m.value("process_open_fds"))
                let start = m.value("process_start_time_seconds")
                let now = Date().timeIntervalSince1970
                #expect(start <= now + 1 && start > now - 24 * 3600, "start time \(start)")
            }
        }
    }
}
