import SpyglassFlow

/// Plays two byte streams (client → server and back) through the pipeline step (`StepDriver`) as TCP segments of `chunk` bytes, with
/// a handshake first and FINs last. `lose`/`repeat` pick one client segment to drop or to send twice, so the
/// assembler's gap and duplicate handling is reached.
public struct TCPStreamPlayer {
    public var serverPort: UInt16
    public var chunk: Int
    public var lose: Int?
    public var repeatIndex: Int?

    public init(serverPort: UInt16, chunk: Int, lose: Int? = nil, repeatIndex: Int? = nil) {
        self.serverPort = serverPort
        self.chunk = max(1, chunk)
        self.lose = lose
        self.repeatIndex = repeatIndex
    }

    /// Segments per direction at most: more makes an input slow without reaching new code.
    public static let maxSegments = 48

    @discardableResult
    public func play(client: ArraySlice<UInt8>, server: ArraySlice<UInt8>, into pipeline: StepDriver) -> [Flow] {
        let longest = max(client.count, server.count)
        let chunk = max(self.chunk, (longest + Self.maxSegments - 1) / Self.maxSegments)
        let cport: UInt16 = 40000
        var cseq: UInt32 = 1000
        var sseq: UInt32 = 0xffff_fff0  // wraps during the stream
        var time: UInt64 = 1_000_000_000
        var out: [Flow] = []
        func send(fromClient: Bool, _ flags: UInt8, _ payload: ArraySlice<UInt8>, count: Bool = true) {
            time += 1_000_000
            let frame =
                fromClient
                ? Frames.tcp(
                    from: Frames.client, to: Frames.server, sport: cport, dport: serverPort, seq: cseq, ack: sseq,
                    flags: flags, payload: payload)
                : Frames.tcp(
                    from: Frames.server, to: Frames.client, sport: serverPort, dport: cport, seq: sseq, ack: cseq,
                    flags: flags, payload: payload)
            let obs =
                fromClient ? SpyEventLayout.ObservationCode.fromEndpoint : SpyEventLayout.ObservationCode.toEndpoint
            out += pipeline.frame(frame, obsPoint: obs, timeNs: time)
            guard count else { return }
            let advance = UInt32(payload.count) &+ (flags & (TCPBits.syn | TCPBits.fin) != 0 ? 1 : 0)
            if fromClient { cseq &+= advance } else { sseq &+= advance }
        }
        send(fromClient: true, TCPBits.syn, [])
        send(fromClient: false, TCPBits.syn | TCPBits.ack, [])
        var ci = client.startIndex
        var si = server.startIndex
        var segment = 0
        while ci < client.endIndex || si < server.endIndex {
            if ci < client.endIndex {
                let end = min(client.endIndex, ci + chunk)
                let piece = client[ci..<end]
                if segment == lose {
                    cseq &+= UInt32(piece.count)  // lost on the wire: the next segment leaves a gap
                } else {
                    if segment == repeatIndex { send(fromClient: true, TCPBits.ack | TCPBits.psh, piece, count: false) }
                    send(fromClient: true, TCPBits.ack | TCPBits.psh, piece)
                }
                ci = end
                segment += 1
            }
            if si < server.endIndex {
                let end = min(server.endIndex, si + chunk)
                send(fromClient: false, TCPBits.ack | TCPBits.psh, server[si..<end])
                si = end
            }
        }
        send(fromClient: true, TCPBits.fin | TCPBits.ack, [])
        send(fromClient: false, TCPBits.fin | TCPBits.ack, [])
        pipeline.expire(nowNs: time + 1_000_000_000_000)
        return out
    }
}
