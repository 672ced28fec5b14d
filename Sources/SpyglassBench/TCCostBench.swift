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

    func run() throws {
        print(
            "tc-cost: spy_tc_ingress under BPF_PROG_TEST_RUN, \(repeats) repeats per figure, median of 5 runs (101 at none; includes the test-run loop's own ~25 ns)"
        )
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
                print("  \(label) \(median) ns/packet")
            }
        }
    }
}
