import Foundation
import Synchronization
import SpyglassDatapath
import SpyglassFlow
import SpyglassMetrics

/// The consumer thread: takes event batches from the queue and, per event, decodes the Flow, adds DNS names,
/// lets the L7 assembler turn DNS/HTTP payloads into L7 flows, enriches endpoints, and hands every flow to the
/// metric handlers and the exporters. Decode failures are counted by reason, never dropped silently.
///
/// The L7 assembler is single-threaded by design: it lives on this thread only. Its counters are copied out under
/// a lock once per housekeeping tick for the metrics endpoint.
public final class FlowPipeline: @unchecked Sendable {
    // @unchecked: `decoder` and `l7` are used only on the pipeline thread; the counters are behind `lock`.
    public typealias Enricher = @Sendable (inout Flow) -> Void
    public typealias Sink = @Sendable (Flow) -> Void

    private let queue: EventQueue
    private let metrics: MetricsEngine
    private let decoder: EventDecoder
    private let l7: L7Assembler?
    private let dnsPorts: Set<UInt16>
    private let dnsObservationSource: String
    private let enrich: Enricher?
    private let export: Sink?
    private let lock = NSLock()
    private var decodeErrors: [String: UInt64] = [:]
    private var flows: UInt64 = 0
    private var l7Flows: UInt64 = 0
    /// Events the kernel sent only for their L7 payload: no trace flow, but part of the accounting.
    private var l7OnlyEvents: UInt64 = 0
    private var l7Stats = L7Stats()
    private var lastExpireNs: UInt64 = 0
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// Monotonic time (ns) of the thread's last loop, for /healthz: the loop runs at least every 200 ms.
    let heartbeatNs = Atomic<UInt64>(0)

    init(
        queue: EventQueue, metrics: MetricsEngine, nodeName: String,
        dropReasons: @escaping EventDecoder.DropReasonResolver = EventDecoder.unknownDropReason,
        l7: L7Config? = L7Config(), enrich: Enricher? = nil, export: Sink? = nil, nodeAddresses: NodeAddressSet? = nil
    ) {
        self.queue = queue
        self.metrics = metrics
        let names = InterfaceNameCache()
        self.decoder = EventDecoder(
            nodeName: nodeName, bootToWallOffsetNs: BootClock.bootToWallOffsetNs(),
            interfaceName: { names.name(of: $0) }, dropReasonResolver: dropReasons)
        self.l7 = l7.map { L7Assembler(config: $0, nodeAddresses: nodeAddresses) }
        self.dnsPorts = l7?.dnsPorts ?? []
        self.dnsObservationSource = l7?.dnsObservationSource ?? ""
        self.enrich = enrich
        self.export = export
    }

    func start() {
        let t = Thread { [self] in
            while true {
                heartbeatNs.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
                if let batch = queue.pop(timeoutMs: 200) {
                    process(batch)
                    queue.recycle(batch)
                } else if queue.isClosed {
                    break
                }
                housekeeping()
            }
            housekeeping(force: true)
            done.signal()
        }
        t.name = "spyglass-flows"
        thread = t
        t.start()
    }

    /// Waits for the queue to be closed and drained.
    func stop() {
        guard thread != nil else { return }
        done.wait()
        thread = nil
    }

    private func process(_ batch: EventBatch) {
        var processed: UInt64 = 0
        var l7Made: UInt64 = 0
        var l7Only: UInt64 = 0
        batch.forEach { record in
            do throws(DecodeError) {
                let event = try SpyPacketEvent(validating: record)
                let snapshot = UnsafeRawBufferPointer(rebasing: record[event.snapshotRange])
                var flow = decoder.flow(from: event, snapshot: snapshot)
                if let l7 {
                    l7.annotateNames(&flow)
                    if event.flags.contains(.l7Candidate) && event.kind == .drop,
                       var dropped = droppedDNSQuery(event, flow, snapshot) {
                        deliver(&dropped)
                        l7Made += 1
                    }
                    if event.flags.contains(.l7Candidate) && event.kind == .trace {
                        for var l7Flow in l7.process(flow: flow, frame: snapshot, monotonicNs: event.timestampNs,
                                                     packetLength: Int(event.packetLength)) {
                            l7.annotateNames(&l7Flow)
                            deliver(&l7Flow)
                            l7Made += 1
                        }
                    }
                }
                // A packet sent only for its L7 payload was folded as a trace by aggregation: no trace flow.
                if !event.flags.contains(.l7Only) {
                    deliver(&flow)
                    processed += 1
                } else {
                    l7Only += 1
                }
            } catch {
                countDecodeError(error.reason)
            }
        }
        lock.lock()
        flows &+= processed
        l7Flows &+= l7Made
        l7OnlyEvents &+= l7Only
        lock.unlock()
    }

    /// A DNS query the kernel dropped: Hubble reports it as an L7 DNS request flow with verdict DROPPED, which the
    /// `dns` handler counts in `hubble_dns_queries_total{rcode="Policy denied"}`.
    private func droppedDNSQuery(_ event: SpyPacketEvent, _ flow: Flow, _ snapshot: UnsafeRawBufferPointer) -> Flow? {
        guard case .udp(let udp)? = flow.l4, dnsPorts.contains(udp.destinationPort), event.l4Offset > 0 else { return nil }
        let start = Int(event.l4Offset) + 8
        guard start < snapshot.count else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: snapshot[start...])
        guard let message = try? DNSParser.parse(payload, isPrefix: true), !message.isResponse,
              let question = message.questions.first else { return nil }
        var l7Flow = flow
        l7Flow.type = .l7
        l7Flow.eventType = CiliumEventType(type: CiliumEventType.accessLog, subType: 0)
        l7Flow.isReply = false
        l7Flow.l7 = Layer7(type: .request, record: .dns(DNS(
            query: question.name, observationSource: dnsObservationSource,
            qtypes: message.questions.map { DNSRecordType.name($0.type) })))
        return l7Flow
    }

    @inline(__always) private func deliver(_ flow: inout Flow) {
        enrich?(&flow)
        metrics.process(flow)
        export?(flow)
    }

    /// Once a second: expire idle L7 state and publish its counters.
    private func housekeeping(force: Bool = false) {
        guard let l7 else { return }
        let now = BootClock.bootNowNs()
        guard force || now &- lastExpireNs >= 1_000_000_000 else { return }
        lastExpireNs = now
        l7.expire(nowNs: now)
        let snapshot = l7.stats
        lock.lock()
        l7Stats = snapshot
        lock.unlock()
    }

    private func countDecodeError(_ reason: String) {
        lock.lock()
        decodeErrors[reason, default: 0] += 1
        lock.unlock()
    }

    /// Decode failures by reason (monotonic).
    public var decodeErrorCounts: [String: UInt64] {
        lock.lock()
        defer { lock.unlock() }
        return decodeErrors
    }

    /// L3/L4 flows handed on (monotonic).
    public var flowsProcessed: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return flows
    }

    /// Events read only for their L7 payload (aggregation folded them as traces; monotonic).
    public var l7OnlyEventsProcessed: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return l7OnlyEvents
    }

    /// L7 flows made from payloads (monotonic).
    public var l7FlowsProcessed: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return l7Flows
    }

    /// The L7 assembler's counters as of the last housekeeping tick (at most a second old).
    public var l7Counters: L7Stats {
        lock.lock()
        defer { lock.unlock() }
        return l7Stats
    }

    public var l7Enabled: Bool { l7 != nil }
}

/// ifindex → name, looked up once per index (names of deleted interfaces may be reused; good enough for labels).
final class InterfaceNameCache: @unchecked Sendable {
    // @unchecked: `names` is guarded by `lock`.
    private var names: [UInt32: String] = [:]
    private let lock = NSLock()

    func name(of index: UInt32) -> String? {
        lock.lock()
        defer { lock.unlock() }
        if let n = names[index] { return n }
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buf) != nil else { return nil }
        let name = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        names[index] = name
        return name
    }
}
