/// Configuration of `L7Assembler`: which ports carry DNS and HTTP/1.x, what is redacted, and how much state may be
/// kept. Every default is chosen so an agent that sets nothing is safe (bounded memory, secrets redacted).
///
/// Suggested agent flags (Hubble's names where Hubble has one):
///
/// | field | flag | default |
/// |---|---|---|
/// | `dnsPorts` | `--l7-dns-ports` | `[53]` |
/// | `httpPorts` | `--l7-http-ports` | `[80, 8080]` |
/// | `redactURLQuery` | `--hubble-redact-http-urlquery` | `false` (as Hubble) |
/// | `redactUserInfo` | `--hubble-redact-http-userinfo` | `true` (as Hubble) |
/// | `headerAllowList` | `--hubble-redact-http-headers-allow` | `[]` |
/// | `headerDenyList` | `--hubble-redact-http-headers-deny` | `L7Config.defaultHeaderDenyList` |
/// | `includeHeaders` | `--l7-http-headers` | `true` |
/// | `dnsObservationSource` | – | `"proxy"` (the value Hubble's DNS proxy writes) |
/// | `limits.*` | `--l7-max-…` / `--l7-…-timeout` | see `L7Limits` |
///
/// Header redaction (values become `HUBBLE_REDACTED`, keys stay): when `headerAllowList` is non-empty, every header
/// not in it is redacted and `headerDenyList` is ignored (Hubble rejects setting both; the agent does too) — the
/// safe choice, as a deny list cannot know every application's secret headers. Otherwise the headers in
/// `headerDenyList` are redacted: exact names, or patterns with `*` at the start and/or end (`*Token*`, `*-Key`,
/// `X-Goog-*`). Names compare case-insensitively. Unlike Hubble, whose deny list is empty by default, Spyglass
/// redacts credential and session headers by default (`defaultHeaderDenyList`): an observability pipeline should
/// not be a secret store. Set `headerDenyList = []` for Hubble's behaviour.
public struct L7Config: Sendable, Equatable {
    /// Server ports of DNS (UDP and TCP). A packet takes part when its source or destination port is listed.
    public var dnsPorts: Set<UInt16>
    /// Server ports of HTTP/1.x over TCP (cleartext only). The side with the listed port is the server.
    public var httpPorts: Set<UInt16>
    /// Also read TCP segments on other ports that start an HTTP/1.x request line or status line (`--http-detect`);
    /// the request's receiver is the server.
    public var httpDetect: Bool

    /// Drop `?query` and `#fragment` from URLs (`--hubble-redact-http-urlquery`).
    public var redactURLQuery: Bool
    /// Drop `user:password@` from absolute URLs (`--hubble-redact-http-userinfo`).
    public var redactUserInfo: Bool
    /// When non-empty: only these headers keep their values.
    public var headerAllowList: [String]
    /// Headers whose values are replaced (ignored when `headerAllowList` is non-empty).
    public var headerDenyList: [String]
    /// Put HTTP headers into flows at all (`false`: `headers` stays empty; framing still reads them).
    public var includeHeaders: Bool

    /// `l7.dns.observation_source` of every DNS flow.
    public var dnsObservationSource: String

    public var limits: L7Limits

    /// Where the assembler tells the kernel which HTTP body bytes it skips (nil: the kernel reports them all).
    public var bodySkip: L7BodySkip? = nil

    /// The value that replaces redacted header values (Hubble's constant).
    public static let redactedValue = "HUBBLE_REDACTED"

    /// Credentials and session state by name and by pattern: `Authorization`, `Proxy-Authorization`, `Cookie`,
    /// `Set-Cookie`, and every header whose name contains `Auth`, `Token`, `Secret`, `Password`, `Passwd`,
    /// `Session`, `Credential`, `Signature`, `Api-Key`, `Apikey`, `Csrf` or `Xsrf`, or ends in `-Key`
    /// (`X-Amz-Security-Token`, `X-Vault-Token`, `Private-Token`, `X-Goog-Api-Key`, `X-CSRF-Token`, …).
    public static let defaultHeaderDenyList = [
        "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
        "*Auth*", "*Token*", "*Secret*", "*Password*", "*Passwd*", "*Session*", "*Credential*", "*Signature*",
        "*Api-Key*", "*Apikey*", "*Csrf*", "*Xsrf*", "*-Key"
    ]

    public init(
        dnsPorts: Set<UInt16> = [53],
        httpPorts: Set<UInt16> = [80, 8080],
        httpDetect: Bool = false,
        redactURLQuery: Bool = false,
        redactUserInfo: Bool = true,
        headerAllowList: [String] = [],
        headerDenyList: [String] = L7Config.defaultHeaderDenyList,
        includeHeaders: Bool = true,
        dnsObservationSource: String = "proxy",
        limits: L7Limits = L7Limits()
    ) {
        self.dnsPorts = dnsPorts
        self.httpPorts = httpPorts
        self.httpDetect = httpDetect
        self.redactURLQuery = redactURLQuery
        self.redactUserInfo = redactUserInfo
        self.headerAllowList = headerAllowList
        self.headerDenyList = headerDenyList
        self.includeHeaders = includeHeaders
        self.dnsObservationSource = dnsObservationSource
        self.limits = limits
    }
}

/// Bounds of every table `L7Assembler` keeps. Reaching a bound evicts the least recently used entry and counts it
/// (`L7Stats.evictions` for entry counts, `L7Stats.byteEvictions` for byte budgets, and `unanswered` for pending
/// requests); nothing grows without limit. The tables whose entries hold strings (URLs, DNS names) have a byte
/// budget besides their count, since count × longest entry would be far more than a node agent may use;
/// `setMemoryLimit` shares one total among them (`--l7-memory-limit`).
public struct L7Limits: Sendable, Equatable {
    /// DNS queries waiting for their response (`dns_pending`).
    public var maxPendingDNSQueries: Int
    /// A DNS query without a response for this long is counted unanswered.
    public var dnsQueryTimeout: Duration
    /// DNS-over-TCP connections with framing state (`dns_tcp_streams`).
    public var maxDNSTCPStreams: Int
    /// A DNS-over-TCP message is buffered up to this size; a longer one is parsed from its first bytes (answers that
    /// do not fit are not seen) and the rest is skipped.
    public var maxDNSTCPMessageBytes: Int
    /// HTTP connections with state (`http_connections`).
    public var maxHTTPConnections: Int
    /// Requests waiting for a response on one connection (pipelining depth); more evicts the oldest.
    public var maxPendingRequestsPerConnection: Int
    /// Requests waiting for a response over all connections (`http_pending`); more evicts the least recently
    /// active connections.
    public var maxPendingHTTPRequests: Int
    /// Bytes of one request/response head (start line + headers) that are reassembled across segments.
    public var maxHTTPHeaderBytes: Int
    /// Header lines of one HTTP message.
    public var maxHTTPHeaderCount: Int
    /// A TCP connection (HTTP or DNS) without packets for this long is dropped; its pending requests are counted
    /// unanswered. HTTP requests are never expired one by one: that would shift the FIFO pairing of the connection.
    public var connectionIdleTimeout: Duration
    /// All reassembly buffers together (HTTP heads and DNS-over-TCP messages); by default 1/8 of the memory limit.
    public var maxReassemblyBytes: Int
    /// IPs remembered with their DNS names (`names`).
    public var maxNameEntries: Int
    /// Names remembered per IP; more replaces the one expiring first.
    public var maxNamesPerIP: Int
    /// Answer TTLs are clamped into `minNameTTL...maxNameTTL` for the names memory.
    public var minNameTTL: Duration
    public var maxNameTTL: Duration

    /// Bytes held by pending HTTP requests (method, URL, trace ID) over all connections; more evicts the least
    /// recently active connections, as `maxPendingHTTPRequests` does.
    public var maxPendingHTTPBytes: Int
    /// Bytes held by the names memory (IPs with their names); more evicts the least recently answered IPs.
    public var maxNameBytes: Int
    /// Bytes held by pending DNS queries (with their names); more evicts the oldest, counted unanswered.
    public var maxPendingDNSBytes: Int
    /// Bytes held by DNS query claims (`dns_claims`); more evicts the oldest.
    public var maxDNSClaimBytes: Int

    /// The default of `--l7-memory-limit`.
    public static let defaultMemoryLimit = 64 << 20
    /// The least `setMemoryLimit` accepts: below it the shares could not hold one connection's requests.
    public static let minimumMemoryLimit = 4 << 20

    /// Shares `total` bytes among the byte-bounded tables: 3/8 pending HTTP requests, 3/8 the names memory, 1/8
    /// reassembly buffers, 3/32 pending DNS queries and 1/32 their claims. The 64 MiB default gives today's 8 MiB
    /// of reassembly, 24 MiB each for URLs and names (about 100,000 IPs with two names each).
    public mutating func setMemoryLimit(_ total: Int) {
        let eighth = max(total, 0) / 8
        maxPendingHTTPBytes = 3 * eighth
        maxNameBytes = 3 * eighth
        maxReassemblyBytes = eighth
        maxPendingDNSBytes = 3 * eighth / 4
        maxDNSClaimBytes = eighth / 4
    }

    /// The sum of the byte budgets.
    public var memoryLimit: Int {
        maxPendingHTTPBytes + maxNameBytes + maxReassemblyBytes + maxPendingDNSBytes + maxDNSClaimBytes
    }

    public init(
        maxPendingDNSQueries: Int = 16384,
        dnsQueryTimeout: Duration = .seconds(10),
        maxDNSTCPStreams: Int = 4096,
        maxDNSTCPMessageBytes: Int = 16384,
        maxHTTPConnections: Int = 16384,
        maxPendingRequestsPerConnection: Int = 32,
        maxPendingHTTPRequests: Int = 65536,
        maxHTTPHeaderBytes: Int = 8192,
        maxHTTPHeaderCount: Int = 128,
        connectionIdleTimeout: Duration = .seconds(120),
        maxReassemblyBytes: Int? = nil,
        maxNameEntries: Int = 65536,
        maxNamesPerIP: Int = 16,
        minNameTTL: Duration = .seconds(300),
        maxNameTTL: Duration = .seconds(86400),
        memoryLimit: Int = L7Limits.defaultMemoryLimit
    ) {
        self.maxPendingDNSQueries = maxPendingDNSQueries
        self.dnsQueryTimeout = dnsQueryTimeout
        self.maxDNSTCPStreams = maxDNSTCPStreams
        self.maxDNSTCPMessageBytes = maxDNSTCPMessageBytes
        self.maxHTTPConnections = maxHTTPConnections
        self.maxPendingRequestsPerConnection = maxPendingRequestsPerConnection
        self.maxPendingHTTPRequests = maxPendingHTTPRequests
        self.maxHTTPHeaderBytes = maxHTTPHeaderBytes
        self.maxHTTPHeaderCount = maxHTTPHeaderCount
        self.connectionIdleTimeout = connectionIdleTimeout
        self.maxReassemblyBytes = 0
        self.maxNameEntries = maxNameEntries
        self.maxNamesPerIP = maxNamesPerIP
        self.minNameTTL = minNameTTL
        self.maxNameTTL = maxNameTTL
        maxPendingHTTPBytes = 0
        maxNameBytes = 0
        maxPendingDNSBytes = 0
        maxDNSClaimBytes = 0
        setMemoryLimit(memoryLimit)
        // An explicit reassembly bound wins over its share.
        if let maxReassemblyBytes { self.maxReassemblyBytes = maxReassemblyBytes }
    }
}

extension Duration {
    /// Whole nanoseconds, saturating (negative durations give 0).
    var l7Nanoseconds: UInt64 {
        let c = components
        guard c.seconds >= 0 else { return 0 }
        let (s, o) = UInt64(c.seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if o { return .max }
        let (t, o2) = s.addingReportingOverflow(UInt64(c.attoseconds / 1_000_000_000))
        return o2 ? .max : t
    }
}
