import SpyglassFlow
import SpyglassTesting

/// Builds DNS messages byte by byte (independent of the parser).
enum DNSWire {
    static func name(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for label in text.split(separator: ".", omittingEmptySubsequences: true) {
            out.append(UInt8(label.utf8.count))
            out += Array(label.utf8)
        }
        return out + [0]
    }

    static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func u32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    static func header(id: UInt16, flags: UInt16, qd: Int, an: Int, ns: Int = 0, ar: Int = 0) -> [UInt8] {
        u16(id) + u16(flags) + u16(UInt16(qd)) + u16(UInt16(an)) + u16(UInt16(ns)) + u16(UInt16(ar))
    }

    /// A question with its name written out.
    static func question(_ n: String, type: UInt16 = 1) -> [UInt8] { name(n) + u16(type) + u16(1) }

    /// A record; `owner` is raw name bytes (e.g. `ptr(12)` or `name("x.")`).
    static func record(owner: [UInt8], type: UInt16, ttl: UInt32, rdata: [UInt8], rrclass: UInt16 = 1) -> [UInt8] {
        owner + u16(type) + u16(rrclass) + u32(ttl) + u16(UInt16(rdata.count)) + rdata
    }

    static func ptr(_ offset: Int) -> [UInt8] { [0xc0 | UInt8(offset >> 8), UInt8(offset & 0xff)] }

    static func query(id: UInt16 = 0x1234, _ n: String, type: UInt16 = 1) -> [UInt8] {
        header(id: id, flags: 0x0100, qd: 1, an: 0) + question(n, type: type)
    }

    /// A response to `n` whose answers are A records of `ips` (owner: pointer to the question name).
    static func aResponse(id: UInt16 = 0x1234, _ n: String, ips: [[UInt8]], ttl: UInt32 = 300, rcode: UInt16 = 0)
        -> [UInt8]
    {
        var m = header(id: id, flags: 0x8180 | rcode, qd: 1, an: ips.count) + question(n)
        for ip in ips {
            m += record(owner: ptr(12), type: ip.count == 4 ? 1 : 28, ttl: ttl, rdata: ip)
        }
        return m
    }
}

/// Builds the Flow and snapshot the decoder would produce for a frame, via `EventBuilder` + `EventDecoder`.
struct Observer {
    let decoder = EventDecoder.testing()

    func packet(
        _ frame: [UInt8], obs: UInt8 = SpyEventLayout.ObservationCode.fromEndpoint, ifindex: UInt32 = 2,
        timeNs: UInt64 = 1_000_000_000, snapLen: Int = SpyEventLayout.maxSnapLen, isReply: Bool? = nil
    ) -> (flow: Flow, snapshot: [UInt8]) {
        let e = EventBuilder.trace(
            frame: frame, obsPoint: obs, isReply: isReply, ifindex: ifindex, timestampNs: timeNs, snapLen: snapLen)
        let flow = try! decoder.decode(e.build())
        return (flow, e.snapshot)
    }

    func feed(
        _ a: L7Assembler, _ frame: [UInt8], obs: UInt8 = SpyEventLayout.ObservationCode.fromEndpoint,
        ifindex: UInt32 = 2, timeNs: UInt64 = 1_000_000_000, snapLen: Int = SpyEventLayout.maxSnapLen
    ) -> [Flow] {
        let (flow, snap) = packet(frame, obs: obs, ifindex: ifindex, timeNs: timeNs, snapLen: snapLen)
        return a.process(flow: flow, frame: snap, monotonicNs: timeNs)
    }
}

/// One TCP connection: builds segments with running sequence numbers for both sides.
struct TCPConversation {
    var client: String
    var server: String
    var clientPort: UInt16
    var serverPort: UInt16
    var clientSeq: UInt32 = 1000
    var serverSeq: UInt32 = 50000

    init(client: String = "10.0.0.1", server: String = "10.0.0.2", clientPort: UInt16 = 40000, serverPort: UInt16 = 80)
    {
        self.client = client
        self.server = server
        self.clientPort = clientPort
        self.serverPort = serverPort
    }

    private func base(src: String, dst: String) -> PacketBuilder {
        let eth = PacketBuilder.ethernet(src: Frames.mac1, dst: Frames.mac2)
        return src.contains(":") ? eth.ipv6(src: src, dst: dst) : eth.ipv4(src: src, dst: dst)
    }

    /// Client → server segment carrying `bytes`; advances the client's sequence number.
    mutating func fromClient(_ bytes: [UInt8], flags: TCPFlags = [.ack, .psh]) -> [UInt8] {
        let f = base(src: client, dst: server).tcp(
            sport: clientPort, dport: serverPort, flags: flags, seq: clientSeq, ack: serverSeq
        )
        .payload(bytes).build()
        clientSeq &+= UInt32(bytes.count) &+ (flags.contains(.fin) || flags.contains(.syn) ? 1 : 0)
        return f
    }

    mutating func fromServer(_ bytes: [UInt8], flags: TCPFlags = [.ack, .psh]) -> [UInt8] {
        let f = base(src: server, dst: client).tcp(
            sport: serverPort, dport: clientPort, flags: flags, seq: serverSeq, ack: clientSeq
        )
        .payload(bytes).build()
        serverSeq &+= UInt32(bytes.count) &+ (flags.contains(.fin) || flags.contains(.syn) ? 1 : 0)
        return f
    }

    mutating func fromClient(_ text: String, flags: TCPFlags = [.ack, .psh]) -> [UInt8] {
        fromClient(Array(text.utf8), flags: flags)
    }
    mutating func fromServer(_ text: String, flags: TCPFlags = [.ack, .psh]) -> [UInt8] {
        fromServer(Array(text.utf8), flags: flags)
    }
}

enum Obs {
    static let fromEndpoint = SpyEventLayout.ObservationCode.fromEndpoint
    static let toEndpoint = SpyEventLayout.ObservationCode.toEndpoint
    static let fromNetwork = SpyEventLayout.ObservationCode.fromNetwork
    static let toNetwork = SpyEventLayout.ObservationCode.toNetwork
}

extension Flow {
    var http: HTTP? { l7?.http }
    var dns: DNS? { l7?.dns }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
