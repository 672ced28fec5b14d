// `spyglass-bench metrics`: the metric engine alone (flows through the seven families; rendering 100k series).
import Foundation
import SpyglassFlow
import SpyglassMetrics

func benchProcess(flows n: Int) throws {
    let (config, _) = try MetricsConfig.parse(sevenFamiliesSpec())
    let engine = MetricsEngine(config: config)
    let flows = flowMix()
    for _ in 0..<10_000 { for f in flows { engine.process(f) } }  // warm up: every series exists
    let clock = ContinuousClock()
    var i = 0
    let elapsed = clock.measure {
        flows.withUnsafeBufferPointer { buf in
            while i < n {
                engine.process(buf[i % buf.count])  // borrowed, as a consumer hands over the flow it decoded
                i += 1
            }
        }
    }
    let perFlow = seconds(elapsed) / Double(n)
    print("process: 7 default handlers, each with the 7-label labelsContext; \(flows.count)-flow mix, steady state")
    print(
        String(
            format: "  %d flows in %.3f s → %.0f flows/s on one core (%.0f ns/flow)", n, seconds(elapsed), 1 / perFlow,
            perFlow * 1e9))
    let series = engine.render(.prometheusText).split(separator: UInt8(ascii: "\n")).count
    print("  exposition after the run: \(series) lines")
}

func benchRender() throws {
    let (config, _) = try MetricsConfig.parse("port-distribution:labelsContext=\(labels7)")
    let engine = MetricsEngine(config: config, options: MetricsEngineOptions(defaultSeriesLimit: 200_000))
    var flow = flowMix()[0]
    for k in 0..<100_000 {
        flow.ip = IPHeader(
            source: IPAddress(high: UInt64(0x0A00_0000 + k) << 32, low: 0, isIPv6: false),
            destination: flow.ip!.destination, ipVersion: .ipv4)
        flow.l4 = .tcp(TCP(sourcePort: 40000, destinationPort: UInt16(k % 1000 + 1), flags: [.syn]))
        engine.process(flow)
    }
    let clock = ContinuousClock()
    print("render: 100,000 series of hubble_port_distribution_total (9 labels each)")
    for format in [ExpositionFormat.prometheusText, .openMetrics] {
        var bytes = 0
        let first = clock.measure { bytes = engine.render(format).count }
        var best = Duration.seconds(1000)
        for _ in 0..<5 { best = min(best, clock.measure { _ = engine.render(format) }) }
        let name = "\(format)".padding(toLength: 15, withPad: " ", startingAt: 0)
        print(
            name
                + String(
                    format: " first %.1f ms (includes sorting the new series), steady %.1f ms, %d bytes",
                    seconds(first) * 1e3, seconds(best) * 1e3, bytes))
    }
}
