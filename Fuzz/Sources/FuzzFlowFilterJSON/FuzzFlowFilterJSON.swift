import FuzzSupport
import SpyglassFlow
import SpyglassSupport

/// FlowFilter JSON (`--hubble-export-allowlist`/`denylist`, flow-log include/exclude filters): the JSON reader,
/// the FlowFilter fields, the filter set built from them, and evaluation against real flows.
///
/// Invariant: every JSON value read re-serialises to text that reads back as the same value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlowFilterJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    if let values = try? JSONReader.values(text) {
        for v in values {
            let again = v.jsonText
            guard let back = try? JSONReader.value(again), back == v else {
                invariantFailed("\(again) does not read back as \(v)")
            }
        }
    }
    let filters: [FlowFilter]
    do throws(FlowFilterError) {
        filters = try FlowFilter.parseList(text)
    } catch {
        guard !error.description.isEmpty else { invariantFailed("empty error message") }
        return 0
    }
    do throws(FlowFilterError) {
        let allow = try FlowFilterSet(allow: filters)
        let deny = try FlowFilterSet(deny: filters)
        for flow in SampleFlows.all {
            // A flow the filters allow is one they would deny, and the other way round.
            if !filters.isEmpty, allow.accepts(flow) == deny.accepts(flow) {
                invariantFailed("allow and deny agree on \(flow.summary) for \(text)")
            }
        }
        _ = allow.acceptsNonFlowEvent()
    } catch {
        _ = error.description
    }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzFlowFilterJSON_main")
public func FuzzFlowFilterJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzFlowFilterJSON(data ?? emptyInput, size) }
}
