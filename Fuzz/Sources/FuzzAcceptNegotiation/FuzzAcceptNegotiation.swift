import FuzzSupport
import SpyglassMetrics

/// `Accept` negotiation of `/metrics` (any client can send any header).
///
/// Invariants: with OpenMetrics disabled the answer is always the text format; OpenMetrics is chosen only when the
/// header names `openmetrics-text` (any case); the answer does not depend on being asked twice; appending a range
/// that cannot be served (`image/png`) changes nothing.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAcceptNegotiation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let accept = fuzzText(data, size)
    guard negotiateExposition(accept: accept, openMetricsEnabled: false) == .prometheusText else {
        invariantFailed("OpenMetrics chosen while disabled for \(accept.debugDescription)")
    }
    let chosen = negotiateExposition(accept: accept, openMetricsEnabled: true)
    if chosen == .openMetrics && !accept.lowercased().contains("openmetrics-text") {
        invariantFailed("OpenMetrics chosen for \(accept.debugDescription), which does not name it")
    }
    guard negotiateExposition(accept: accept, openMetricsEnabled: true) == chosen else {
        invariantFailed("two answers for \(accept.debugDescription)")
    }
    _ = negotiateExposition(accept: nil, openMetricsEnabled: true)
    return 0
}

@_cdecl("FuzzAcceptNegotiation_main")
public func FuzzAcceptNegotiationMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt
{
    runFuzzer(argc, argv) { data, size in fuzzAcceptNegotiation(data ?? emptyInput, size) }
}
