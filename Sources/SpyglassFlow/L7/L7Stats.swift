/// An L7 protocol Spyglass parses; `rawValue` is the `protocol` metric label value.
public enum L7Protocol: String, Sendable, CaseIterable, Hashable {
    case dns, http
}

/// A bounded table of `L7Assembler`; `rawValue` is the `table` label of `spyglass_l7_state_entries{table}`.
public enum L7Table: String, Sendable, CaseIterable, Hashable {
    /// DNS queries waiting for a response.
    case dnsPending = "dns_pending"
    /// DNS queries claimed by the point of the node that reported them (so no other point reports them again).
    case dnsClaims = "dns_claims"
    /// DNS-over-TCP connections with framing state.
    case dnsTCPStreams = "dns_tcp_streams"
    /// HTTP connections with state.
    case httpConnections = "http_connections"
    /// HTTP requests waiting for a response, over all connections.
    case httpPending = "http_pending"
    /// IPs in the names memory.
    case names
    /// Bytes held in reassembly buffers.
    case reassemblyBytes = "reassembly_bytes"

    /// The tables with a byte budget (`L7Limits.setMemoryLimit`), whose bytes `L7Stats.bytes` reports.
    public static let byteBudgeted: [L7Table] = [.httpPending, .names, .dnsPending, .dnsClaims, .reassemblyBytes]
}

/// Why a message was rejected; `protocol` and `reason` are the labels of `spyglass_l7_malformed_total`.
public struct L7MalformedKey: Sendable, Hashable, CustomStringConvertible {
    public var `protocol`: L7Protocol
    public var reason: String
    public init(_ p: L7Protocol, _ reason: String) {
        self.protocol = p
        self.reason = reason
    }
    public var description: String { "\(self.protocol.rawValue)/\(reason)" }
}

/// Counters of `L7Assembler` (monotonic unless noted). Suggested metrics:
/// `spyglass_l7_messages_total{protocol,type}` (queries/requests, responses),
/// `spyglass_l7_unanswered_total{protocol}`, `spyglass_l7_unmatched_responses_total{protocol}`,
/// `spyglass_l7_malformed_total{protocol,reason}`, `spyglass_l7_partial_total{protocol}`,
/// `spyglass_l7_stream_resyncs_total`, `spyglass_l7_evictions_total{table,reason}`, `spyglass_l7_state_entries{table}`,
/// `spyglass_l7_state_bytes{table}`.
public struct L7Stats: Sendable, Equatable {
    /// DNS queries parsed (each emitted as a REQUEST flow).
    public var dnsQueries: UInt64 = 0
    /// DNS responses parsed (each emitted as a RESPONSE flow).
    public var dnsResponses: UInt64 = 0
    /// DNS responses without a pending query (emitted with latency 0).
    public var dnsUnmatchedResponses: UInt64 = 0
    /// DNS messages parsed from a prefix only: the snapshot or the TCP buffer ended inside the answer, authority or
    /// additional section (header and question were whole).
    public var dnsPartial: UInt64 = 0
    public var httpRequests: UInt64 = 0
    /// Segments on a port not configured as HTTP read as HTTP because they start a request or status line.
    public var httpDetected: UInt64 = 0
    /// HTTP body parts the kernel was told to leave out of the L7 events (`L7BodySkip`).
    public var httpBodySkips: UInt64 = 0
    public var httpResponses: UInt64 = 0
    /// HTTP responses without a pending request on their connection (emitted without method, URL and latency).
    public var httpUnmatchedResponses: UInt64 = 0
    /// HTTP heads cut by the snapshot or by lost segments; emitted with the headers that were whole.
    public var httpPartial: UInt64 = 0
    /// 1xx interim responses skipped (not paired).
    public var httpInterimResponses: UInt64 = 0
    /// Requests that never got a response: expired, evicted, or pending when the connection ended.
    public var unansweredDNS: UInt64 = 0
    public var unansweredHTTP: UInt64 = 0
    /// Messages rejected, by protocol and reason (see `L7Stats.malformedReasons`).
    public var malformed: [L7MalformedKey: UInt64] = [:]
    /// TCP streams that lost their place (sequence gap, unparseable framing) and now wait for the next segment
    /// that starts a message.
    public var streamResyncs: UInt64 = 0
    /// DNS responses whose answers were kept out of the names memory because they answer no pending query of
    /// this observation site (same id, client and server addresses and ports, and question), by reason
    /// (`L7Stats.namesRejectedReasons`): `spyglass_l7_dns_names_rejected_total{reason}`.
    public var namesRejected: [String: UInt64] = [:]
    /// Entries evicted because a table was full (before they expired): `reason="entries"`.
    public var evictions: [L7Table: UInt64] = [:]
    /// Entries evicted because a table's byte budget was reached (`L7Limits.max…Bytes`): `reason="bytes"`.
    /// The pending HTTP requests' budget evicts whole connections (FIFO pairing stays right): `http_connections`.
    public var byteEvictions: [L7Table: UInt64] = [:]
    /// Appends refused because `maxReassemblyBytes` was reached (the message is parsed from what was buffered).
    public var reassemblyBudgetExceeded: UInt64 = 0
    /// Current table sizes (a gauge, filled by `L7Assembler.stats`).
    public var entries: [L7Table: Int] = [:]
    /// Bytes the byte-budgeted tables hold now (a gauge, filled by `L7Assembler.stats`; `reassembly_bytes` too).
    public var bytes: [L7Table: Int] = [:]

    public init() {}

    public func malformed(_ p: L7Protocol, _ reason: String) -> UInt64 { malformed[L7MalformedKey(p, reason)] ?? 0 }
    public func malformedTotal(_ p: L7Protocol) -> UInt64 {
        malformed.reduce(0) { $0 + ($1.key.protocol == p ? $1.value : 0) }
    }
    public func unanswered(_ p: L7Protocol) -> UInt64 { p == .dns ? unansweredDNS : unansweredHTTP }

    /// A TCP segment too far from its stream's position (`TCPSequence.window`): skipped.
    public static let outOfWindow = "out_of_window"
    /// A packet whose IP (or UDP) length claims more bytes than the packet has: skipped.
    public static let badIPLength = "bad_ip_length"
    /// A response with no pending query for its id, addresses and ports.
    public static let unsolicited = "unsolicited"
    /// A pending query with that id exists but asked another question (name or type), or the response has none.
    public static let questionMismatch = "question_mismatch"
    public static let namesRejectedReasons = [unsolicited, questionMismatch]

    /// Every reason value per protocol, so a metric can pre-register its series at zero.
    public static let malformedReasons: [L7Protocol: [String]] = [
        .dns: DNSParseError.allReasons + ["no_question", "bad_tcp_length", outOfWindow, badIPLength],
        .http: HTTPParseError.allReasons + [outOfWindow, badIPLength]
    ]

    mutating func countMalformed(_ p: L7Protocol, _ reason: String) {
        malformed[L7MalformedKey(p, reason), default: 0] &+= 1
    }
    mutating func countEviction(_ t: L7Table, _ n: UInt64 = 1) {
        evictions[t, default: 0] &+= n
    }
    mutating func countByteEviction(_ t: L7Table, _ n: UInt64 = 1) {
        byteEvictions[t, default: 0] &+= n
    }
}
