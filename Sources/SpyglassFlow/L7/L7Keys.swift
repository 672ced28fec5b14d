/// Where a packet was observed, for pairing: the interface plus the pair of observation points that face each other
/// on it (a request leaving a pod is `from-endpoint` and its response entering it `to-endpoint`, both on the pod's
/// veth). A packet crossing two watched interfaces is two observations with two sites, so each side pairs its own.
struct ObservationSite: Hashable {
    var raw: UInt64

    init(_ flow: Flow) {
        let pair: UInt64
        switch flow.traceObservationPoint {
        case .unknownPoint: pair = 0
        case .fromEndpoint, .toEndpoint: pair = 1
        case .fromNetwork, .toNetwork: pair = 2
        case .fromHost, .toHost: pair = 3
        case .fromStack, .toStack: pair = 4
        case .fromOverlay, .toOverlay: pair = 5
        case .fromProxy, .toProxy: pair = 6
        case .fromCrypto, .toCrypto: pair = 7
        }
        raw = UInt64(flow.interface?.index ?? 0) << 8 | pair
    }
}

/// A connection, direction-normalised: the client is the side without the server port.
struct ConnectionKey: Hashable {
    var site: ObservationSite
    var client: IPAddress
    var server: IPAddress
    var clientPort: UInt16
    var serverPort: UInt16
}

struct DNSQueryKey: Hashable {
    var connection: ConnectionKey
    var id: UInt16
}

/// A 65536-bit port set: membership is one load, no hashing (checked for every packet).
struct PortSet {
    private var words = [UInt64](repeating: 0, count: 1024)
    init(_ ports: Set<UInt16>) {
        for p in ports { words[Int(p >> 6)] |= 1 << UInt64(p & 63) }
    }
    @inline(__always) func contains(_ p: UInt16) -> Bool {
        words.withUnsafeBufferPointer { $0[Int(p >> 6)] & (1 << UInt64(p & 63)) != 0 }
    }
}

/// A DNS query waiting for its response.
struct PendingDNSQuery {
    var query: String
    var qtypes: [String]
    var monotonicNs: UInt64
    var direction: TrafficDirection
}

/// An HTTP request waiting for its response.
struct PendingHTTPRequest {
    var method: String
    var url: String
    var traceID: String?
    var monotonicNs: UInt64
    /// nil: this site reports neither the request nor its response (`L7Reporter`).
    var direction: TrafficDirection?
}

/// State of one HTTP connection (at one observation site).
final class HTTPConnection {
    let client = HTTPStream(isRequest: true)
    let server = HTTPStream(isRequest: false)
    /// FIFO of requests not yet answered (pipelining).
    var pending: [PendingHTTPRequest] = []
    /// Sum of `pending`'s costs.
    var pendingBytes = 0
    func release() -> Int { client.release() + server.release() }
}

/// Framing state of one DNS-over-TCP connection.
final class DNSTCPConnection {
    var toServer = DNSTCPFramer()
    var toClient = DNSTCPFramer()
    var clientClosed = false
    var serverClosed = false
    func release() -> Int { toServer.release() + toClient.release() }
}
