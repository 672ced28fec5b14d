import ArgumentParser
import Foundation
import Logging
import SpyglassAgent

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a small network of namespaces with looping TCP, UDP and ICMP traffic, watch it and serve metrics.",
        discussion: """
            Three pods (client, web, cache) on a bridge exchange HTTP, UDP and ping traffic. The agent watches their \
            host-side veths and serves Hubble metrics on --hubble-metrics-server. Everything is removed on exit; \
            leftovers of a killed run are removed on the next start.
            """)

    @OptionGroup var options: AgentOptions

    @Option(name: .customLong("duration"), help: "Stop after this long (e.g. 5m); default: run until interrupted.")
    var duration: String?

    @Option(name: .customLong("traffic-period"), help: "Seconds between traffic rounds.")
    var period: Double = 1.0

    func run() async throws {
        var config = try options.agentConfig()
        let limitNs = try duration.map { text -> UInt64 in
            guard let d = GoDuration.parse(text), d > 0 else { throw ValidationError("--duration: '\(text)' is not a positive duration") }
            return d
        }
        guard period >= 0.05, period <= 60 else { throw ValidationError("--traffic-period: must be between 0.05 and 60 seconds (got \(period))") }
        let signals = ShutdownSignals()
        let logger = makeLogger()
        if let missing = NetworkLab.missingPrerequisites() {
            throw ValidationError("demo: \(missing)")
        }
        let network = DemoNetwork(period: period)
        let pods = try network.start()
        defer { network.stop() }
        if config.interfaces.isEmpty { config.interfaces = pods.all.map(\.hostInterface) }
        let agent = try Agent(config: config, logger: logger)
        try await agent.start()
        print("""
            Spyglass demo is running.
              pods:     \(pods.all.map { "\($0.name) \($0.ipv4) (netns \($0.namespace), host side \($0.hostInterface))" }.joined(separator: "\n            "))
              metrics:  curl -s http://127.0.0.1:\(agent.serverPort)/metrics
              try:      curl -s http://127.0.0.1:\(agent.serverPort)/metrics | grep -E '^hubble_(flows_processed|tcp_flags|icmp|port_distribution)'
            Stop with Ctrl-C\(limitNs.map { " (or it stops by itself after \(Double($0) / 1e9) s)" } ?? "").
            """)
        let signal = await signals.waitOffThread(timeoutNs: limitNs)
        logger.info("\(signal.map { "received \($0), " } ?? "")stopping the demo")
        await agent.stop()
    }
}
