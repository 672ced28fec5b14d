// spyglass-bench: prints figures for the metric engine. Build in release:
//   swift build -c release --product spyglass-bench && .build/release/spyglass-bench metrics
import Foundation
import SpyglassFlow
import SpyglassMetrics

let labels7 = "source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"

func endpoint(_ ns: String, _ pod: String, _ wl: String) -> Endpoint {
    Endpoint(namespace: ns, labels: ["k8s:app=\(wl)", "k8s:io.kubernetes.pod.namespace=\(ns)"], podName: pod,
             workloads: [Workload(name: wl, kind: "Deployment")])
}

/// A steady mix of flow kinds that together hit all seven default handlers.
func flowMix() -> [Flow] {
    let client = endpoint("default", "client-7d9f8b6c5-abcde", "client")
    let server = endpoint("shop", "web-5c6d7f8b9-xyz12", "web")
    let dnsSrv = endpoint("kube-system", "coredns-6f6b679f8f-q7x2z", "coredns")
    let c = IPAddress("10.0.0.1")!, s = IPAddress("10.0.1.2")!, d = IPAddress("10.0.2.10")!
    let v4 = { (a: IPAddress, b: IPAddress) in IPHeader(source: a, destination: b, ipVersion: .ipv4) }
    let trace = CiliumEventType(type: CiliumEventType.trace, subType: 0)
    let l7 = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)
    return [
        Flow(verdict: .forwarded, ip: v4(c, s), l4: .tcp(TCP(sourcePort: 43210, destinationPort: 8080, flags: [.syn])),
             source: client, destination: server, eventType: trace, trafficDirection: .egress, isReply: false),
        Flow(verdict: .forwarded, ip: v4(s, c), l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210, flags: [.syn, .ack])),
             source: server, destination: client, eventType: trace, trafficDirection: .egress, isReply: true),
        Flow(verdict: .forwarded, ip: v4(d, c), l4: .udp(UDP(sourcePort: 53, destinationPort: 40001)), source: dnsSrv,
             destination: client,
             l7: Layer7(type: .response, record: .dns(DNS(query: "example.com.", ips: ["93.184.216.34"], rcode: 0,
                                                          qtypes: ["A"], rrtypes: ["A"]))),
             eventType: l7, trafficDirection: .egress, isReply: true),
        Flow(time: Timestamp(seconds: 1_700_000_000, nanos: 0), verdict: .forwarded, ip: v4(s, c),
             l4: .tcp(TCP(sourcePort: 8080, destinationPort: 43210)), source: server, destination: client,
             l7: Layer7(type: .response, latencyNs: 12_000_000,
                        record: .http(HTTP(code: 200, method: "GET", url: "/", protocol: "HTTP/1.1"))),
             eventType: l7, trafficDirection: .egress, isReply: true,
             traceContext: TraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736")),
        Flow(verdict: .forwarded, ip: v4(c, s), l4: .icmpv4(ICMP(type: 8, code: 0)), source: client, destination: server,
             eventType: trace, trafficDirection: .egress, isReply: false),
        Flow(verdict: .dropped, dropReasonDesc: .policyDenied, ip: v4(c, s),
             l4: .tcp(TCP(sourcePort: 43211, destinationPort: 25, flags: [.syn])), source: client, destination: server,
             eventType: CiliumEventType(type: CiliumEventType.drop, subType: 133), trafficDirection: .egress, isReply: false),
    ]
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

func benchProcess(flows n: Int) throws {
    let spec = "dns drop tcp flow port-distribution icmp httpV2".split(separator: " ")
        .map { "\($0):labelsContext=\(labels7)" }.joined(separator: " ")
    let (config, _) = try MetricsConfig.parse(spec)
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
    print(String(format: "  %d flows in %.3f s → %.0f flows/s on one core (%.0f ns/flow)", n, seconds(elapsed), 1 / perFlow, perFlow * 1e9))
    let series = engine.render(.prometheusText).split(separator: UInt8(ascii: "\n")).count
    print("  exposition after the run: \(series) lines")
}

func benchRender() throws {
    let (config, _) = try MetricsConfig.parse("port-distribution:labelsContext=\(labels7)")
    let engine = MetricsEngine(config: config, options: MetricsEngineOptions(defaultSeriesLimit: 200_000))
    var flow = flowMix()[0]
    for k in 0..<100_000 {
        flow.ip = IPHeader(source: IPAddress(high: UInt64(0x0A00_0000 + k) << 32, low: 0, isIPv6: false),
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
        print(name + String(format: " first %.1f ms (includes sorting the new series), steady %.1f ms, %d bytes",
                            seconds(first) * 1e3, seconds(best) * 1e3, bytes))
    }
}

// usage: spyglass-bench metrics [--flows N] [--skip-render]
// (--flows/--skip-render let `valgrind` count heap allocations per flow: run twice with different N and divide
// the difference in "total heap usage" allocs by the difference in N.)
let args = Array(CommandLine.arguments.dropFirst())
guard args.first == "metrics" else {
    print("usage: spyglass-bench metrics [--flows N] [--skip-render]")
    exit(2)
}
var flowCount = 3_000_000
if let i = args.firstIndex(of: "--flows"), i + 1 < args.count, let n = Int(args[i + 1]) { flowCount = n }
try benchProcess(flows: flowCount)
if !args.contains("--skip-render") { try benchRender() }
