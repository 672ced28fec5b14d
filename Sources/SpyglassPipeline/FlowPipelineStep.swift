import SpyglassFlow
import SpyglassMetrics

/// The agent's per-event path, one ring-buffer record at a time: validate and decode the record into a Flow, add
/// DNS names, let the L7 assembler turn DNS/HTTP payloads into L7 flows (and a dropped DNS query into a DROPPED
/// DNS request), enrich endpoints, and hand every flow to the metric handlers and the export sink. Decode failures
/// are counted by reason, never dropped silently.
///
/// No thread, queue or clock of its own: `FlowPipeline` calls it from its thread; tests and the fuzz targets call
/// it directly with hand-built records. **Not thread-safe, by design** (the L7 assembler is single-threaded): one
/// instance belongs to one thread; `counters` and `decodeErrors` are read on that thread.
public final class FlowPipelineStep {
    public typealias Enricher = @Sendable (inout Flow) -> Void
    public typealias Sink = @Sendable (Flow) -> Void

    /// What the step handed on or rejected (monotonic).
    public struct Counters: Sendable, Equatable {
        /// L3/L4 flows (traces and drops) handed on.
        public var flows: UInt64 = 0
        /// L7 flows handed on: those the assembler made from payloads and dropped DNS queries.
        public var l7Flows: UInt64 = 0
        /// Events the kernel sent only for their L7 payload (aggregation folded them as traces): no trace flow.
        public var l7OnlyEvents: UInt64 = 0
        /// Records that did not decode (by reason in `decodeErrors`).
        public var decodeErrors: UInt64 = 0

        public init() {}
    }

    // Unchecked: updated per event on the hot path; the type is single-threaded, so the runtime's dynamic
    // exclusivity check would buy nothing.
    @exclusivity(unchecked) public private(set) var counters = Counters()
    /// Decode failures by `DecodeError.reason` (monotonic).
    public private(set) var decodeErrors: [String: UInt64] = [:]

    private let decoder: EventDecoder
    private let metrics: MetricsEngine
    private let l7: L7Assembler?
    private let dnsPorts: Set<UInt16>
    private let dnsObservationSource: String
    private let enrich: Enricher?
    private let export: Sink?

    /// `l7` nil: no L7 flows and no DNS names (`--enable-l7` off). `export` receives every flow the metrics engine
    /// receives, after enrichment (the agent's flow logs and Hubble API ring).
    public init(
        decoder: EventDecoder, metrics: MetricsEngine, l7: L7Config? = L7Config(), nodeAddresses: NodeAddressSet? = nil,
        enrich: Enricher? = nil, export: Sink? = nil
    ) {
        self.decoder = decoder
        self.metrics = metrics
        self.l7 = l7.map { L7Assembler(config: $0, nodeAddresses: nodeAddresses) }
        self.dnsPorts = l7?.dnsPorts ?? []
        self.dnsObservationSource = l7?.dnsObservationSource ?? ""
        self.enrich = enrich
        self.export = export
    }

    public var l7Enabled: Bool { l7 != nil }

    /// One record, as the ring buffer delivers it (`struct spy_packet_event` + frame snapshot).
    public func process(_ record: UnsafeRawBufferPointer) {
        do throws(DecodeError) {
            let event = try SpyPacketEvent(validating: record)
            let snapshot = UnsafeRawBufferPointer(rebasing: record[event.snapshotRange])
            var flow = decoder.flow(from: event, snapshot: snapshot)
            if let l7 {
                l7.annotateNames(&flow)
                if event.flags.contains(.l7Candidate) && event.kind == .drop,
                    var dropped = droppedDNSQuery(event, flow, snapshot)
                {
                    deliver(&dropped)
                    counters.l7Flows &+= 1
                }
                if event.flags.contains(.l7Candidate) && event.kind == .trace {
                    for var l7Flow in l7.process(
                        flow: flow, frame: snapshot, monotonicNs: event.timestampNs,
                        packetLength: Int(event.packetLength))
                    {
                        l7.annotateNames(&l7Flow)
                        deliver(&l7Flow)
                        counters.l7Flows &+= 1
                    }
                }
            }
            // A packet sent only for its L7 payload was folded as a trace by aggregation: no trace flow.
            if !event.flags.contains(.l7Only) {
                deliver(&flow)
                counters.flows &+= 1
            } else {
                counters.l7OnlyEvents &+= 1
            }
        } catch {
            counters.decodeErrors &+= 1
            decodeErrors[error.reason, default: 0] &+= 1
        }
    }

    /// Convenience for tests and tools.
    public func process(_ record: [UInt8]) {
        record.withUnsafeBytes { process($0) }
    }

    /// Ages out unanswered requests and idle connections as of `nowNs` (CLOCK_BOOTTIME, the clock of the events'
    /// timestamps) and returns the L7 assembler's counters; nil without L7. About once a second.
    public func expire(nowNs: UInt64) -> L7Stats? {
        guard let l7 else { return nil }
        l7.expire(nowNs: nowNs)
        return l7.stats
    }

    /// A DNS query the kernel dropped: Hubble reports it as an L7 DNS request flow with verdict DROPPED, which the
    /// `dns` handler counts in `hubble_dns_queries_total{rcode="Policy denied"}`.
    private func droppedDNSQuery(_ event: SpyPacketEvent, _ flow: Flow, _ snapshot: UnsafeRawBufferPointer) -> Flow? {
        guard case .udp(let udp)? = flow.l4, dnsPorts.contains(udp.destinationPort), event.l4Offset > 0 else {
            return nil
        }
        let start = Int(event.l4Offset) + 8
        guard start < snapshot.count else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: snapshot[start...])
        guard let message = try? DNSParser.parse(payload, isPrefix: true), !message.isResponse,
            let question = message.questions.first
        else { return nil }
        var l7Flow = flow
        l7Flow.type = .l7
        l7Flow.eventType = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)
        l7Flow.isReply = false
        l7Flow.l7 = Layer7(
            type: .request,
            record: .dns(
                DNS(
                    query: question.name, observationSource: dnsObservationSource,
                    qtypes: message.questions.map { DNSRecordType.name($0.type) })))
        return l7Flow
    }

    @inline(__always) private func deliver(_ flow: inout Flow) {
        enrich?(&flow)
        metrics.process(flow)
        export?(flow)
    }
}
