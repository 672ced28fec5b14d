import FuzzSupport
import SpyglassFlow

/// A DNS message: parsed alone (whole and as a cut prefix), then carried through the agent's pipeline step
/// (`FlowPipelineStep`: decoder, L7 assembler, names, metric handlers) as UDP datagrams both ways, as a query the
/// kernel dropped, and as a DNS-over-TCP stream cut into fuzzer-chosen segments.
///
/// Input: [mode] [chunk] [segment to lose/repeat] message…
/// mode bit 0: the TCP stream is the message with its 2-byte length prefix, twice (pipelined); otherwise the raw
/// bytes are the stream (the fuzzer writes the prefixes). bit 1: lose a segment, else repeat it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    let mode = input.byte()
    let chunk = Int(input.byte())
    let pick = Int(input.byte() % 16)
    let message = Array(input.rest)

    checkParser(message)

    let udp = StepDriver(config: FuzzL7Config.small)
    let query = Frames.udp(from: Frames.client, to: Frames.server, sport: 40000, dport: 53, payload: message[...])
    let answer = Frames.udp(from: Frames.server, to: Frames.client, sport: 53, dport: 40000, payload: message[...])
    _ = udp.frame(query, obsPoint: SpyEventLayout.ObservationCode.fromEndpoint, timeNs: 1_000_000_000)
    _ = udp.frame(answer, obsPoint: SpyEventLayout.ObservationCode.toEndpoint, timeNs: 1_001_000_000)
    // A datagram cut by the snapshot: the UDP length says more than is there.
    if message.count > 12 {
        var cut = Frames.udp(from: Frames.server, to: Frames.client, sport: 53, dport: 40000, payload: message[...])
        cut.removeLast(min(message.count - 12, chunk))
        _ = udp.frame(cut, obsPoint: SpyEventLayout.ObservationCode.toEndpoint, timeNs: 1_002_000_000)
    }
    // The query dropped in the kernel: a DROPPED DNS request flow when it parses as a query.
    let dropped = udp.process(record: EventRecord.drop(frame: query, timestampNs: 1_003_000_000))
    let droppedL7 = dropped.filter { $0.type == .l7 }
    if droppedL7.count > 1 || dropped.count != droppedL7.count + 1 {
        invariantFailed("a dropped datagram made \(dropped.count) flows, \(droppedL7.count) of them L7")
    }
    if let l7 = droppedL7.first, l7.verdict != .dropped || l7.l7?.dns == nil || l7.isReply != false {
        invariantFailed("a dropped DNS query became \(l7.summary)")
    }

    var stream = message[...]
    if mode & 1 != 0 {
        let framed = Frames.be16(UInt16(truncatingIfNeeded: message.count)) + message
        stream = (framed + framed)[...]
    }
    let player = TCPStreamPlayer(
        serverPort: 53, chunk: chunk == 0 ? stream.count : chunk,
        lose: mode & 2 != 0 ? pick : nil, repeatIndex: mode & 2 == 0 ? pick : nil)
    player.play(client: stream, server: stream, into: StepDriver(config: FuzzL7Config.small))
    return 0
}

/// The parser alone. Invariants: a whole message parses the same when told it may be a prefix, and every question
/// name it renders re-encodes (zone-file escapes undone) to wire bytes that parse back to the same name.
func checkParser(_ message: [UInt8]) {
    let whole = try? DNSParser.parse(message)
    let prefix = try? DNSParser.parse(message, isPrefix: true)
    guard let whole else { return }
    guard prefix == whole else {
        invariantFailed("isPrefix changed the parse of a whole message: \(whole) vs \(String(describing: prefix))")
    }
    for q in whole.questions {
        guard let wire = DNSName.wire(q.name) else { invariantFailed("rendered name \(q.name) does not re-encode") }
        let rebuilt: [UInt8] = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0] + wire + [0, 1, 0, 1]
        guard let again = try? DNSParser.parse(rebuilt), again.questions.first?.name == q.name else {
            invariantFailed(
                "name \(q.name) re-encoded as \(wire) parses as \(String(describing: try? DNSParser.parse(rebuilt)))")
        }
    }
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzDNS_main")
public func FuzzDNSMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzDNS(data ?? emptyInput, size) }
}
