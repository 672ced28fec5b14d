import SpyglassFlow

/// An endpoint that went away, for `MetricsEngine.removeSeries(matching:)`.
///
/// Every series whose context labels reference it is removed from every family, in any context that can name it:
/// `pod` (`ns/name`), `pod-name`, `ip`, `workload` / `workload-name` (only when `workloadName` is set),
/// labelsContext `source_pod`/`destination_pod` (with the namespace label when the family has it),
/// `source_ip`/`destination_ip`, `source_workload`/`destination_workload`. Contexts shared by unrelated endpoints
/// (`namespace`, `identity`, `app`, `dns`, `reserved-identity`, `*_app`, `*_namespace` alone) are never matched.
public struct EndpointRef: Sendable, Hashable {
    public var namespace: String
    public var podName: String
    /// The endpoint's addresses, compared with the text Spyglass writes in `ip` / `*_ip` labels.
    public var ips: [IPAddress]
    /// Set only when the workload itself is gone (its last pod), since workload series are shared by all its pods.
    public var workloadName: String?

    public init(namespace: String, podName: String, ips: [IPAddress] = [], workloadName: String? = nil) {
        self.namespace = namespace
        self.podName = podName
        self.ips = ips
        self.workloadName = workloadName
    }

    var podText: String { namespace.isEmpty ? podName : "\(namespace)/\(podName)" }
    var ipTexts: Set<String> { Set(ips.map(\.description)) }
    var workloadText: String? {
        guard let workloadName, !workloadName.isEmpty else { return nil }
        return namespace.isEmpty ? workloadName : "\(namespace)/\(workloadName)"
    }
}

/// How one family's label positions can reference an endpoint.
enum EndpointRule: Sendable, Equatable {
    /// A `source` / `destination` label computed from these identifiers.
    case context(position: Int, identifiers: Set<ContextIdentifier>)
    /// `source_ip` / `destination_ip`.
    case ip(position: Int)
    /// `*_pod`, with the matching `*_namespace` position when the family has it.
    case pod(position: Int, namespacePosition: Int?)
    /// `*_workload`, with the matching `*_namespace` position when the family has it.
    case workload(position: Int, namespacePosition: Int?)

    func matches(_ values: [String], _ ref: EndpointRef) -> Bool {
        switch self {
        case .context(let p, let ids):
            let v = values[p]
            if v.isEmpty { return false }
            if ids.contains(.pod), !ref.podName.isEmpty, v == ref.podText { return true }
            if ids.contains(.podName), !ref.podName.isEmpty, v == ref.podName { return true }
            if ids.contains(.ip), ref.ipTexts.contains(v) { return true }
            if ids.contains(.workload), let t = ref.workloadText, v == t { return true }
            if ids.contains(.workloadName), let n = ref.workloadName, !n.isEmpty, v == n { return true }
            return false
        case .ip(let p):
            return !values[p].isEmpty && ref.ipTexts.contains(values[p])
        case .pod(let p, let ns):
            guard !ref.podName.isEmpty, values[p] == ref.podName else { return false }
            return ns.map { values[$0] == ref.namespace } ?? true
        case .workload(let p, let ns):
            guard let n = ref.workloadName, !n.isEmpty, values[p] == n else { return false }
            return ns.map { values[$0] == ref.namespace } ?? true
        }
    }

    /// Rules for a family whose context labels start at `offset` in its label list.
    static func rules(for ctx: ContextOptions, offset: Int) -> [EndpointRule] {
        var rules: [EndpointRule] = []
        let labels = ctx.labelsContext
        func pos(_ l: LabelsContextLabel) -> Int? { labels.firstIndex(of: l).map { $0 + offset } }
        for (i, l) in labels.enumerated() {
            let p = i + offset
            switch l {
            case .sourceIP, .destinationIP: rules.append(.ip(position: p))
            case .sourcePod: rules.append(.pod(position: p, namespacePosition: pos(.sourceNamespace)))
            case .destinationPod: rules.append(.pod(position: p, namespacePosition: pos(.destinationNamespace)))
            case .sourceWorkload: rules.append(.workload(position: p, namespacePosition: pos(.sourceNamespace)))
            case .destinationWorkload:
                rules.append(.workload(position: p, namespacePosition: pos(.destinationNamespace)))
            default: break
            }
        }
        var p = offset + labels.count
        // With httpV2's inversion the values are swapped, so both labels may hold either side: match on the union.
        let endpointIDs: Set<ContextIdentifier> = [.pod, .podName, .ip, .workload, .workloadName]
        let both = ctx.allSourceIdentifiers.union(ctx.allDestinationIdentifiers).intersection(endpointIDs)
        if ctx.hasSource {
            if !both.isEmpty { rules.append(.context(position: p, identifiers: both)) }
            p += 1
        }
        if ctx.hasDestination, !both.isEmpty { rules.append(.context(position: p, identifiers: both)) }
        return rules
    }
}
