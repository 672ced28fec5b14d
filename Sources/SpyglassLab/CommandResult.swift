import Foundation

/// What a finished (or killed) lab command did.
public struct CommandResult: Sendable, CustomStringConvertible {
    /// The command as asked for (without the `nsenter` wrapper).
    public let command: [String]
    /// The network namespace it ran in, nil for the root namespace.
    public let namespace: String?
    /// The exit code; `128 + signal` when a signal ended it.
    public let exitStatus: Int32
    /// The signal that ended the process, if any.
    public let signal: Int32?
    /// True when the lab killed it because its timeout expired.
    public let timedOut: Bool
    public let stdout: String
    public let stderr: String

    public var succeeded: Bool { exitStatus == 0 && !timedOut }

    var summary: String {
        let joined = command.joined(separator: " ")
        return namespace.map { "`\(joined)` in netns \($0)" } ?? "`\(joined)`"
    }

    var failureSummary: String {
        var parts: [String] = []
        if timedOut { parts.append("timed out") }
        if let signal { parts.append("killed by signal \(signal)") } else { parts.append("exit status \(exitStatus)") }
        let err = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if !err.isEmpty { parts.append("stderr: \(err.prefix(500))") }
        return parts.joined(separator: ", ")
    }

    public var description: String { "\(summary): \(failureSummary)" }
}
