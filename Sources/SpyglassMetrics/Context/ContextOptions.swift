import SpyglassFlow

/// The context options of one handler (docs/hubble-compatibility.md §3): the `source` / `destination` labels and the
/// `labelsContext` labels.
public struct ContextOptions: Sendable, Equatable {
    public var sourceContext: [ContextIdentifier]?
    public var sourceEgressContext: [ContextIdentifier]?
    public var sourceIngressContext: [ContextIdentifier]?
    public var destinationContext: [ContextIdentifier]?
    public var destinationEgressContext: [ContextIdentifier]?
    public var destinationIngressContext: [ContextIdentifier]?
    /// Canonical order, no duplicates.
    public var labelsContext: [LabelsContextLabel] {
        didSet { labelsContextKey = ContextOptions.key(of: labelsContext) }
    }
    /// The labelsContext as a bit set (bit i = canonical label i): equal keys write equal values for a flow, which
    /// lets handlers sharing a labelsContext reuse one formatting per flow (`LabelsContextCache`).
    private(set) var labelsContextKey: UInt32 = 0

    public init(
        sourceContext: [ContextIdentifier]? = nil, sourceEgressContext: [ContextIdentifier]? = nil,
        sourceIngressContext: [ContextIdentifier]? = nil, destinationContext: [ContextIdentifier]? = nil,
        destinationEgressContext: [ContextIdentifier]? = nil, destinationIngressContext: [ContextIdentifier]? = nil,
        labelsContext: [LabelsContextLabel] = []
    ) {
        self.sourceContext = sourceContext
        self.sourceEgressContext = sourceEgressContext
        self.sourceIngressContext = sourceIngressContext
        self.destinationContext = destinationContext
        self.destinationEgressContext = destinationEgressContext
        self.destinationIngressContext = destinationIngressContext
        self.labelsContext = Array(Set(labelsContext)).sorted()
        self.labelsContextKey = ContextOptions.key(of: self.labelsContext)
    }

    static func key(of labels: [LabelsContextLabel]) -> UInt32 {
        labels.reduce(0) { $0 | (1 << UInt32($1.canonicalIndex)) }
    }

    /// The `source` label exists when any source list is set (docs/hubble-compatibility.md §3.2).
    public var hasSource: Bool { sourceContext != nil || sourceEgressContext != nil || sourceIngressContext != nil }
    public var hasDestination: Bool {
        destinationContext != nil || destinationEgressContext != nil || destinationIngressContext != nil
    }

    /// Context label names: labelsContext (canonical order), then `source`, then `destination`
    /// (docs/hubble-compatibility.md §3.4).
    public var labelNames: [String] {
        var names = labelsContext.map(\.rawValue)
        if hasSource { names.append("source") }
        if hasDestination { names.append("destination") }
        return names
    }

    /// Identifiers that may have produced the `source` label value (any direction variant).
    var allSourceIdentifiers: Set<ContextIdentifier> {
        Set((sourceContext ?? []) + (sourceEgressContext ?? []) + (sourceIngressContext ?? []))
    }
    var allDestinationIdentifiers: Set<ContextIdentifier> {
        Set((destinationContext ?? []) + (destinationEgressContext ?? []) + (destinationIngressContext ?? []))
    }

    /// Short text for status lines.
    var summary: String {
        var parts: [String] = []
        func list(_ key: String, _ ids: [ContextIdentifier]?) {
            if let ids { parts.append("\(key)=\(ids.map(\.rawValue).joined(separator: "|"))") }
        }
        list("sourceContext", sourceContext)
        list("sourceEgressContext", sourceEgressContext)
        list("sourceIngressContext", sourceIngressContext)
        list("destinationContext", destinationContext)
        list("destinationEgressContext", destinationEgressContext)
        list("destinationIngressContext", destinationIngressContext)
        if !labelsContext.isEmpty {
            parts.append("labelsContext=\(labelsContext.map(\.rawValue).joined(separator: ","))")
        }
        return parts.joined(separator: ";")
    }
}
