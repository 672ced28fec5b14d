import FuzzSupport
import SpyglassFlow

/// One ring-buffer record, as the kernel hands it to the agent: validated and decoded (`EventDecoder`), its frame
/// snapshot parsed, and then the same record through the agent's pipeline step (`FlowPipelineStep`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEventDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let record = UnsafeRawBufferPointer(start: data, count: size)
    let decoder = EventDecoder(
        nodeName: "fuzz", bootToWallOffsetNs: 1_700_000_000_000_000_000, interfaceName: { "if\($0)" },
        dropReasonResolver: { (DropReason(rawValue: Int32(truncatingIfNeeded: $0)), "REASON_\($0)") })
    do throws(DecodeError) {
        let flow = try decoder.decode(record)
        _ = flow.summary
        let event = try SpyPacketEvent(validating: record)
        // The snapshot range was validated: it must lie inside the record.
        guard event.snapshotRange.upperBound <= size else {
            invariantFailed("snapshot range \(event.snapshotRange) outside \(size) bytes")
        }
        _ = PacketParser.parse(UnsafeRawBufferPointer(rebasing: record[event.snapshotRange]))
    } catch {
        _ = error.reason
        _ = error.description
    }
    // The same bytes as a bare frame.
    _ = PacketParser.parse(record)
    for flow in StepDriver(config: FuzzL7Config.small).process(record: Array(record)) { _ = flow.summary }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzEventDecoder_main")
public func FuzzEventDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzEventDecoder(data ?? emptyInput, size) }
}
