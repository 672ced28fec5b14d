import FuzzSupport
import SpyglassFlow
import SpyglassMetrics

/// `--hubble-metrics` option grammar: parse, then (when valid) build the metric engine from it, count real flows
/// and render both exposition formats, as the agent does at start and at every scrape.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMetricsGrammar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    _ = MetricsConfig.splitSpecs(text)
    let config: MetricsConfig
    do {
        (config, _) = try MetricsConfig.parse(text)
    } catch {
        guard !"\(error)".isEmpty else { invariantFailed("empty error message") }
        return 0
    }
    let engine = MetricsEngine(config: config, options: MetricsEngineOptions(defaultSeriesLimit: 50))
    for flow in SampleFlows.all { engine.process(flow) }
    _ = engine.handlerStatus
    for format in ExpositionFormat.allCases { _ = engine.render(format) }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzMetricsGrammar_main")
public func FuzzMetricsGrammarMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzMetricsGrammar(data ?? emptyInput, size) }
}
