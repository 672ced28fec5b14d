import Foundation
import SpyglassFlow
import SpyglassTesting
import Testing

/// Not a timed test: prints events/s when `SPYGLASS_THROUGHPUT=1` is set. Run it in release mode for a
/// meaningful figure:
///     SPYGLASS_THROUGHPUT=1 swift test -c release -Xswiftc -enable-testing --filter DecoderThroughput
@Suite("Decoder throughput", .enabled(if: EnvFlag.throughput))
struct DecoderThroughput {
    @Test func decodeRate() throws {
        let names: [UInt32: String] = [2: "eth0"]
        let decoder = EventDecoder(
            nodeName: "node", bootToWallOffsetNs: BootClock.bootToWallOffsetNs(), interfaceName: { names[$0] })
        let records = [
            EventBuilder.trace(
                frame: Frames.v4().tcp(sport: 40000, dport: 443, flags: [.syn]).payload(
                    [UInt8](repeating: 0, count: 200)
                ).build(), isReply: false
            ).build(),
            EventBuilder.trace(
                frame: Frames.v6().udp(sport: 53, dport: 5353).payload([UInt8](repeating: 0, count: 200)).build(),
                isReply: true
            ).build()
        ]
        let n = 2_000_000
        var checksum: UInt64 = 0
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            for i in 0..<n {
                let flow = try records[i & 1].withUnsafeBytes { raw throws(DecodeError) in try decoder.decode(raw) }
                checksum &+= flow.aggregatedBytes &+ UInt64(flow.trafficDirection.rawValue)
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("EventDecoder: \(n) events in \(seconds) s = \(Int(Double(n) / seconds)) events/s (checksum \(checksum))")
        #expect(checksum > 0)
    }
}

enum EnvFlag {
    static var throughput: Bool {
        ProcessInfo.processInfo.environment["SPYGLASS_THROUGHPUT"] == "1"
    }
}
