import ArgumentParser
import Foundation
import SpyglassEndpoints
import SpyglassExport
import SpyglassMetrics

@main
struct Spyglass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spyglass",
        abstract: "eBPF-fed, Hubble-compatible network metrics and flow logs for any Linux node.",
        discussion: """
            Exit codes: 0 stopped by SIGINT/SIGTERM or --duration; \(ExitCodes.configuration) configuration error \
            (bad flag, --config-dir or file content: restarting cannot help); 1 any other failure (privileges, \
            kernel, interface, port).
            """,
        version: SpyglassExportInfo.version,
        subcommands: [Run.self, Demo.self, Observe.self, Status.self],
        defaultSubcommand: nil
    )

    /// Cilium-style arguments (bare booleans, `--config-dir`) are rewritten before ArgumentParser sees them.
    static func main() async {
        var args = Array(CommandLine.arguments.dropFirst())
        do {
            if let sub = args.first,
                let type: ParsableArguments.Type = (sub == "run" ? Run.self : sub == "demo" ? Demo.self : nil)
            {
                let (rest, report) = try CiliumArguments(command: type).rewrite(Array(args.dropFirst()))
                args = [sub] + rest
                ConfigDirNotes.report = report
            }
            var command = try parseAsRoot(args)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if ExitCodes.isConfigurationError(error) {
                FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
                Foundation.exit(ExitCodes.configuration)
            }
            exit(withError: error)
        }
    }
}

/// The exit status is part of the interface: systemd's `RestartPreventExitStatus` and Kubernetes' restart
/// back-off tell "fix the configuration" from "try again" by it.
enum ExitCodes {
    /// EX_USAGE, which ArgumentParser also uses for flags it rejects itself.
    static let configuration: Int32 = 64

    /// Errors no restart can fix: what the user wrote is wrong.
    static func isConfigurationError(_ error: Error) -> Bool {
        switch error {
        case is MetricsConfigError, is DynamicMetricsConfigError, is ExportConfigError, is EndpointsFileError,
            is KubeConfigError:
            return true
        default:
            return false
        }
    }
}

/// What `--config-dir` contributed, logged once the logger is set up.
enum ConfigDirNotes {
    nonisolated(unsafe) static var report: CiliumArguments.ConfigDirReport?
}
