import Foundation
import SpyglassAPI
import SpyglassExport
import SpyglassFlow
import SwiftProtobuf

/// `observe --input-file`: Hubble JSON flow logs (one GetFlowsResponse/ExportEvent per line, Spyglass's export
/// files included) selected with the same plan as the server's GetFlows (one filter matcher).
public struct FlowLogReader {
    public let plan: GetFlowsPlan
    /// Lines that were not Hubble JSON (reported to `onBadLine`, not fatal).
    public private(set) var badLines = 0

    public init(plan: GetFlowsPlan) { self.plan = plan }

    static let options: JSONDecodingOptions = {
        var o = JSONDecodingOptions()
        o.ignoreUnknownFields = true
        return o
    }()

    /// Reads every line of `handle`, then returns the selected responses in order (first/last `number` applied).
    public mutating func read(
        _ handle: FileHandle, source: String, onBadLine: (String) -> Void
    ) -> [Observer_GetFlowsResponse] {
        var events: [(ObservedEvent, Observer_GetFlowsResponse)] = []
        var lineNo = 0
        var pending = Data()
        func consume(_ line: Data) {
            lineNo += 1
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d || $0 == 0x09 }) else { return }
            do {
                let r = try Observer_GetFlowsResponse(jsonUTF8Bytes: Array(line), options: Self.options)
                let e: ObservedEvent
                switch r.responseTypes {
                case .flow(let f):
                    e = .flow(Flow(proto: f), UUIDv4(high: 0, low: 0))
                case .lostEvents(let l):
                    e = .lost(
                        source: FlowPrinter.name(l.source), count: l.numEventsLost,
                        time: Timestamp(seconds: r.time.seconds, nanos: r.time.nanos))
                default: return
                }
                // Only what matches is kept, and for --last N only the newest N: memory stays bounded by the answer.
                guard plan.accepts(e) else { return }
                events.append((e, r))
                if !plan.first && plan.number > 0 && events.count >= 2 * Int(clamping: plan.number) {
                    events.removeFirst(events.count - Int(clamping: plan.number))
                }
            } catch {
                badLines += 1
                onBadLine("\(source):\(lineNo): not a Hubble JSON flow record: \(error)")
            }
        }
        while !(plan.first && plan.number > 0 && events.count >= Int(clamping: plan.number)) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let nl = pending.firstIndex(of: 0x0a) {
                consume(pending[pending.startIndex..<nl])
                pending = pending[(nl + 1)...]
            }
            if pending.count > 16 << 20 {  // a "line" this long is not a flow record; do not grow without bound
                consume(pending)
                pending = Data()
            }
        }
        if !pending.isEmpty { consume(pending) }
        return plan.history(events) { $0.0 }.map(\.1)
    }

}
