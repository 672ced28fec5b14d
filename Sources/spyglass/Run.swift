import ArgumentParser
import Logging
import SpyglassAgent
import SpyglassFlow

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent: watch interfaces with eBPF and serve Hubble metrics until SIGINT/SIGTERM.")

    @OptionGroup var options: AgentOptions

    @Option(name: .customLong("duration"), help: "Stop after this long (e.g. 30s); default: run until interrupted.")
    var duration: String?

    func run() async throws {
        let config = try options.agentConfig()
        let limitNs = try duration.map { text -> UInt64 in
            guard let d = GoDuration.nanoseconds(text), d > 0 else { throw ValidationError("--duration: '\(text)' is not a positive duration") }
            return d
        }
        let signals = ShutdownSignals()   // before any thread starts, so every thread inherits the mask
        let logger = makeLogger()
        let agent = try Agent(config: config, logger: logger)
        try await agent.start()
        let signal = await signals.waitOffThread(timeoutNs: limitNs)
        logger.info("\(signal.map { "received \($0), " } ?? "")stopping")
        await agent.stop()
    }
}

func makeLogger() -> Logger {
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = .info
        return h
    }
    return Logger(label: "spyglass")
}
