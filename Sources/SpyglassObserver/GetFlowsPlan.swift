import SpyglassAPI
import SpyglassFlow
import SwiftProtobuf

/// A validated GetFlowsRequest: Hubble's argument rules (and status codes) applied once, before streaming.
public struct GetFlowsPlan: Sendable {
    public var number: UInt64
    public var first: Bool
    public var follow: Bool
    public var since: Timestamp?
    public var until: Timestamp?
    public let filters: FlowFilterSet
    public var fieldMask: Google_Protobuf_FieldMask?

    /// Throws `GetFlowsPlan.Invalid` (→ INVALID_ARGUMENT) for requests Hubble refuses.
    public init(_ r: Observer_GetFlowsRequest) throws(Invalid) {
        number = r.number
        first = r.first
        follow = r.follow
        if first && follow { throw Invalid("first cannot be specified with follow") }
        since = r.hasSince ? Timestamp(seconds: r.since.seconds, nanos: r.since.nanos) : nil
        until = r.hasUntil ? Timestamp(seconds: r.until.seconds, nanos: r.until.nanos) : nil
        if let since, let until, until < since {
            throw Invalid("until (\(until.seconds)) is before since (\(since.seconds))")
        }
        do {
            let allow = try r.whitelist.map { f throws(FlowFilterError) in try FlowFilter(proto: f) }
            let deny = try r.blacklist.map { f throws(FlowFilterError) in try FlowFilter(proto: f) }
            filters = try FlowFilterSet(allow: allow, deny: deny)
        } catch {
            throw Invalid("invalid filter: \(error.description)")
        }
        let mask = r.hasFieldMask ? r.fieldMask : (r.experimental.hasFieldMask ? r.experimental.fieldMask : nil)
        if let mask, !mask.paths.isEmpty {
            guard mask.isValid(for: Flow_Flow.self) else {
                throw Invalid("invalid fieldmask: \(mask.paths.joined(separator: ","))")
            }
            fieldMask = mask
        }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ d: String) { description = d }
    }

    /// Inside since/until.
    @inline(__always) func inWindow(_ t: Timestamp) -> Bool {
        if let since, t < since { return false }
        if let until, until < t { return false }
        return true
    }

    func accepts(_ e: ObservedEvent) -> Bool {
        guard inWindow(e.time) else { return false }
        switch e {
        case .flow(let f, _): return filters.accepts(f)
        case .lost: return filters.acceptsNonFlowEvent()
        }
    }

    /// The part of the ring's history this request returns, oldest first: the first/last `number` matches within
    /// since/until; every match when `number` is 0, except for a plain follow (no since), which starts at now.
    func history(_ held: [ObservedEvent]) -> [ObservedEvent] {
        history(held) { $0 }
    }

    /// The same selection over any items that carry an event.
    func history<T>(_ held: [T], event: (T) -> ObservedEvent) -> [T] {
        if number == 0 && follow && since == nil { return [] }
        if first {
            var out: [T] = []
            for e in held where accepts(event(e)) {
                out.append(e)
                if number > 0 && out.count >= number { break }
            }
            return out
        }
        if number == 0 { return held.filter { accepts(event($0)) } }
        var out: [T] = []
        for e in held.reversed() where accepts(event(e)) {
            out.append(e)
            if out.count >= number { break }
        }
        return out.reversed()
    }
}
