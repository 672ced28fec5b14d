import FuzzSupport
import SpyglassExport
import SpyglassFlow

/// The dynamic flow-log file (`--hubble-flowlogs-config-path`).
///
/// Invariants: what `parse` accepts, the exporter builder compiles without failing (it uses `try!` on the filters
/// and field masks, relying on `parse` having validated them); a parsed configuration equals itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlowLogConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    let configs: [FlowLogConfig]
    do throws(ExportConfigError) {
        configs = try FlowLogsFile.parse(text)
    } catch {
        guard !error.message.isEmpty else { invariantFailed("empty error message") }
        return 0
    }
    for c in configs {
        guard c == c else { invariantFailed("configuration \(c.name) differs from itself") }
        do {
            let set = try FlowFilterSet(allow: c.includeFilters, deny: c.excludeFilters)
            for flow in SampleFlows.all { _ = set.accepts(flow) }
            _ = try FieldMask(paths: c.fieldMask)
            _ = try FieldMask(paths: c.fieldAggregate)
        } catch {
            invariantFailed("parse accepted \(c.name) but it does not compile: \(error)")
        }
    }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzFlowLogConfig_main")
public func FuzzFlowLogConfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzFlowLogConfig(data ?? emptyInput, size) }
}
