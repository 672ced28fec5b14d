/// Errors of the network-namespace lab. `description` says what failed and where.
public struct LabError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    static func commandFailed(_ result: CommandResult) -> LabError {
        LabError("\(result.summary) failed: \(result.failureSummary)")
    }
}
