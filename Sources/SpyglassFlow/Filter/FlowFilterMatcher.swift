import SpyglassSupport

/// A compiled FlowFilter: values parsed, patterns and regular expressions built once, so matching a flow does
/// string comparisons and lookups only. Build with `FlowFilterMatcher(filter)`; invalid values throw a
/// `FlowFilterError` naming the field and quoting the value.
///
/// Regular expressions (`dns_query`, `http_path`, `http_url`) use Swift Regex syntax, which accepts the RE2
/// constructs Hubble users write (classes, groups, alternation, anchors, `\d`, repetition); they search anywhere in
/// the text, as Go's `MatchString` does.
public final class FlowFilterMatcher: @unchecked Sendable {
    // @unchecked: the stored regexes are immutable and only used for matching.
    public let filter: FlowFilter

    private let sourceIP: [AddressMatch]
    private let sourceIPXlated: [AddressMatch]
    private let destinationIP: [AddressMatch]
    private let sourcePod: [NameInNamespace]
    private let destinationPod: [NameInNamespace]
    private let sourceService: [NameInNamespace]
    private let destinationService: [NameInNamespace]
    private let sourceFQDN: [NamePattern]
    private let destinationFQDN: [NamePattern]
    private let sourceLabel: [LabelSelector]
    private let destinationLabel: [LabelSelector]
    private let nodeLabels: [LabelSelector]
    private let statusCodes: [StatusCodeMatch]
    private let protocols: [ProtocolMatch]
    private let sourcePorts: [UInt16]
    private let destinationPorts: [UInt16]
    private let dnsQuery: [Regex<AnyRegexOutput>]
    private let httpMethods: [String]
    private let httpPath: [Regex<AnyRegexOutput>]
    private let httpURL: [Regex<AnyRegexOutput>]
    private let nodeName: [NodeNamePattern]
    /// True when every set field is `event_type`, so lost/agent events can match.
    public let matchesNonFlowEvents: Bool

    public init(_ f: FlowFilter) throws(FlowFilterError) {
        filter = f
        sourceIP = try f.sourceIP.map { (v) throws(FlowFilterError) in try AddressMatch(v, field: "source_ip") }
        sourceIPXlated = try f.sourceIPXlated.map { (v) throws(FlowFilterError) in
            try AddressMatch(v, field: "source_ip_xlated")
        }
        destinationIP = try f.destinationIP.map { (v) throws(FlowFilterError) in
            try AddressMatch(v, field: "destination_ip")
        }
        sourcePod = try f.sourcePod.map { (v) throws(FlowFilterError) in try NameInNamespace(v, field: "source_pod") }
        destinationPod = try f.destinationPod.map { (v) throws(FlowFilterError) in
            try NameInNamespace(v, field: "destination_pod")
        }
        sourceService = try f.sourceService.map { (v) throws(FlowFilterError) in
            try NameInNamespace(v, field: "source_service")
        }
        destinationService = try f.destinationService.map { (v) throws(FlowFilterError) in
            try NameInNamespace(v, field: "destination_service")
        }
        sourceFQDN = try f.sourceFQDN.map { (v) throws(FlowFilterError) in try NamePattern(v, field: "source_fqdn") }
        destinationFQDN = try f.destinationFQDN.map { (v) throws(FlowFilterError) in
            try NamePattern(v, field: "destination_fqdn")
        }
        sourceLabel = try f.sourceLabel.map { (v) throws(FlowFilterError) in try LabelSelector(v, field: "source_label")
        }
        destinationLabel = try f.destinationLabel.map { (v) throws(FlowFilterError) in
            try LabelSelector(v, field: "destination_label")
        }
        nodeLabels = try f.nodeLabels.map { (v) throws(FlowFilterError) in try LabelSelector(v, field: "node_labels") }
        statusCodes = try f.httpStatusCode.map { (v) throws(FlowFilterError) in try StatusCodeMatch(v) }
        protocols = try f.protocol.map { (v) throws(FlowFilterError) in try ProtocolMatch(v) }
        sourcePorts = try f.sourcePort.map { (v) throws(FlowFilterError) in try Self.port(v, field: "source_port") }
        destinationPorts = try f.destinationPort.map { (v) throws(FlowFilterError) in
            try Self.port(v, field: "destination_port")
        }
        dnsQuery = try f.dnsQuery.map { (v) throws(FlowFilterError) in try Self.regex(v, field: "dns_query") }
        httpMethods = f.httpMethod.map { $0.uppercased() }
        httpPath = try f.httpPath.map { (v) throws(FlowFilterError) in try Self.regex(v, field: "http_path") }
        httpURL = try f.httpURL.map { (v) throws(FlowFilterError) in try Self.regex(v, field: "http_url") }
        nodeName = try f.nodeName.map { (v) throws(FlowFilterError) in try NodeNamePattern(v, field: "node_name") }
        for (field, values) in [
            ("source_cluster_name", f.sourceClusterName), ("destination_cluster_name", f.destinationClusterName)
        ]
        where values.contains("") {
            throw FlowFilterError(field: field, message: "empty cluster name \"\"")
        }
        for id in f.traceID where id.isEmpty {
            throw FlowFilterError(field: "trace_id", message: "empty trace ID \"\"")
        }
        let usesHTTP =
            !(f.httpStatusCode.isEmpty && f.httpMethod.isEmpty && f.httpPath.isEmpty && f.httpURL.isEmpty
            && f.httpHeader.isEmpty)
        if usesHTTP && !f.eventType.isEmpty && !f.eventType.contains(where: { $0.type == CiliumEventType.accessLog }) {
            throw FlowFilterError(
                field: "event_type",
                message:
                    "http filters need event type 129 (L7) among the event_type values, found \(f.eventType.map { String($0.type) })"
            )
        }
        matchesNonFlowEvents = f.onlyEventType
    }

    private static func port(_ v: String, field: String) throws(FlowFilterError) -> UInt16 {
        guard let p = UInt16(v) else { throw FlowFilterError(field: field, message: "invalid port \(Quote.text(v))") }
        return p
    }

    private static func regex(_ v: String, field: String) throws(FlowFilterError) -> Regex<AnyRegexOutput> {
        do {
            return try Regex(v)
        } catch {
            throw FlowFilterError(field: field, message: "invalid regular expression \(Quote.text(v)): \(error)")
        }
    }

    // MARK: matching

    /// Whether the flow satisfies every set field.
    public func matches(_ flow: Flow) -> Bool {
        let f = filter
        if !f.uuid.isEmpty && !f.uuid.contains(flow.uuid) { return false }
        if !sourceIP.isEmpty {
            guard let ip = flow.ip, sourceIP.contains(where: { $0.matches(ip.source) }) else { return false }
        }
        if !destinationIP.isEmpty {
            guard let ip = flow.ip, destinationIP.contains(where: { $0.matches(ip.destination) }) else { return false }
        }
        // Spyglass flows carry no translated source address: a source_ip_xlated filter never matches.
        if !sourceIPXlated.isEmpty { return false }
        if !sourcePod.isEmpty {
            let e = flow.source
            guard sourcePod.contains(where: { $0.matches(namespace: e?.namespace ?? "", name: e?.podName ?? "") })
            else { return false }
        }
        if !destinationPod.isEmpty {
            let e = flow.destination
            guard destinationPod.contains(where: { $0.matches(namespace: e?.namespace ?? "", name: e?.podName ?? "") })
            else { return false }
        }
        if !sourceService.isEmpty {
            guard let s = flow.sourceService,
                sourceService.contains(where: { $0.matches(namespace: s.namespace, name: s.name) })
            else { return false }
        }
        if !destinationService.isEmpty {
            guard let s = flow.destinationService,
                destinationService.contains(where: { $0.matches(namespace: s.namespace, name: s.name) })
            else { return false }
        }
        if !f.sourceWorkload.isEmpty && !Self.workloadMatches(f.sourceWorkload, flow.source) { return false }
        if !f.destinationWorkload.isEmpty && !Self.workloadMatches(f.destinationWorkload, flow.destination) {
            return false
        }
        if !f.sourceClusterName.isEmpty && !f.sourceClusterName.contains(flow.source?.clusterName ?? "") {
            return false
        }
        if !f.destinationClusterName.isEmpty && !f.destinationClusterName.contains(flow.destination?.clusterName ?? "")
        {
            return false
        }
        if !sourceFQDN.isEmpty && !Self.anyName(flow.sourceNames, sourceFQDN) { return false }
        if !destinationFQDN.isEmpty && !Self.anyName(flow.destinationNames, destinationFQDN) { return false }
        if !sourceLabel.isEmpty {
            let labels = flow.source?.labels ?? []
            guard sourceLabel.contains(where: { $0.matches(labels) }) else { return false }
        }
        if !destinationLabel.isEmpty {
            let labels = flow.destination?.labels ?? []
            guard destinationLabel.contains(where: { $0.matches(labels) }) else { return false }
        }
        // The Flow model carries no node labels: selectors are evaluated against an empty label set.
        if !nodeLabels.isEmpty && !nodeLabels.contains(where: { $0.matches([]) }) { return false }
        if !f.sourceIdentity.isEmpty && !f.sourceIdentity.contains(flow.source?.identity ?? 0) { return false }
        if !f.destinationIdentity.isEmpty && !f.destinationIdentity.contains(flow.destination?.identity ?? 0) {
            return false
        }
        if !f.trafficDirection.isEmpty && !f.trafficDirection.contains(flow.trafficDirection) { return false }
        if !f.verdict.isEmpty && !f.verdict.contains(flow.verdict) { return false }
        if !f.dropReasonDesc.isEmpty && !(flow.verdict == .dropped && f.dropReasonDesc.contains(flow.dropReasonDesc)) {
            return false
        }
        if !f.interface.isEmpty {
            guard let i = flow.interface,
                f.interface.contains(where: {
                    ($0.index == 0 || $0.index == i.index) && ($0.name.isEmpty || $0.name == i.name)
                })
            else { return false }
        }
        if !f.eventType.isEmpty {
            let et = flow.eventType ?? CiliumEventType(type: 0, subType: 0)
            guard
                f.eventType.contains(where: {
                    ($0.type == 0 || $0.type == et.type) && (!$0.matchSubType || $0.subType == et.subType)
                })
            else { return false }
        }
        if !statusCodes.isEmpty {
            guard let http = flow.l7?.http, http.code != 0, statusCodes.contains(where: { $0.matches(http.code) })
            else { return false }
        }
        if !protocols.isEmpty && !protocols.contains(where: { $0.matches(flow) }) { return false }
        if !sourcePorts.isEmpty {
            guard let p = Self.ports(flow)?.0, sourcePorts.contains(p) else { return false }
        }
        if !destinationPorts.isEmpty {
            guard let p = Self.ports(flow)?.1, destinationPorts.contains(p) else { return false }
        }
        if !f.reply.isEmpty {
            let reply: Bool? = flow.isReply ?? (flow.verdict == .dropped ? false : nil)
            guard let reply, f.reply.contains(reply) else { return false }
        }
        if !dnsQuery.isEmpty {
            guard let dns = flow.l7?.dns, dnsQuery.contains(where: { dns.query.contains($0) }) else { return false }
        }
        if !httpMethods.isEmpty {
            guard let http = flow.l7?.http, httpMethods.contains(http.method.uppercased()) else { return false }
        }
        if !httpPath.isEmpty {
            guard let http = flow.l7?.http else { return false }
            let path = Self.urlPath(http.url)
            guard httpPath.contains(where: { path.contains($0) }) else { return false }
        }
        if !httpURL.isEmpty {
            guard let http = flow.l7?.http, httpURL.contains(where: { http.url.contains($0) }) else { return false }
        }
        if !f.httpHeader.isEmpty {
            guard let http = flow.l7?.http, http.headers.contains(where: { f.httpHeader.contains($0) }) else {
                return false
            }
        }
        if !f.tcpFlags.isEmpty {
            guard case .tcp(let tcp)? = flow.l4 else { return false }
            let have = tcp.flags ?? []
            guard f.tcpFlags.contains(where: { have.isSuperset(of: $0) }) else { return false }
        }
        if !nodeName.isEmpty && !nodeName.contains(where: { $0.matches(flow.nodeName) }) { return false }
        if !f.ipVersion.isEmpty && !f.ipVersion.contains(flow.ip?.ipVersion ?? .ipNotUsed) { return false }
        if !f.traceID.isEmpty {
            guard let t = flow.traceContext?.traceID, f.traceID.contains(t) else { return false }
        }
        // Spyglass flows carry no IP-option trace ID (always unset): an ip_trace_id filter never matches.
        if !f.ipTraceID.isEmpty { return false }
        if !f.encrypted.isEmpty {
            guard let ip = flow.ip, f.encrypted.contains(ip.encrypted) else { return false }
        }
        return true
    }

    private static func workloadMatches(_ sels: [FlowFilter.WorkloadSelector], _ ep: Endpoint?) -> Bool {
        guard let ep else { return false }
        for w in ep.workloads {
            for s in sels where (s.name.isEmpty || s.name == w.name) && (s.kind.isEmpty || s.kind == w.kind) {
                return true
            }
        }
        return false
    }

    private static func anyName(_ names: [String], _ patterns: [NamePattern]) -> Bool {
        for n in names where patterns.contains(where: { $0.matches(n) }) { return true }
        return false
    }

    private static func ports(_ flow: Flow) -> (UInt16, UInt16)? {
        switch flow.l4 {
        case .tcp(let t): (t.sourcePort, t.destinationPort)
        case .udp(let u): (u.sourcePort, u.destinationPort)
        case .sctp(let s): (s.sourcePort, s.destinationPort)
        default: nil
        }
    }

    /// The path part of a URL (`http://h/p?q` → `/p`; a bare `/p?q` → `/p`), percent-decoded like Go's `URL.Path`.
    static func urlPath(_ url: String) -> String {
        var s = Substring(url)
        if let scheme = s.firstRange(of: "://") {
            s = s[scheme.upperBound...]
            guard let slash = s.firstIndex(of: "/") else { return "" }
            s = s[slash...]
        }
        if let q = s.firstIndex(where: { $0 == "?" || $0 == "#" }) { s = s[..<q] }
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2,
                let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Exact address or CIDR.
struct AddressMatch: Sendable {
    let address: IPAddress
    let prefix: Int

    init(_ v: String, field: String) throws(FlowFilterError) {
        if let slash = v.firstIndex(of: "/") {
            guard let a = IPAddress(v[..<slash]), let p = Int(v[v.index(after: slash)...]), p >= 0,
                p <= (a.isIPv6 ? 128 : 32)
            else {
                throw FlowFilterError(field: field, message: "invalid CIDR \(Quote.text(v))")
            }
            address = a
            prefix = p
        } else {
            guard let a = IPAddress(v) else {
                throw FlowFilterError(field: field, message: "invalid IP address \(Quote.text(v))")
            }
            address = a
            prefix = a.isIPv6 ? 128 : 32
        }
    }

    func matches(_ ip: IPAddress) -> Bool {
        guard ip.isIPv6 == address.isIPv6 else { return false }
        let hiBits = min(prefix, 64)
        let loBits = max(prefix - 64, 0)
        let hiMask: UInt64 = hiBits == 0 ? 0 : ~0 << (64 - UInt64(hiBits))
        let loMask: UInt64 = loBits == 0 ? 0 : ~0 << (64 - UInt64(loBits))
        return (ip.high & hiMask) == (address.high & hiMask) && (ip.low & loMask) == (address.low & loMask)
    }
}

/// `ns/prefix` pod and service filters: `name` alone = `default/name`, `ns/` = the whole namespace, `/prefix` = any
/// namespace.
struct NameInNamespace: Sendable {
    let namespace: String?
    let prefix: String

    init(_ v: String, field: String) throws(FlowFilterError) {
        guard !v.isEmpty else { throw FlowFilterError(field: field, message: "empty value \"\"") }
        if let slash = v.firstIndex(of: "/") {
            let ns = String(v[..<slash])
            namespace = ns.isEmpty ? nil : ns
            prefix = String(v[v.index(after: slash)...])
        } else {
            namespace = "default"
            prefix = v
        }
    }

    func matches(namespace ns: String, name: String) -> Bool {
        if let namespace, namespace != ns { return false }
        return name.hasPrefix(prefix)
    }
}

/// `http_status_code`: `404` exactly, or `4+` / `40+` as a prefix.
struct StatusCodeMatch: Sendable {
    let range: ClosedRange<UInt32>

    init(_ v: String) throws(FlowFilterError) {
        let digits = v.hasSuffix("+") ? v.dropLast() : Substring(v)
        let ok =
            !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber } && ("1"..."5").contains(digits.first!)
            && (v.hasSuffix("+") ? digits.count <= 2 : digits.count == 3)
        guard ok, let n = UInt32(digits) else {
            throw FlowFilterError(
                field: "http_status_code",
                message: "invalid status code \(Quote.text(v)) (expected e.g. \"404\", \"4+\" or \"40+\")")
        }
        switch digits.count {
        case 1: range = (n * 100)...(n * 100 + 99)
        case 2: range = (n * 10)...(n * 10 + 9)
        default: range = n...n
        }
    }

    func matches(_ code: UInt32) -> Bool { range.contains(code) }
}

/// `protocol`: L4 names test the L4 oneof, `dns`/`http` the L7 record.
enum ProtocolMatch: Sendable {
    case tcp, udp, sctp, icmp, icmpv4, icmpv6, vrrp, igmp, dns, http

    init(_ v: String) throws(FlowFilterError) {
        switch v.lowercased() {
        case "tcp": self = .tcp
        case "udp": self = .udp
        case "sctp": self = .sctp
        case "icmp": self = .icmp
        case "icmpv4": self = .icmpv4
        case "icmpv6": self = .icmpv6
        case "vrrp": self = .vrrp
        case "igmp": self = .igmp
        case "dns": self = .dns
        case "http": self = .http
        default:
            throw FlowFilterError(
                field: "protocol",
                message: "unknown protocol \(Quote.text(v)) (one of tcp udp sctp icmp icmpv4 icmpv6 vrrp igmp dns http)"
            )
        }
    }

    func matches(_ flow: Flow) -> Bool {
        switch (self, flow.l4) {
        case (.tcp, .tcp?), (.udp, .udp?), (.sctp, .sctp?), (.icmpv4, .icmpv4?), (.icmpv6, .icmpv6?), (.vrrp, .vrrp?),
            (.igmp, .igmp?):
            return true
        case (.icmp, .icmpv4?), (.icmp, .icmpv6?):
            return true
        case (.dns, _): return flow.l7?.dns != nil
        case (.http, _): return flow.l7?.http != nil
        default: return false
        }
    }
}
