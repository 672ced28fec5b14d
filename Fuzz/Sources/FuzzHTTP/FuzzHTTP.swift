import FuzzSupport
import SpyglassFlow

/// HTTP/1.x: the head parser alone, then both directions of a connection through the agent's pipeline step
/// (`FlowPipelineStep`: decoder, L7 assembler, metric handlers) as TCP segments.
///
/// Input: [chunk] [mode] [segment to lose/repeat] requests… 0x00 responses…  (no 0x00: all requests)
/// mode bit 0: lose the picked client segment, else repeat it; bit 1: server port 8080 instead of 80.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    let chunk = Int(input.byte())
    let mode = input.byte()
    let pick = Int(input.byte() % 16)
    let rest = input.rest
    let split = rest.firstIndex(of: 0) ?? rest.endIndex
    let requests = rest[rest.startIndex..<split]
    let responses = split < rest.endIndex ? rest[(split + 1)...] : []

    checkParser(Array(requests), isRequest: true)
    checkParser(Array(responses), isRequest: false)

    let player = TCPStreamPlayer(
        serverPort: mode & 2 != 0 ? 8080 : 80, chunk: chunk == 0 ? max(requests.count, responses.count) : chunk,
        lose: mode & 1 != 0 ? pick : nil, repeatIndex: mode & 1 == 0 ? pick : nil)
    for flow in player.play(client: requests, server: responses, into: StepDriver(config: FuzzL7Config.small)) {
        guard flow.l7?.http != nil else {
            invariantFailed("an HTTP connection produced a non-HTTP L7 flow: \(flow.summary)")
        }
    }
    return 0
}

/// Invariants: a head that parses whole also parses as a cut head; `headEnd` points inside the bytes.
func checkParser(_ bytes: [UInt8], isRequest: Bool) {
    bytes.withUnsafeBytes { raw in
        guard let end = HTTPParser.headEnd(raw) else {
            _ = try? HTTPParser.parseHead(raw, isRequest: isRequest, complete: false)
            return
        }
        guard end > 0, end <= raw.count else { invariantFailed("headEnd \(end) outside 1...\(raw.count)") }
        let head = UnsafeRawBufferPointer(rebasing: raw[..<end])
        if (try? HTTPParser.parseHead(head, isRequest: isRequest)) != nil {
            guard (try? HTTPParser.parseHead(head, isRequest: isRequest, complete: false)) != nil else {
                invariantFailed("a whole head fails to parse as a partial one")
            }
        }
        _ = try? HTTPParser.parseHead(head, isRequest: isRequest, keepHeaders: false, maxHeaders: 4)
    }
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzHTTP_main")
public func FuzzHTTPMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzHTTP(data ?? emptyInput, size) }
}
