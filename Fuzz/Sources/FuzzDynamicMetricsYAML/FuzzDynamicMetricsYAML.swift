import FuzzSupport
import SpyglassFlow
import SpyglassMetrics

/// The dynamic metrics file (`--hubble-dynamic-metrics-config-path`): parsed (its filters read and compiled as
/// FlowFilters), then applied to a running engine (the reload path), which counts real flows and renders.
///
/// Invariant: an error names the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDynamicMetricsYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    let path = "/fuzz/metrics.yaml"
    let config: MetricsConfig
    do throws(DynamicMetricsConfigError) {
        (config, _) = try DynamicMetricsConfig.parse(text, path: path)
    } catch {
        guard error.description.contains(path) else { invariantFailed("error does not name the file: \(error)") }
        return 0
    }
    let engine = MetricsEngine(
        config: MetricsConfig(handlers: []),
        options: MetricsEngineOptions(defaultSeriesLimit: 50))
    do {
        try engine.apply(config)
    } catch {
        // A configuration the parser accepted must apply.
        invariantFailed("parsed configuration does not apply: \(error)")
    }
    for flow in SampleFlows.all { engine.process(flow) }
    for format in ExpositionFormat.allCases { _ = engine.render(format) }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzDynamicMetricsYAML_main")
public func FuzzDynamicMetricsYAMLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> CInt
{
    runFuzzer(argc, argv) { data, size in fuzzDynamicMetricsYAML(data ?? emptyInput, size) }
}
