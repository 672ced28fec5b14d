// `spyglass-bench memory` (issue #9, part 6, the engine half): resident memory of the metric engine holding N
// series (the seven families' port-distribution with the 7-label labelsContext, rendered once so the render arena
// exists too), and bytes per series. bench/memory.sh adds the idle agent.
import Foundation
import SpyglassMetrics

struct MemoryBench {
    let series: Int

    func run() throws {
        // Touch the runtime and Foundation first, so the baseline is the process, not the engine.
        _ = try ExpositionBench.engine(series: 10).render(.prometheusText)
        let before = residentBytes()
        let engine = try ExpositionBench.engine(series: series)
        let unrendered = residentBytes()
        let text = engine.render(.prometheusText).count
        let open = engine.render(.openMetrics).count
        let after = residentBytes()
        let perSeries = Double(after - before) / Double(series)
        print(
            "memory: engine with \(series) series of hubble_port_distribution_total (9 labels), rendered once in each format (\(text) / \(open) bytes)"
        )
        print(
            fmt(
                "  resident before %.1f MiB, with the series %.1f MiB (%.0f bytes per series), after rendering %.1f MiB → %.0f bytes per series",
                Double(before) / 1048576, Double(unrendered) / 1048576, Double(unrendered - before) / Double(series),
                Double(after) / 1048576, perSeries))
        print(
            fmt(
                "RESULT memory_engine series=%ld rss_before_mib=%.1f rss_after_mib=%.1f bytes_per_series=%.0f bytes_per_series_before_render=%.0f",
                series, Double(before) / 1048576, Double(after) / 1048576, perSeries,
                Double(unrendered - before) / Double(series)))
        withExtendedLifetime(engine) {}
    }
}
