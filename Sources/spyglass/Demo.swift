import ArgumentParser
import Foundation
import Logging
import SpyglassAgent
import SpyglassExport
import SpyglassFlow

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Cilium's Star Wars demo in network namespaces, watch it and serve metrics and flow logs.",
        discussion: """
            tiefighter (org=empire) and xwing (org=alliance) resolve deathstar.default.svc.cluster.local at kube-dns \
            and call the Death Star (two replicas) on port 80; an nftables policy lets only the empire land, so \
            xwing's SYNs are dropped (POLICY_DENIED). The agent watches every pod's host-side veth with the demo's \
            metric set (the seven default families, httpV2 exemplars, labelsContext), labels from an endpoints \
            file the demo writes, and a rotated events.log. \
            Everything is removed on exit; leftovers of a killed run are removed on the next start.
            """)

    @OptionGroup var options: AgentOptions

    @Option(name: .customLong("duration"), help: "Stop after this long (e.g. 5m); default: run until interrupted.")
    var duration: String?

    @Option(name: .customLong("traffic-period"), help: "Seconds between traffic rounds.")
    var period: Double = 1.0

    @Option(name: .customLong("work-dir"), help: "Where the demo writes its endpoints file and flow log.")
    var workDirectory = "/run/spyglass-demo"

    /// The demo's metric set: the seven default families, httpV2 with exemplars, and the workload labelsContext the
    /// dashboards use (docs/hubble-compatibility.md §1, §3.3).
    static let seedMetrics =
        "dns drop tcp flow port-distribution icmp httpV2:exemplars=true;labelsContext=source_ip,source_namespace,source_workload,destination_ip,destination_namespace,destination_workload,traffic_direction"

    func run() async throws {
        var config = try options.agentConfig()
        let limitNs = try duration.map { try DurationFlag.nanoseconds($0, flag: "--duration", allowZero: false) }
        let logSettings = try options.logSettings()
        guard period >= 0.05, period <= 60 else {
            throw ValidationError("--traffic-period: must be between 0.05 and 60 seconds (got \(period))")
        }
        let signals = ShutdownSignals()
        let logger = logSettings.makeLogger()
        logConfigDir(logger)
        if let missing = NetworkLab.missingPrerequisites() {
            throw ValidationError("demo: \(missing)")
        }
        let network = StarWarsDemo(period: period, workDirectory: workDirectory)
        let pods = try network.start()
        defer { network.stop() }
        if config.interfaces.isEmpty {
            config.interfaces = pods.all.map(\.hostInterface)
            // The lab bridge is the pods' only way out: watched as their device (it holds no address, so it sees
            // nothing itself), each packet between pods counts once, at to-endpoint (README "Monitor aggregation").
            if let bridge = network.lab?.bridge, config.devices.isEmpty {
                config.interfaces.append(bridge)
                config.devices = [bridge]
            }
        }
        if options.hubbleMetrics == nil { config.hubbleMetrics = Self.seedMetrics }
        if config.endpoints.endpointsFile == nil { config.endpoints.endpointsFile = network.endpointsFile }
        if config.staticExport == nil {
            config.staticExport = StaticExporterConfig(
                filePath: network.flowLog, fileMaxSizeMB: 10, fileMaxBackups: 5, fileCompress: true)
        }
        let agent = try Agent(config: config, logger: logger)
        try await agent.start()
        print(
            """
            Spyglass demo is running: the Star Wars scenario.
              pods:       \(pods.all.map { "\($0.name) \($0.ipv4) (netns \($0.namespace), host side \($0.hostInterface))" }.joined(separator: "\n              "))
              metrics:    curl -s http://127.0.0.1:\(agent.serverPort)/metrics
              drops:      curl -s http://127.0.0.1:\(agent.serverPort)/metrics | grep hubble_drop_total
              exemplars:  curl -s -H 'Accept: application/openmetrics-text' http://127.0.0.1:\(agent.serverPort)/metrics | grep traceID
              flow log:   tail -f \(config.staticExport?.filePath ?? "(none)")
              observe:    \(config.hubbleAPI.map { "spyglass observe --server unix://\($0.socketPath) -f" } ?? "(Hubble API off)")
              endpoints:  \(config.endpoints.endpointsFile ?? "(none)")
              dashboards: dashboards/*.json (Grafana; point a Prometheus at this port)
            Stop with Ctrl-C\(limitNs.map { " (or it stops by itself after \(Double($0) / 1e9) s)" } ?? "").
            """)
        let signal = await signals.waitOffThread(timeoutNs: limitNs) { agent.reload() }
        logger.info("\(signal.map { "received \($0), " } ?? "")stopping the demo")
        await agent.stop()
    }
}
