/// An identifier of `sourceContext` / `destinationContext` and their direction variants (docs/hubble-compatibility.md
/// §3.1). Parsed case-insensitively.
public enum ContextIdentifier: String, Sendable, CaseIterable, Equatable, Hashable {
    case identity
    case namespace
    case pod
    case podName = "pod-name"
    case dns
    case ip
    case reservedIdentity = "reserved-identity"
    case workload
    case workloadName = "workload-name"
    case app

    /// Case-insensitive parse; nil for an unknown identifier (`pod-short` was removed in Hubble main).
    public init?(parsing text: String) {
        self.init(rawValue: text.lowercased())
    }
}
