import SpyglassMetrics
import SpyglassPipeline
import SpyglassTesting
import Testing

/// Losses before the step: cumulative datapath counters become per-interval reports, counted once each in
/// `hubble_lost_events_total` and handed to the flow logs / API ring under Hubble's source names.
@Suite("Lost-event accounting")
struct LostEventAccountingTests {
    @Test func cumulativeTotalsAreReportedAsDeltasPerSource() throws {
        let (config, _) = try MetricsConfig.parse(MetricsConfig.defaultSpec)
        let metrics = MetricsEngine(config: config)
        LostEventAccounting.registerSeries(on: metrics)
        func lost() -> PrometheusText {
            PrometheusText(String(decoding: metrics.render(.prometheusText), as: UTF8.self))
        }
        let zero = lost()
        #expect(zero.series("hubble_lost_events_total").count == 2, "both sources exist from the start")
        #expect(zero.value("hubble_lost_events_total", ["source": "perf_event_ring_buffer"]) == 0)
        #expect(zero.value("hubble_lost_events_total", ["source": "observer_events_queue"]) == 0)

        var accounting = LostEventAccounting()
        var reports: [String] = []
        func tick(ring: UInt64, queue: UInt64) {
            accounting.account(.ringBuffer, total: ring, metrics: metrics) { reports.append("\($0.hubbleName)=\($1)") }
            accounting.account(.eventsQueue, total: queue, metrics: metrics) {
                reports.append("\($0.hubbleName)=\($1)")
            }
        }
        tick(ring: 0, queue: 0)
        #expect(reports.isEmpty, "nothing lost, nothing reported")
        tick(ring: 5, queue: 0)
        tick(ring: 5, queue: 3)
        tick(ring: 12, queue: 3)
        tick(ring: 12, queue: 3)
        #expect(reports == ["PERF_EVENT_RING_BUFFER=5", "OBSERVER_EVENTS_QUEUE=3", "PERF_EVENT_RING_BUFFER=7"])
        let m = lost()
        #expect(m.value("hubble_lost_events_total", ["source": "perf_event_ring_buffer"]) == 12)
        #expect(m.value("hubble_lost_events_total", ["source": "observer_events_queue"]) == 3)
    }
}
