// spyglass-bench tc-cost: the tc program's cost per packet under BPF_PROG_TEST_RUN, for working on the datapath
// without traffic noise (bench/datapath.sh measures the same programs under real traffic with bpf_stats).
import Foundation
import SpyglassDatapath
import SpyglassTesting

struct TCCostBench {
    let repeats: UInt32

    /// Packets of an established connection (the first run creates its state), the common case at `medium`.
    static let cases: [(String, [UInt8])] = [
        (
            "UDP, 18-byte payload",
            PacketBuilder.ethernet().ipv4(src: "10.0.0.1", dst: "10.0.0.2")
                .udp(sport: 40000, dport: 5201).payload([UInt8](repeating: 0x61, count: 18)).build()
        ),
        (
            "TCP ACK with 1000 bytes",
            PacketBuilder.ethernet().ipv4(src: "10.0.0.1", dst: "10.0.0.2")
                .tcp(sport: 40001, dport: 9000, flags: [.ack]).payload([UInt8](repeating: 0x62, count: 1000)).build()
        ),
        (
            "TCP ACK to port 80 (HTTP port: L7 candidate check)",
            PacketBuilder.ethernet().ipv4(src: "10.0.0.1", dst: "10.0.0.2")
                .tcp(sport: 40002, dport: 80, flags: [.ack]).build()
        )
    ]

    /// Two connections whose packets alternate: every packet misses the per-CPU connection cache (bpf/lib/
    /// conn_cache.bpf.h) and takes the slow path. BPF_PROG_TEST_RUN repeats one frame, so these are single runs.
    static let alternating: [[UInt8]] = [40100, 40101].map {
        PacketBuilder.ethernet().ipv4(src: "10.0.0.1", dst: "10.0.0.2").udp(sport: $0, dport: 5201)
            .payload([UInt8](repeating: 0x61, count: 18)).build()
    }
    static let alternatingRuns = 4001

    /// Median ns of single runs alternating over `frames`.
    static func alternatingMedian(_ frames: [[UInt8]], _ run: ([UInt8]) throws -> UInt32) throws -> UInt32 {
        var runs: [UInt32] = []
        for i in 0..<alternatingRuns { runs.append(try run(frames[i % frames.count])) }
        return runs.sorted()[runs.count / 2]
    }

    func run() throws {
        // One CPU throughout: the connection cache is per CPU, as a NAPI batch's packets are.
        let cpu = try CPUAffinity.allowed().first ?? 0
        try CPUAffinity.pinned(to: cpu) { try measure() }
    }

    func measure() throws {
        print(
            "tc-cost: spy_tc_ingress under BPF_PROG_TEST_RUN, \(repeats) repeats per figure, median of 5 runs (101 at none)"
        )
        // Baseline of the same run: a program that only returns TC_ACT_OK, through the same test-run loop.
        let empty = try EmptyTCProgram()
        var baseline: [String: UInt32] = [:]
        for (name, frame) in Self.cases {
            let runs = try (0..<5).map { _ in try empty.testRun(frame: frame, repeat: repeats).durationNs }
            baseline[name] = runs.sorted()[runs.count / 2]
            print(
                "  baseline empty program  \(name.padding(toLength: 52, withPad: " ", startingAt: 0)) \(baseline[name]!) ns/packet"
            )
        }
        for level in [AggregationLevel.medium, .none] {
            var config = DatapathConfig()
            config.aggregation = level
            let programs = try TCPrograms(config: config)
            for (name, frame) in Self.cases {
                _ = try programs.testRun(.ingress, frame: frame)  // creates the connection state
                // At `none` every packet is an event. Nobody reads the ring during a test run, so past the wakeup
                // threshold (64 KiB queued) every event would force a wakeup (~5 µs here, an interrupt in a VM) and
                // past the ring's size every event would fail: 250 events per run (56 KiB), drained after each, measure
                // what the agent's datapath does when its reader keeps up.
                let count = level == .none ? min(repeats, 250) : repeats
                var runs: [UInt32] = []
                for _ in 0..<(level == .none ? 101 : 5) {
                    runs.append(try programs.testRun(.ingress, frame: frame, repeat: count).durationNs)
                    _ = try programs.drainEvents()
                }
                let median = runs.sorted()[runs.count / 2]
                let label =
                    "\(level)".padding(toLength: 8, withPad: " ", startingAt: 0)
                    + name.padding(toLength: 52, withPad: " ", startingAt: 0)
                let own = Int(median) - Int(baseline[name] ?? 0)
                print("  \(label) \(median) ns/packet, \(own) ns above the empty program")
                print(
                    "RESULT tc_cost_\(level) case=\(Self.cases.firstIndex { $0.0 == name }!) ns=\(median) baseline_ns=\(baseline[name] ?? 0) program_ns=\(own)"
                )
            }
            if level == .medium {
                for frame in Self.alternating { _ = try programs.testRun(.ingress, frame: frame) }
                let base = try Self.alternatingMedian(Self.alternating) { try empty.testRun(frame: $0).durationNs }
                let median = try Self.alternatingMedian(Self.alternating) {
                    try programs.testRun(.ingress, frame: $0).durationNs
                }
                let own = Int(median) - Int(base)
                let name = "UDP, two connections alternating (cache misses)"
                print(
                    "  medium  \(name.padding(toLength: 52, withPad: " ", startingAt: 0)) \(median) ns/packet, \(own) ns above the empty program (single runs, median of \(Self.alternatingRuns))"
                )
                print("RESULT tc_cost_medium case=alternating ns=\(median) baseline_ns=\(base) program_ns=\(own)")
            }
        }
    }
}
