import ArgumentParser
import Logging
import SpyglassAgent
import SpyglassFlow

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Run the agent: watch interfaces with eBPF and serve Hubble metrics until SIGINT/SIGTERM (SIGHUP reloads files)."
    )

    @OptionGroup var options: AgentOptions

    @Option(name: .customLong("duration"), help: "Stop after this long (e.g. 30s); default: run until interrupted.")
    var duration: String?

    func run() async throws {
        let config = try options.agentConfig()
        let limitNs = try duration.map { try DurationFlag.nanoseconds($0, flag: "--duration", allowZero: false) }
        let logSettings = try options.logSettings()
        let signals = ShutdownSignals()  // before any thread starts, so every thread inherits the mask
        let logger = logSettings.makeLogger()
        logConfigDir(logger)
        let agent = try Agent(config: config, logger: logger)
        try await agent.start()
        let signal = await signals.waitOffThread(timeoutNs: limitNs) { agent.reload() }
        logger.info("\(signal.map { "received \($0), " } ?? "")stopping")
        await agent.stop()
    }
}

/// What `--config-dir` set, once the logger exists (files naming no flag are listed, not errors: a Cilium
/// ConfigMap has many keys Spyglass has no use for).
func logConfigDir(_ logger: Logger) {
    guard let report = ConfigDirNotes.report else { return }
    logger.info("flags read from --config-dir \(report.directory): \(report.applied.joined(separator: " "))")
    if !report.overridden.isEmpty {
        logger.info("--config-dir files overridden by the command line: \(report.overridden.joined(separator: " "))")
    }
    if !report.empty.isEmpty {
        logger.info("--config-dir files that are empty, defaults kept: \(report.empty.joined(separator: " "))")
    }
    if !report.ignored.isEmpty {
        logger.info("--config-dir files that name no Spyglass flag, ignored: \(report.ignored.joined(separator: " "))")
    }
}
