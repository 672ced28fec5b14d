/// Turns packets that carry DNS or HTTP/1.x into Hubble L7 flows, pairing each response with its request.
///
/// Feed it every decoded trace flow with its frame snapshot (`process`); packets on other ports cost two bitmap
/// loads. With `httpDetect`, a TCP segment on another port that starts an HTTP request or status line is read as
/// HTTP too (its connection's other segments are gaps, skipped by the stream's framing: the kernel reports only the
/// segments that start like HTTP on such ports). For each DNS query / HTTP request it returns a REQUEST flow, for each response a RESPONSE flow with
/// `latency_ns`, the request's method and URL (HTTP) and the request's `traceparent` trace ID. Call `expire`
/// periodically (about once a second) to age out unanswered requests and idle connections, and `annotateNames` on
/// flows that should carry `source_names`/`destination_names`.
///
/// **Not thread-safe, by design**: one instance belongs to one pipeline thread (state is per connection and the
/// hot path takes no lock). Shard by flow hash if more than one thread must process L7.
///
/// Flow shape (as Hubble's L7 access-log flows): `Type` L7, `event_type` (129, 0), `is_reply` false for requests
/// and true for responses, `l7.type` REQUEST/RESPONSE; `time`, `verdict`, `ethernet`, `IP`, `l4` (TCP flags
/// dropped, ports kept), endpoints, services, `interface` and `node_name` copied from the packet's flow, so a
/// response's source is the server. `trace_observation_point` is UNKNOWN_POINT (Hubble's L7 flows carry none).
/// `traffic_direction` (httpV2's `reporter`): EGRESS where the client is a local endpoint or the node itself,
/// INGRESS where the server is; each role is reported at one site of the node only, and a DNS exchange once
/// (`L7Reporter`); a response inherits its request's.
///
/// Pairing keys include the observation site (interface + facing points, `ObservationSite`): a packet seen on
/// two watched veths pairs on each side separately. DNS pairs by (client, client port, server, server port, id)
/// and — when the response has a question — the same name; HTTP pairs FIFO per connection.
///
/// Only trace events are read: a dropped packet never reached its peer (and TCP will retransmit it).
public final class L7Assembler {
    public let config: L7Config

    private let dnsPorts: PortSet
    private let httpPorts: PortSet
    private let redactor: HeaderRedactor
    private let dnsTimeoutNs: UInt64
    private let idleTimeoutNs: UInt64
    private let limits: L7Limits
    private let bodySkip: (any L7BodySkipWriter)?

    private var pendingDNS: LRUTable<DNSQueryKey, PendingDNSQuery>
    private var dnsStreams: LRUTable<ConnectionKey, DNSTCPConnection>
    private var httpConnections: LRUTable<ConnectionKey, HTTPConnection>
    private var names: NamesMemory
    /// Which site reports which role (needs the node's addresses for devices and tunnels).
    private let reporter: L7Reporter
    /// DNS queries reported at some site of the node (node-wide key → that site), so no other site reports them.
    private var dnsClaims: LRUTable<DNSQueryKey, UInt64>
    private var counters = L7Stats()
    private var reassemblyBytes = 0
    private var pendingHTTP = 0
    /// Bytes the pending HTTP requests hold (`L7Limits.maxPendingHTTPBytes`).
    private var pendingHTTPBytes = 0
    private static let dnsQueryOverhead = LRUTable<DNSQueryKey, PendingDNSQuery>.entryOverhead
    private static let dnsClaimOverhead = LRUTable<DNSQueryKey, UInt64>.entryOverhead
    /// The latest packet time seen (monotonic ns): the clock of `annotateNames`.
    private var now: UInt64 = 0

    public init(config: L7Config = L7Config(), nodeAddresses: NodeAddressSet? = nil) {
        self.config = config
        reporter = L7Reporter(nodeAddresses: nodeAddresses)
        dnsClaims = LRUTable(capacity: config.limits.maxPendingDNSQueries, byteBudget: config.limits.maxDNSClaimBytes)
        limits = config.limits
        bodySkip = config.bodySkip?.writer
        dnsPorts = PortSet(config.dnsPorts)
        httpPorts = PortSet(config.httpPorts)
        redactor = HeaderRedactor(config: config)
        dnsTimeoutNs = config.limits.dnsQueryTimeout.l7Nanoseconds
        idleTimeoutNs = config.limits.connectionIdleTimeout.l7Nanoseconds
        pendingDNS = LRUTable(
            capacity: config.limits.maxPendingDNSQueries, byteBudget: config.limits.maxPendingDNSBytes)
        dnsStreams = LRUTable(capacity: config.limits.maxDNSTCPStreams)
        httpConnections = LRUTable(capacity: config.limits.maxHTTPConnections)
        names = NamesMemory(
            capacity: config.limits.maxNameEntries, byteBudget: config.limits.maxNameBytes,
            maxNamesPerIP: config.limits.maxNamesPerIP,
            minTTLNs: config.limits.minNameTTL.l7Nanoseconds, maxTTLNs: config.limits.maxNameTTL.l7Nanoseconds)
    }

    /// Counters and current table sizes.
    public var stats: L7Stats {
        var s = counters
        s.entries = [
            .dnsPending: pendingDNS.count, .dnsClaims: dnsClaims.count, .dnsTCPStreams: dnsStreams.count,
            .httpConnections: httpConnections.count,
            .httpPending: pendingHTTP, .names: names.count, .reassemblyBytes: reassemblyBytes
        ]
        s.bytes = [
            .dnsPending: pendingDNS.bytes, .dnsClaims: dnsClaims.bytes, .httpPending: pendingHTTPBytes,
            .names: names.bytes, .reassemblyBytes: reassemblyBytes
        ]
        if names.evictions > 0 { s.evictions[.names, default: 0] &+= names.evictions }
        if names.byteEvictions > 0 { s.byteEvictions[.names, default: 0] &+= names.byteEvictions }
        return s
    }

    // MARK: - Packets

    /// `flow` is the decoded L3/L4 trace flow of a packet; `frame` its snapshot from the MAC header; `monotonicNs`
    /// the packet time (CLOCK_BOOTTIME, the event's timestamp). Returns the L7 flows this packet completes, in
    /// order (zero, one or more: a segment may finish several pipelined messages).
    ///
    /// `packetLength`: the packet's real length from the MAC header (the event's `pkt_len`, skb->len); without it
    /// the flow's single-packet `aggregated_bytes` is used. It exposes forged IP lengths (`bad_ip_length`).
    public func process(flow: Flow, frame: UnsafeRawBufferPointer, monotonicNs: UInt64, packetLength: Int? = nil)
        -> [Flow]
    {
        guard let et = flow.eventType, et.type == CiliumEventType.trace, let ip = flow.ip else { return [] }
        let sport: UInt16
        let dport: UInt16
        let isTCP: Bool
        switch flow.l4 {
        case .tcp(let t)?: (sport, dport, isTCP) = (t.sourcePort, t.destinationPort, true)
        case .udp(let u)?: (sport, dport, isTCP) = (u.sourcePort, u.destinationPort, false)
        default: return []
        }
        let dnsSrc = dnsPorts.contains(sport)
        let dnsDst = dnsPorts.contains(dport)
        let httpSrc = isTCP && httpPorts.contains(sport)
        let httpDst = isTCP && httpPorts.contains(dport)
        // Neither port is configured: with `httpDetect`, a segment that starts an HTTP message still is HTTP.
        let detect = isTCP && config.httpDetect && !(dnsSrc || dnsDst || httpSrc || httpDst)
        guard dnsSrc || dnsDst || httpSrc || httpDst || detect else { return [] }

        if monotonicNs > now { now = monotonicNs }
        let p = PacketParser.parse(frame)
        guard let range = p.payloadRange, p.sourcePort == sport, p.destinationPort == dport,
            p.source == ip.source, p.destination == ip.destination
        else { return [] }
        if L7Assembler.claimsMoreThanPacket(p, frame, flow, packetLength: packetLength) {
            // Forged lengths would move the stream position past bytes that never came.
            counters.countMalformed(dnsSrc || dnsDst ? .dns : .http, L7Stats.badIPLength)
            return []
        }
        let payload = UnsafeRawBufferPointer(rebasing: frame[range])
        let seg = Segment(
            bytes: payload, length: max(payload.count, L7Assembler.realPayloadLength(p, frame, flow) ?? 0))
        let site = ObservationSite(flow)
        let packet = PacketContext(
            flow: flow, site: site, monotonicNs: monotonicNs, source: ip.source,
            destination: ip.destination, sourcePort: sport, destinationPort: dport)
        if !isTCP {
            return processDNSDatagram(packet, seg, serverIsSource: dnsSrc, serverIsDestination: dnsDst)
        }
        guard let tcp = p.tcp else { return [] }
        if dnsSrc || dnsDst {
            return processDNSStream(packet, seg, tcp, fromClient: dnsDst)
        }
        if detect {
            guard let fromClient = HTTPDetect.startsFromClient(seg.bytes) else { return [] }
            counters.httpDetected &+= 1
            return processHTTP(packet, seg, tcp, fromClient: fromClient)
        }
        return processHTTP(packet, seg, tcp, fromClient: httpDst)
    }

    /// Convenience for tests and tools.
    public func process(flow: Flow, frame: [UInt8], monotonicNs: UInt64, packetLength: Int? = nil) -> [Flow] {
        frame.withUnsafeBytes { process(flow: flow, frame: $0, monotonicNs: monotonicNs, packetLength: packetLength) }
    }

    /// Sets `source_names` / `destination_names` from the names memory (sorted, unique) for the flow's IPs that
    /// were answered in DNS responses and have not expired; leaves them untouched otherwise.
    public func annotateNames(_ flow: inout Flow) {
        guard let ip = flow.ip, names.count > 0 else { return }
        let s = names.names(of: ip.source, now: now)
        if !s.isEmpty { flow.sourceNames = s }
        let d = names.names(of: ip.destination, now: now)
        if !d.isEmpty { flow.destinationNames = d }
    }

    /// Evicts DNS queries older than `dnsQueryTimeout` and connections idle for `connectionIdleTimeout` (their
    /// pending requests count as unanswered), and expired names. `nowNs` is on the packets' clock.
    public func expire(nowNs: UInt64) {
        if nowNs > now { now = nowNs }
        var unansweredDNS: UInt64 = 0
        pendingDNS.removeOlder(than: nowNs > dnsTimeoutNs ? nowNs - dnsTimeoutNs : 0) { _, _ in unansweredDNS += 1 }
        dnsClaims.removeOlder(than: nowNs > dnsTimeoutNs ? nowNs - dnsTimeoutNs : 0) { _, _ in }
        counters.unansweredDNS &+= unansweredDNS

        let idleCut = nowNs > idleTimeoutNs ? nowNs - idleTimeoutNs : 0
        var dropped: [HTTPConnection] = []
        httpConnections.removeOlder(than: idleCut) { _, c in dropped.append(c) }
        for c in dropped { discard(c) }
        var freed = 0
        dnsStreams.removeOlder(than: idleCut) { _, c in freed += c.release() }
        reassemblyBytes -= freed
        names.expire(now: nowNs)
    }

    // MARK: - Shared

    struct PacketContext {
        var flow: Flow
        var site: ObservationSite
        var monotonicNs: UInt64
        var source: IPAddress
        var destination: IPAddress
        var sourcePort: UInt16
        var destinationPort: UInt16

        /// The connection this packet belongs to, client first: the sender is the client when `fromClient`.
        /// `site` overrides the packet's own (`.node` keys what the whole node shares).
        func connection(fromClient: Bool, site: ObservationSite? = nil) -> ConnectionKey {
            fromClient
                ? ConnectionKey(
                    site: site ?? self.site, client: source, server: destination, clientPort: sourcePort,
                    serverPort: destinationPort)
                : ConnectionKey(
                    site: site ?? self.site, client: destination, server: source, clientPort: destinationPort,
                    serverPort: sourcePort)
        }
    }

    /// The real payload size of the packet: from the IP length (UDP: its length field), which the snapshot may
    /// cut; nil when unknown.
    static func realPayloadLength(_ p: ParsedPacket, _ frame: UnsafeRawBufferPointer, _ flow: Flow) -> Int? {
        guard let l3 = p.l3Offset, let start = p.payloadOffset else { return nil }
        func be16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= frame.count else { return nil }
            return Int(frame[o]) << 8 | Int(frame[o + 1])
        }
        if p.ipProtocol == 17, let l4 = p.l4Offset, let udpLength = be16(l4 + 4), udpLength >= 8 {
            return udpLength - 8
        }
        var end: Int? = nil
        switch p.ipVersion {
        case .ipv4: if let total = be16(l3 + 2), total > 0 { end = l3 + total }
        case .ipv6: if let plen = be16(l3 + 4), plen > 0 { end = l3 + 40 + plen }
        case .ipNotUsed: break
        }
        if end == nil, flow.aggregatedPackets == 1, flow.aggregatedBytes > 0 {
            end = Int(clamping: flow.aggregatedBytes)  // skb->len from the MAC header (GSO / jumbo without IP length)
        }
        guard let end, end >= start else { return nil }
        return end - start
    }

    /// True when the IP total / payload length or the UDP length claims bytes past the end of the packet
    /// (skb->len, known for a single-packet event). The kernel drops such packets; tc sees them first.
    static func claimsMoreThanPacket(
        _ p: ParsedPacket, _ frame: UnsafeRawBufferPointer, _ flow: Flow, packetLength: Int?
    ) -> Bool {
        guard let l3 = p.l3Offset else { return false }
        let packetEnd: Int
        if let packetLength, packetLength > 0 {
            packetEnd = packetLength
        } else if flow.aggregatedPackets == 1, flow.aggregatedBytes > 0 {
            packetEnd = Int(clamping: flow.aggregatedBytes)
        } else {
            return false
        }
        func be16(_ o: Int) -> Int? {
            guard o >= 0, o + 2 <= frame.count else { return nil }
            return Int(frame[o]) << 8 | Int(frame[o + 1])
        }
        switch p.ipVersion {
        case .ipv4: if let total = be16(l3 + 2), l3 + total > packetEnd { return true }
        case .ipv6: if let plen = be16(l3 + 4), plen > 0, l3 + 40 + plen > packetEnd { return true }
        case .ipNotUsed: break
        }
        if p.ipProtocol == 17, let l4 = p.l4Offset, let udpLength = be16(l4 + 4), l4 + udpLength > packetEnd {
            return true
        }
        return false
    }

    /// An L7 flow from the packet that completed the message.
    func l7Flow(
        _ packet: PacketContext, type: L7FlowType, latencyNs: UInt64, record: Layer7.Record,
        direction: TrafficDirection, traceID: String?
    ) -> Flow {
        let p = packet.flow
        var l4 = p.l4
        if case .tcp(let t)? = l4 { l4 = .tcp(TCP(sourcePort: t.sourcePort, destinationPort: t.destinationPort)) }
        return Flow(
            time: p.time, verdict: p.verdict, ethernet: p.ethernet, ip: p.ip, l4: l4,
            source: p.source, destination: p.destination, type: .l7, nodeName: p.nodeName,
            sourceNames: p.sourceNames, destinationNames: p.destinationNames,
            l7: Layer7(type: type, latencyNs: latencyNs, record: record),
            eventType: CiliumEventType(type: CiliumEventType.accessLog, subType: 0),
            sourceService: p.sourceService, destinationService: p.destinationService,
            trafficDirection: direction, traceObservationPoint: .unknownPoint, isReply: type == .response,
            interface: p.interface, traceContext: traceID.map { TraceContext(traceID: $0) })
    }

    // MARK: - DNS

    private func processDNSDatagram(
        _ packet: PacketContext, _ seg: Segment, serverIsSource: Bool, serverIsDestination: Bool
    ) -> [Flow] {
        guard let header = DNSParser.header(seg.bytes) else {
            counters.countMalformed(.dns, DNSParseError.shortHeader.reason)
            return []
        }
        // A query goes to the server port, a response comes from it.
        guard header.flags.isResponse ? serverIsSource : serverIsDestination else { return [] }
        var out: [Flow] = []
        handleDNS(seg.bytes, isPrefix: seg.missingTail > 0, packet, into: &out)
        return out
    }

    private func processDNSStream(
        _ packet: PacketContext, _ seg: Segment, _ tcp: ParsedPacket.TCPHeader, fromClient: Bool
    ) -> [Flow] {
        let key = packet.connection(fromClient: fromClient)
        let closing = tcp.flags.contains(.rst) || tcp.flags.contains(.fin)
        var slot = dnsStreams.slot(of: key)
        if let s = slot, isNewConnection(tcp) {
            reassemblyBytes -= dnsStreams.removeSlot(s).1.release()
            slot = nil
        }
        if slot == nil {
            guard seg.length > 0 else { return [] }
            let (s, evicted) = dnsStreams.insert(key, DNSTCPConnection(), stamp: packet.monotonicNs)
            if let (_, old) = evicted {
                reassemblyBytes -= old.release()
                counters.countEviction(.dnsTCPStreams)
            }
            slot = s
        }
        guard let slot else { return [] }
        dnsStreams.touch(slot, stamp: packet.monotonicNs)
        let conn = dnsStreams[slot: slot]
        var out: [Flow] = []
        var budget = limits.maxReassemblyBytes - reassemblyBytes
        var budgetExceeded: UInt64 = 0
        let emit: (DNSTCPFramer.Event) -> Void = { event in
            switch event {
            case .message(let bytes, let isPrefix):
                self.handleDNS(bytes, isPrefix: isPrefix, packet, into: &out)
            case .badLength:
                self.counters.countMalformed(.dns, "bad_tcp_length")
            }
        }
        var lost = false
        var inWindow = true
        if fromClient {
            lost = feed(&conn.toServer, seg, tcp, &budget, &budgetExceeded, &inWindow, emit)
        } else {
            lost = feed(&conn.toClient, seg, tcp, &budget, &budgetExceeded, &inWindow, emit)
        }
        if lost { counters.streamResyncs &+= 1 }
        if !inWindow { counters.countMalformed(.dns, L7Stats.outOfWindow) }
        reassemblyBytes = limits.maxReassemblyBytes - budget
        counters.reassemblyBudgetExceeded &+= budgetExceeded
        // A FIN or RST outside the window is not this connection's end.
        if closing && inWindow {
            if fromClient { conn.clientClosed = true } else { conn.serverClosed = true }
            if tcp.flags.contains(.rst) || (conn.clientClosed && conn.serverClosed) {
                reassemblyBytes -= conn.release()
                dnsStreams.removeSlot(slot)
            }
        }
        return out
    }

    /// A client's SYN (without ACK) opens a new connection.
    private func isNewConnection(_ tcp: ParsedPacket.TCPHeader) -> Bool {
        tcp.flags.contains(.syn) && !tcp.flags.contains(.ack)
    }

    private func feed(
        _ framer: inout DNSTCPFramer, _ seg: Segment, _ tcp: ParsedPacket.TCPHeader, _ budget: inout Int,
        _ exceeded: inout UInt64, _ inWindow: inout Bool, _ emit: (DNSTCPFramer.Event) -> Void
    ) -> Bool {
        var seg = seg
        var lost = false
        switch framer.sequence.admit(seq: tcp.sequence, length: seg.length, syn: tcp.flags.contains(.syn)) {
        case .duplicate: return false
        case .outOfWindow:
            inWindow = false
            return false
        case .jump:
            framer.desync(budget: &budget)
            lost = true
        case .gap(let n): lost = framer.skip(n, budget: &budget, emit: emit)
        case .inOrder(let skip): seg = seg.dropping(skip)
        case .first: break
        }
        guard seg.length > 0 else { return lost }
        let l = framer.feed(
            seg, maxMessageBytes: limits.maxDNSTCPMessageBytes, budget: &budget, budgetExceeded: &exceeded, emit: emit)
        return lost || l
    }

    /// One DNS message of the packet: a query becomes a REQUEST flow and a pending entry, a response a RESPONSE
    /// flow paired with its query (if seen) and names for the names memory.
    private func handleDNS(
        _ bytes: UnsafeRawBufferPointer, isPrefix: Bool, _ packet: PacketContext, into out: inout [Flow]
    ) {
        let message: DNSMessage
        do throws(DNSParseError) {
            message = try DNSParser.parse(bytes, isPrefix: isPrefix)
        } catch {
            counters.countMalformed(.dns, error.reason)
            return
        }
        if message.isPartial { counters.dnsPartial &+= 1 }
        let point = packet.flow.traceObservationPoint
        if !message.isResponse {
            guard let question = message.questions.first else {
                counters.countMalformed(.dns, "no_question")
                return
            }
            let claim = DNSQueryKey(
                connection: packet.connection(fromClient: true, site: .node), id: message.id)
            let owner = dnsClaims.slot(of: claim).map { dnsClaims[slot: $0] }
            guard
                let direction = reporter.dnsQuery(
                    at: point, destination: packet.destination, claimed: owner.map { $0 != packet.site.raw } ?? false)
            else { return }
            if owner == nil {
                let (slot, evicted) = dnsClaims.insert(
                    claim, packet.site.raw, stamp: packet.monotonicNs, cost: L7Assembler.dnsClaimOverhead)
                if evicted != nil { counters.countEviction(.dnsClaims) }
                if dnsClaims.isOverBudget {
                    dnsClaims.evictOverBudget(keeping: slot) { _, _ in counters.countByteEviction(.dnsClaims) }
                }
            }
            counters.dnsQueries &+= 1
            let qtypes = message.questions.map { DNSRecordType.name($0.type) }
            let key = DNSQueryKey(
                connection: packet.connection(fromClient: true), id: message.id)
            // A retransmitted query keeps the first one's time: latency is from the first ask.
            if pendingDNS.slot(of: key) == nil {
                let pending = PendingDNSQuery(
                    query: question.name, qtypes: qtypes, monotonicNs: packet.monotonicNs, direction: direction)
                let (slot, evicted) = pendingDNS.insert(
                    key, pending, stamp: packet.monotonicNs, cost: L7Assembler.dnsQueryOverhead + pending.heapCost)
                if evicted != nil {
                    counters.countEviction(.dnsPending)
                    counters.unansweredDNS &+= 1
                }
                if pendingDNS.isOverBudget {
                    pendingDNS.evictOverBudget(keeping: slot) { _, _ in
                        counters.countByteEviction(.dnsPending)
                        counters.unansweredDNS &+= 1
                    }
                }
            }
            let record = DNS(
                query: question.name, observationSource: config.dnsObservationSource, rcode: 0, qtypes: qtypes)
            out.append(
                l7Flow(packet, type: .request, latencyNs: 0, record: .dns(record), direction: direction, traceID: nil))
            return
        }

        let key = DNSQueryKey(
            connection: packet.connection(fromClient: false), id: message.id)
        var pending: PendingDNSQuery? = nil
        var mismatch = false
        if let slot = pendingDNS.slot(of: key) {
            let candidate = pendingDNS[slot: slot]
            // Only the same question answers the query: an id reused for another name (or a response without
            // its question) is not this query's answer.
            if let q = message.questions.first, q.name == candidate.query,
                DNSRecordType.name(q.type) == candidate.qtypes.first
            {
                pending = candidate
                pendingDNS.removeSlot(slot)
            } else {
                mismatch = true
            }
        }
        let claim = DNSQueryKey(
            connection: packet.connection(fromClient: false, site: .node), id: message.id)
        let claimSlot = dnsClaims.slot(of: claim)
        let unmatchedDirection: TrafficDirection?
        if pending != nil {
            unmatchedDirection = nil
            if let claimSlot { dnsClaims.removeSlot(claimSlot) }
        } else {
            // Another site of the node reported the query: the response is its to report.
            let claimed = claimSlot.map { dnsClaims[slot: $0] != packet.site.raw } ?? false
            unmatchedDirection = reporter.dnsUnmatchedResponse(
                at: point, source: packet.source, destination: packet.destination, claimed: claimed)
            guard unmatchedDirection != nil else { return }
        }
        guard let query = message.questions.first?.name ?? pending?.query else {
            counters.countMalformed(.dns, "no_question")
            return
        }
        counters.dnsResponses &+= 1
        if pending == nil { counters.dnsUnmatchedResponses &+= 1 }
        let qtypes =
            message.questions.isEmpty ? (pending?.qtypes ?? []) : message.questions.map { DNSRecordType.name($0.type) }

        var ips: [String] = []
        var cnames: [String] = []
        var rrtypes: [String] = []
        rrtypes.reserveCapacity(message.answers.count)
        var ttl: UInt32 = .max
        // Names that lead to the query through the CNAME chain: only their addresses are remembered.
        var chain: [String] = [query]
        for answer in message.answers {
            rrtypes.append(DNSRecordType.name(answer.type))
            ttl = min(ttl, answer.ttl)
            switch answer.data {
            case .address(let a):
                ips.append(a.description)
            case .name(let target) where answer.type == DNSRecordType.cname:
                cnames.append(target)
                if chain.contains(answer.name) { chain.append(target) }
            default:
                break
            }
        }
        if message.answers.isEmpty { ttl = 0 }
        if pending == nil {
            // Anyone can send a packet from port 53: only answers to a query seen on its way out may name
            // addresses (otherwise a pod could relabel other flows' destination_names and slip past FQDN filters).
            if !ips.isEmpty {
                counters.namesRejected[mismatch ? L7Stats.questionMismatch : L7Stats.unsolicited, default: 0] &+= 1
            }
        } else if message.rcode == 0 {
            for answer in message.answers where chain.contains(answer.name) {
                if case .address(let a) = answer.data {
                    names.insert(ip: a, name: query, ttlSeconds: answer.ttl, now: packet.monotonicNs)
                }
            }
        }
        let latency =
            pending.map { packet.monotonicNs >= $0.monotonicNs ? packet.monotonicNs - $0.monotonicNs : 0 } ?? 0
        let direction = pending?.direction ?? unmatchedDirection ?? .unknown
        let record = DNS(
            query: query, ips: ips, ttl: ttl, cnames: cnames, observationSource: config.dnsObservationSource,
            rcode: UInt32(message.rcode), qtypes: qtypes, rrtypes: rrtypes)
        out.append(
            l7Flow(
                packet, type: .response, latencyNs: latency, record: .dns(record), direction: direction, traceID: nil))
    }

    // MARK: - HTTP

    private func processHTTP(_ packet: PacketContext, _ seg: Segment, _ tcp: ParsedPacket.TCPHeader, fromClient: Bool)
        -> [Flow]
    {
        let key = packet.connection(fromClient: fromClient)
        var slot = httpConnections.slot(of: key)
        if let s = slot, isNewConnection(tcp) {
            // The 5-tuple is reused by a new connection: the old one ended unseen.
            discard(httpConnections.removeSlot(s).1)
            slot = nil
        }
        if slot == nil {
            guard seg.length > 0 else { return [] }
            let (s, evicted) = httpConnections.insert(key, HTTPConnection(), stamp: packet.monotonicNs)
            if let (_, old) = evicted {
                counters.countEviction(.httpConnections)
                discard(old)
            }
            slot = s
        }
        guard let slot else { return [] }
        httpConnections.touch(slot, stamp: packet.monotonicNs)
        let conn = httpConnections[slot: slot]
        let stream = fromClient ? conn.client : conn.server
        var out: [Flow] = []
        var ctx = HTTPStream.Context(
            maxHeadBytes: limits.maxHTTPHeaderBytes, maxHeaders: limits.maxHTTPHeaderCount,
            keepHeaders: config.includeHeaders, budget: limits.maxReassemblyBytes - reassemblyBytes)

        var seg = seg
        var feedSegment = seg.length > 0
        var inWindow = true
        switch stream.sequence.admit(seq: tcp.sequence, length: seg.length, syn: tcp.flags.contains(.syn)) {
        case .duplicate:
            feedSegment = false
        case .outOfWindow:
            feedSegment = false
            inWindow = false
            counters.countMalformed(.http, L7Stats.outOfWindow)
        case .jump:
            stream.skipEnd = nil
            if let event = stream.desync(&ctx) { handle(event, conn, stream, packet, &out) }
        case .gap(let n):
            if let event = stream.lose(n, &ctx) { handle(event, conn, stream, packet, &out) }
        case .inOrder(let skip):
            seg = seg.dropping(skip)
        case .first:
            break
        }
        if feedSegment && seg.length > 0 {
            var off = 0
            while let event = stream.next(seg, &off, &ctx) {
                handle(event, conn, stream, packet, &out)
            }
        }
        reassemblyBytes = limits.maxReassemblyBytes - ctx.budget
        counters.reassemblyBudgetExceeded &+= ctx.budgetExceeded
        if inWindow, let bodySkip { tellKernelBody(stream, packet, bodySkip) }

        // A FIN or RST outside the window is not this connection's end.
        if !inWindow {
        } else if tcp.flags.contains(.rst) {
            discard(conn)
            httpConnections.removeSlot(slot)
        } else if tcp.flags.contains(.fin) {
            stream.closed = true
            // No more bytes in this direction: a head still in the buffer never completes.
            reassemblyBytes -= stream.release()
            stream.mode = .opaque
            // The server is done: whatever it has not answered, it never will.
            if !fromClient { flushPending(conn) }
            if conn.client.closed && conn.server.closed {
                discard(conn)
                httpConnections.removeSlot(slot)
            }
        }
        if pendingHTTP > limits.maxPendingHTTPRequests || pendingHTTPBytes > limits.maxPendingHTTPBytes {
            shedPendingHTTP(keeping: slot)
        }
        return out
    }

    /// Inside a counted body with more than `L7BodySkip.threshold` bytes to come, tells the kernel to leave the
    /// segments wholly inside it out: the stream skips them by count from the gap they leave. Once per body part
    /// (`maxSpan` at a time): the segments in flight until the kernel has the entry compute the same end.
    private func tellKernelBody(_ stream: HTTPStream, _ packet: PacketContext, _ bodySkip: any L7BodySkipWriter) {
        guard case .fixed(let remaining) = stream.mode, remaining > L7BodySkip.threshold,
            let next = stream.sequence.next
        else { return }
        if let told = stream.skipEnd, Int32(bitPattern: next &- told) < 0 { return }
        let end = next &+ UInt32(min(remaining, L7BodySkip.maxSpan))
        stream.skipEnd = end
        counters.httpBodySkips &+= 1
        bodySkip.skip(
            L7Direction(
                source: packet.source, destination: packet.destination, sourcePort: packet.sourcePort,
                destinationPort: packet.destinationPort), from: next, end: end)
    }

    private func handle(
        _ event: HTTPStreamEvent, _ conn: HTTPConnection, _ stream: HTTPStream, _ packet: PacketContext,
        _ out: inout [Flow]
    ) {
        switch event {
        case .lostSync:
            counters.streamResyncs &+= 1
        case .malformed(let error, let salvaged):
            counters.countMalformed(.http, error.reason)
            if let head = salvaged {
                headArrived(head, conn, stream, packet, &out)
            } else if error != .badChunk {
                if stream.isRequest {
                    // A request we could not read still gets a response: keep the FIFO aligned.
                    enqueue(
                        PendingHTTPRequest(
                            method: "", url: "", traceID: nil, monotonicNs: packet.monotonicNs,
                            direction: reporter.request(
                                at: packet.flow.traceObservationPoint,
                                source: packet.source, destination: packet.destination)), conn)
                } else if !conn.pending.isEmpty {
                    // Likewise a response we could not read answers the oldest request.
                    _ = popPending(conn)
                }
            }
        case .head(let head):
            if head.isPartial { counters.httpPartial &+= 1 }
            headArrived(head, conn, stream, packet, &out)
        }
    }

    private func headArrived(
        _ head: HTTPHead, _ conn: HTTPConnection, _ stream: HTTPStream, _ packet: PacketContext, _ out: inout [Flow]
    ) {
        var headers = head.headers
        if !headers.isEmpty {
            redactor.apply(&headers)
            sortHeaders(&headers)
        }
        if case .request(let method, let target) = head.startLine {
            counters.httpRequests &+= 1
            let url = HTTPURL.build(
                target: target, host: head.host, server: packet.destination, serverPort: packet.destinationPort,
                config: config)
            let traceID = head.traceparent.flatMap { TraceParent.traceID($0) }
            let direction = reporter.request(
                at: packet.flow.traceObservationPoint, source: packet.source, destination: packet.destination)
            if let direction {
                let record = HTTP(code: 0, method: method, url: url, protocol: head.version, headers: headers)
                out.append(
                    l7Flow(
                        packet, type: .request, latencyNs: 0, record: .http(record), direction: direction,
                        traceID: traceID))
            }
            enqueue(
                PendingHTTPRequest(
                    method: method, url: url, traceID: traceID, monotonicNs: packet.monotonicNs, direction: direction),
                conn)
            guard !head.isPartial else { return }
            if head.hasTransferEncoding {
                if head.chunked {
                    stream.mode = .chunked(ChunkState())
                } else {
                    counters.countMalformed(.http, HTTPParseError.badTransferEncoding.reason)
                    stream.mode = .unsynced
                }
            } else if head.invalidContentLength {
                counters.countMalformed(.http, HTTPParseError.badContentLength.reason)
                stream.mode = .unsynced
            } else if let n = head.contentLength, n > 0 {
                stream.mode = .fixed(remaining: n)
            }
            return
        }

        let code = head.statusCode
        if code < 200 && code != 101 {
            counters.httpInterimResponses &+= 1
            return
        }
        counters.httpResponses &+= 1
        var request: PendingHTTPRequest? = nil
        if !conn.pending.isEmpty {
            request = popPending(conn)
        } else {
            counters.httpUnmatchedResponses &+= 1
        }
        let latency =
            request.map { packet.monotonicNs >= $0.monotonicNs ? packet.monotonicNs - $0.monotonicNs : 0 } ?? 0
        let direction =
            request.map(\.direction)
            ?? reporter.unmatchedResponse(
                at: packet.flow.traceObservationPoint, source: packet.source, destination: packet.destination)
        if let direction {
            let record = HTTP(
                code: code, method: request?.method ?? "", url: request?.url ?? "", protocol: head.version,
                headers: headers)
            out.append(
                l7Flow(
                    packet, type: .response, latencyNs: latency, record: .http(record), direction: direction,
                    traceID: request?.traceID))
        }
        guard !head.isPartial else { return }
        let method = request?.method ?? ""
        if code == 101 || (method == "CONNECT" && code < 300) {
            // Not HTTP/1.x any more in either direction.
            conn.client.mode = .opaque
            conn.server.mode = .opaque
            flushPending(conn)
        } else if method == "HEAD" || code == 204 || code == 304 {
            stream.mode = .head
        } else if head.hasTransferEncoding {
            // Chunked, or delimited by the end of the connection.
            stream.mode = head.chunked ? .chunked(ChunkState()) : .unsynced
        } else if head.invalidContentLength {
            counters.countMalformed(.http, HTTPParseError.badContentLength.reason)
            stream.mode = .unsynced
        } else if let n = head.contentLength {
            stream.mode = n > 0 ? .fixed(remaining: n) : .head
        } else {
            // Read until the server closes: wait for something that looks like a status line.
            stream.mode = .unsynced
        }
    }

    private func enqueue(_ request: PendingHTTPRequest, _ conn: HTTPConnection) {
        if conn.pending.count >= limits.maxPendingRequestsPerConnection {
            _ = popPending(conn)
            counters.unansweredHTTP &+= 1
            counters.countEviction(.httpPending)
        }
        conn.pending.append(request)
        pendingHTTP += 1
        let cost = request.cost
        conn.pendingBytes += cost
        pendingHTTPBytes += cost
    }

    /// Takes the oldest pending request of the connection off its FIFO.
    private func popPending(_ conn: HTTPConnection) -> PendingHTTPRequest {
        let request = conn.pending.removeFirst()
        pendingHTTP -= 1
        let cost = request.cost
        conn.pendingBytes -= cost
        pendingHTTPBytes -= cost
        return request
    }

    private func flushPending(_ conn: HTTPConnection) {
        counters.unansweredHTTP &+= UInt64(conn.pending.count)
        pendingHTTP -= conn.pending.count
        pendingHTTPBytes -= conn.pendingBytes
        conn.pendingBytes = 0
        conn.pending.removeAll()
    }

    /// Forgets a connection's state: pending requests are unanswered, buffers freed.
    private func discard(_ conn: HTTPConnection) {
        flushPending(conn)
        reassemblyBytes -= conn.release()
    }

    /// Over the global pending bound (count or bytes): drop the least recently active connections (never
    /// `keeping`; one connection alone holds at most `maxPendingRequestsPerConnection` requests).
    private func shedPendingHTTP(keeping: Int32) {
        while let oldest = httpConnections.oldest, oldest != keeping {
            if pendingHTTP > limits.maxPendingHTTPRequests {
                counters.countEviction(.httpConnections)
            } else if pendingHTTPBytes > limits.maxPendingHTTPBytes {
                counters.countByteEviction(.httpConnections)
            } else {
                return
            }
            discard(httpConnections.removeSlot(oldest).1)
        }
    }

    /// Stable sort by key (Hubble's records list headers by key): insertion sort in place, heads are short.
    private func sortHeaders(_ headers: inout [HTTPHeader]) {
        guard headers.count > 1 else { return }
        for i in 1..<headers.count where headers[i - 1].key > headers[i].key {
            let h = headers[i]
            var j = i
            while j > 0 && headers[j - 1].key > h.key {
                headers[j] = headers[j - 1]
                j -= 1
            }
            headers[j] = h
        }
    }
}
