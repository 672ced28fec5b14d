/// Errors of the metrics server. `description` is a complete, user-facing message that names
/// the flag and the value or address at fault.
public struct MetricsServerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The `--hubble-metrics-server` string could not be parsed.
        case invalidAddress
        /// Another socket already listens on the address.
        case addressInUse
        /// Binding failed for another reason (unknown host, address not on this machine, permission…).
        case bindFailed
        /// `start()` was called twice, or after `shutdown()`.
        case invalidState
        /// A TLS certificate, key or client CA file exists but cannot be read or used (the message names the flag
        /// and the file). Files that do not exist yet are waited for instead.
        case tlsCredentials
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func invalidAddress(_ value: String, _ reason: String) -> MetricsServerError {
        MetricsServerError(
            kind: .invalidAddress,
            message: "invalid --hubble-metrics-server value \"\(value)\": \(reason)"
        )
    }
}
