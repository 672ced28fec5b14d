import FuzzSupport
import SpyglassFlow
import SpyglassMetrics

/// The dynamic metrics file (`--hubble-dynamic-metrics-config-path`): parsed with the agent's FlowFilter
/// predicates, then applied to a running engine (the reload path), which counts real flows and renders.
///
/// Invariant: an error names the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDynamicMetricsYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    let path = "/fuzz/metrics.yaml"
    let config: MetricsConfig
    do throws(DynamicMetricsConfigError) {
        (config, _) = try DynamicMetricsConfig.parse(text, path: path, predicates: flowFilterPredicates)
    } catch {
        guard error.description.contains(path) else { invariantFailed("error does not name the file: \(error)") }
        return 0
    }
    let engine = MetricsEngine(
        config: MetricsConfig(handlers: []),
        options: MetricsEngineOptions(defaultSeriesLimit: 50, flowPredicateFactory: flowFilterPredicates))
    do {
        try engine.apply(config)
    } catch {
        // A configuration the parser accepted with these predicates must apply.
        invariantFailed("parsed configuration does not apply: \(error)")
    }
    for flow in SampleFlows.all { engine.process(flow) }
    for format in ExpositionFormat.allCases { _ = engine.render(format) }
    return 0
}

/// The agent's factory (Agent.flowFilterPredicates): include/exclude filters evaluated with FlowFilter semantics.
let flowFilterPredicates: FlowPredicateFactory = { include, exclude in
    if include.isEmpty && exclude.isEmpty { return nil }
    let allow = try include.flatMap { try FlowFilter.parseList($0.jsonText) }
    let deny = try exclude.flatMap { try FlowFilter.parseList($0.jsonText) }
    let set = try FlowFilterSet(allow: allow, deny: deny)
    return { set.accepts($0) }
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzDynamicMetricsYAML_main")
public func FuzzDynamicMetricsYAMLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?)
    -> CInt
{
    runFuzzer(argc, argv) { data, size in fuzzDynamicMetricsYAML(data ?? emptyInput, size) }
}
