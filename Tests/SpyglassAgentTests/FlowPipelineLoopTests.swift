import SpyglassFlow
import SpyglassMetrics
import SpyglassTesting
import Testing

@testable import SpyglassAgent
@testable import SpyglassDatapath

/// The thread around the step: batches from the queue go through `FlowPipelineStep` and the step's counters reach
/// the accessors the metrics endpoint reads; closing the queue drains it.
@Suite("Flow pipeline thread")
struct FlowPipelineLoopTests {
    typealias H = StepHarness

    @Test func batchesRunThroughTheStepAndItsCountersArePublished() throws {
        let queue = EventQueue(capacity: 4, batchBytes: 64 << 10)
        let (config, _) = try MetricsConfig.parse(MetricsConfig.defaultSpec)
        let metrics = MetricsEngine(config: config)
        let sink = FlowSink()
        let pipeline = FlowPipeline(
            queue: queue, metrics: metrics, nodeName: "lab/node-1", l7: L7Config(dnsPorts: [53], httpPorts: [80]),
            export: { sink.append($0) })
        #expect(pipeline.l7Enabled)
        pipeline.start()

        let t0: UInt64 = 5_000_000_000
        let request = Array("GET /v1 HTTP/1.1\r\nHost: deathstar\r\n\r\n".utf8)
        let syn = H.trace(
            H.tcp(from: H.client, to: H.server, sport: 40000, dport: 80, flags: [.syn], seq: 1), timeNs: t0)
        var badVersion = syn
        badVersion[SpyEventLayout.Offset.version] &+= 1
        let first: [[UInt8]] = [
            syn,
            Array(syn.prefix(20)),
            H.trace(
                H.tcp(
                    from: H.client, to: H.server, sport: 40001, dport: 80, flags: [.ack, .psh], seq: 1, ack: 1, request),
                timeNs: t0 + 1, l7: true, l7Only: true)
        ]
        let second: [[UInt8]] = [
            H.drop(H.tcp(from: H.client, to: H.server, sport: 40002, dport: 80, flags: [.syn], seq: 1), timeNs: t0 + 2),
            badVersion
        ]
        for records in [first, second] {
            let batch = queue.takeEmpty()
            for r in records { #expect(r.withUnsafeBytes { batch.append($0.baseAddress!, length: $0.count) }) }
            #expect(queue.push(batch))
        }
        queue.close()
        pipeline.stop()

        #expect(pipeline.flowsProcessed == 2, "the SYN and the drop")
        #expect(pipeline.l7FlowsProcessed == 1)
        #expect(pipeline.l7OnlyEventsProcessed == 1)
        #expect(pipeline.decodeErrorCounts == ["short": 1, "version": 1], "reasons of both batches")
        #expect(pipeline.l7Counters.httpRequests == 1, "the last housekeeping tick publishes the L7 counters")
        #expect(sink.flows.map(\.type) == [.l3L4, .l7, .l3L4])
        let m = PrometheusText(String(decoding: metrics.render(.prometheusText), as: UTF8.self))
        #expect(m.value("hubble_flows_processed_total") == 3)
        #expect(m.value("hubble_drop_total") == 1)
        #expect(queue.lost == 0)
    }
}
