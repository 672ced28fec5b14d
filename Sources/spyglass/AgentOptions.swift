import ArgumentParser
import Foundation
import SpyglassAgent
import SpyglassDatapath
import SpyglassExport
import SpyglassFlow
import SpyglassServer

/// The agent's defaults, defined once in its configuration types; the flags below start from them.
private let agentDefaults = AgentConfig()

/// Flags shared by `run` and `demo`; Cilium's names where Cilium has the same knob.
struct AgentOptions: ParsableArguments {
    @OptionGroup(title: "Hubble API") var hubbleAPI: HubbleAPIOptions

    @Option(
        name: .customLong("interface"),
        help: ArgumentHelp(
            "Interface to watch: a name or a shell glob (repeatable). Default: every endpoint, device and tunnel (README \"Interface roles\"), also those that appear while running.",
            valueName: "name|glob"))
    var interfaces: [String] = []

    @Option(
        name: .customLong("devices"), parsing: .singleValue,
        help: ArgumentHelp(
            "The node's uplinks, as Cilium's --devices: names and 'eth+' prefix wildcards, comma-separated or repeated. Default: auto-detected (default routes, global addresses).",
            valueName: "name[,name+]"))
    var devices: [String] = []

    @Option(name: .customLong("hubble-metrics-server"), help: "Address to serve /metrics on, as [IP]:port.")
    var metricsServer = agentDefaults.metricsServer

    @Option(
        name: .customLong("hubble-metrics-server-enable-tls"),
        help: "Serve /metrics over HTTPS only, TLS 1.3 minimum (true|false); needs the cert and key files.")
    var metricsTLS = false

    @Option(
        name: .customLong("hubble-metrics-server-tls-cert-file"),
        help:
            "PEM certificate (chain) of the metrics server; waited for if it does not exist yet, reloaded when it changes."
    )
    var metricsTLSCertFile = ""

    @Option(name: .customLong("hubble-metrics-server-tls-key-file"), help: "PEM private key of that certificate.")
    var metricsTLSKeyFile = ""

    @Option(
        name: .customLong("hubble-metrics-server-tls-client-ca-files"),
        help: ArgumentHelp(
            "PEM CA certificates that client certificates must chain to (repeatable or comma-separated); setting any turns on mTLS.",
            valueName: "file"))
    var metricsTLSClientCAFiles: [String] = []

    @Option(
        name: .customLong("hubble-metrics"),
        help: ArgumentHelp(
            "Hubble's metric option string, e.g. \"flow:sourceContext=pod;destinationContext=pod tcp\". Default: dns drop tcp flow port-distribution icmp httpV2.",
            valueName: "specs"))
    var hubbleMetrics: String?

    @Option(
        name: .customLong("hubble-dynamic-metrics-config-path"),
        help:
            "YAML file of metrics with contextOptions and include/exclude FlowFilters, re-read when it changes (excludes --hubble-metrics)."
    )
    var dynamicMetricsPath: String?

    @Option(
        name: .customLong("enable-hubble-open-metrics"),
        help: "Serve OpenMetrics (with exemplars) to clients that ask for it (true|false).")
    var openMetrics = agentDefaults.openMetrics

    @Option(
        name: .customLong("hubble-metrics-max-series"),
        help: "Series cap per metric family; new label sets beyond it are refused and counted.")
    var maxSeries = agentDefaults.maxSeriesPerMetric

    @Option(
        name: .customLong("hubble-metrics-series-ttl"),
        help: "Remove series idle for this long (e.g. 10m); 0 keeps them forever.")
    var seriesTTL = "0"

    @Option(
        name: .customLong("monitor-aggregation"),
        help:
            "Event reduction in the kernel: none (every packet) or medium (new connections, new TCP flags, one report per interval)."
    )
    var aggregation = agentDefaults.datapath.aggregation.rawValue

    @Option(
        name: .customLong("monitor-aggregation-interval"),
        help: "At most one report per connection and direction per interval (medium).")
    var aggregationInterval = "5s"

    @Option(
        name: .customLong("monitor-aggregation-flags"),
        help:
            "TCP flags whose first appearance in a direction is reported: all, none, or a list of fin,syn,rst,psh,ack,urg,ece,cwr."
    )
    var aggregationFlags = "all"

    @Option(
        name: .customLong("ring-buffer-size-mb"),
        help: "Size of the kernel-to-agent ring buffer in MiB (a power of two).")
    var ringBufferMB = Int(agentDefaults.datapath.ringBufferBytes >> 20)

    @Option(
        name: .customLong("snap-length"),
        help:
            "Bytes of each reported packet copied to user space (\(SpyEventLayout.minSnapLen)-\(SpyEventLayout.maxSnapLen))."
    )
    var snapLength = Int(agentDefaults.datapath.snapLength)

    @Option(
        name: .customLong("l7-snap-length"),
        help: "Bytes copied of packets that carry DNS or HTTP (256-2048); they are always reported.")
    var l7SnapLength = 1024

    @Option(name: .customLong("dns-port"), help: "A port whose TCP/UDP payload is DNS (repeatable; default 53).")
    var dnsPorts: [Int] = []

    @Option(
        name: .customLong("http-port"),
        help: "A port whose TCP payload is HTTP/1.x (repeatable; default 80, 8080, 8000, 3000, 5000).")
    var httpPorts: [Int] = []

    @Option(
        name: .customLong("http-detect"),
        help:
            "Also read HTTP/1.x on ports that are not --http-port, from TCP segments that start a request or status line (true|false)."
    )
    var httpDetect = true

    @Option(name: .customLong("l7-parsing"), help: "Turn DNS and HTTP payloads into L7 flows (true|false).")
    var l7Parsing = true

    @Option(
        name: .customLong("l7-body-skip"),
        help: "Let the kernel leave segments inside large Content-Length HTTP bodies out of L7 events (true|false).")
    var l7BodySkip = true

    @Option(
        name: .customLong("l7-memory-limit-mb"),
        help:
            "MiB the L7 tables may hold: pending HTTP requests and DNS names 3/8 each, reassembly 1/8, pending DNS queries 1/8; over a share the oldest entries are evicted (spyglass_l7_evictions_total{reason=\"bytes\"}). At least 4."
    )
    var l7MemoryLimitMB = L7Limits.defaultMemoryLimit >> 20

    @Option(
        name: .customLong("hubble-redact-http-urlquery"),
        help: "Remove the query string from HTTP URLs in flows (true|false).")
    var redactURLQuery = false

    @Option(
        name: .customLong("hubble-redact-http-userinfo"),
        help: "Remove user:password@ from HTTP URLs in flows (true|false).")
    var redactUserInfo = true

    @Option(
        name: .customLong("hubble-redact-http-headers-allow"),
        help:
            "Comma-separated HTTP headers to keep; every other header's value is redacted. Excludes --hubble-redact-http-headers-deny."
    )
    var headersAllow: String?

    @Option(
        name: .customLong("hubble-redact-http-headers-deny"),
        help:
            "Comma-separated HTTP headers whose values are redacted: names, or patterns with * at either end (default: Authorization, Proxy-Authorization, Cookie, Set-Cookie, *Auth*, *Token*, *Secret*, *Password*, *Passwd*, *Session*, *Credential*, *Signature*, *Api-Key*, *Apikey*, *Csrf*, *Xsrf*, *-Key). The allow list is the safer choice."
    )
    var headersDeny: String?

    @Option(
        name: .customLong("hubble-export-file-path"),
        help: "Write flows as Hubble JSON lines to this file (or 'stdout'); empty: no flow log.")
    var exportFilePath = ""

    @Option(
        name: .customLong("hubble-export-file-max-size-mb"),
        help: "Rotate the flow log before it would exceed this size.")
    var exportMaxSizeMB = 10

    @Option(name: .customLong("hubble-export-file-max-backups"), help: "Rotated flow logs to keep (0 keeps all).")
    var exportMaxBackups = 5

    @Option(name: .customLong("hubble-export-file-compress"), help: "gzip rotated flow logs (true|false).")
    var exportCompress = false

    @Option(
        name: .customLong("hubble-export-allowlist"),
        help: "Export only flows matching one of these whitespace-separated JSON FlowFilters.")
    var exportAllowList = ""

    @Option(
        name: .customLong("hubble-export-denylist"),
        help: "Do not export flows matching any of these whitespace-separated JSON FlowFilters.")
    var exportDenyList = ""

    @Option(
        name: .customLong("hubble-export-fieldmask"),
        help: "Export only these fields (comma or space separated, e.g. time,source.namespace,verdict).")
    var exportFieldMask = ""

    @Option(
        name: .customLong("hubble-export-fieldaggregate"),
        help: "Aggregate exported flows on these fields over --hubble-export-aggregation-interval.")
    var exportFieldAggregate = ""

    @Option(
        name: .customLong("hubble-export-aggregation-interval"),
        help: "Interval of flow-log aggregation (e.g. 10s; 0s: off).")
    var exportAggregationInterval = "0s"

    @Option(name: .customLong("hubble-export-file-mode"), help: "Permissions of flow-log files (octal).")
    var exportFileMode = "0600"

    @Option(
        name: .customLong("hubble-export-queue-size"),
        help: "Flows queued per exporter before new ones are dropped and counted.")
    var exportQueueSize = 16384

    @Option(
        name: .customLong("hubble-flowlogs-config-path"),
        help: "YAML file of dynamic flow logs (Hubble's flowlogs config), re-read when it changes.")
    var flowLogsConfigPath: String?

    @Option(
        name: .customLong("hubble-flowlogs-base-dir"),
        help: "Directory every filePath of --hubble-flowlogs-config-path must be below (no '..', no links leading out)."
    )
    var flowLogsBaseDirectory = agentDefaults.flowLogsBaseDirectory

    @Option(
        name: .customLong("k8s-kubeconfig-path"),
        help:
            "Watch pods, services and nodes of the cluster in this kubeconfig (default: in-cluster credentials when running in a pod)."
    )
    var kubeconfig: String?

    @Option(name: .customLong("k8s-context"), help: "kubeconfig context to use (default: the current context).")
    var kubeContext: String?

    @Option(
        name: .customLong("kubernetes"),
        help: "Kubernetes source: auto (in-cluster when KUBERNETES_SERVICE_HOST is set), on or off.")
    var kubernetes = "auto"

    @Option(
        name: .customLong("endpoints-file"),
        help: "YAML or JSON file of CIDRs/IPs -> namespace, pod, workload, labels (reloaded on change).")
    var endpointsFile: String?

    @Option(
        name: .customLong("endpoint-departure-grace"),
        help: "How long after an endpoint disappears its series are removed (e.g. 1m).")
    var departureGrace = "1m"

    @Option(name: .customLong("connection-table-size"), help: "Connections tracked by the kernel (LRU).")
    var connectionTableSize = Int(agentDefaults.datapath.connectionTableSize)

    @Option(name: .customLong("node-name"), help: "Node name for node_name (default: the host name).")
    var nodeName: String?

    @Option(name: .customLong("cluster-name"), help: "Cluster name; node_name becomes cluster/node.")
    var clusterName = ""

    @Option(
        name: .customLong("event-queue-batches"),
        help: "Batches of 256 KiB queued between the ring-buffer reader and the flow pipeline.")
    var eventQueueBatches = agentDefaults.eventQueueBatches

    @Option(
        name: .customLong("drop-events"),
        help: "Report packets the kernel drops (skb:kfree_skb) as DROPPED flows (true|false).")
    var dropEvents = agentDefaults.dropsEnabled

    @Option(
        name: .customLong("drop-rate-limit"),
        help:
            "Drop flows per kernel reason per second; the rest are counted in spyglass_drops_suppressed_total (0 = no limit)."
    )
    var dropRateLimit = Int(agentDefaults.drops.ratePerReason)

    @Option(
        name: .customLong("drop-scope"),
        help:
            "Which drops to report: all (every network namespace of the node) or interfaces (only the watched interfaces)."
    )
    var dropScope = "all"

    @Option(
        name: .customLong("drop-classes"),
        help:
            "Drop classes reported as DROPPED flows, comma-separated: drop, socket, benign (every class is counted in spyglass_drops_total)."
    )
    var dropClasses = "drop"

    @Option(
        name: .customLong("drop-reasons-extra"),
        help: "Kernel drop reasons (e.g. QUEUE_PURGE,NOT_SPECIFIED) reported as DROPPED flows whatever their class.")
    var dropReasonsExtra = ""

    @Flag(name: .customLong("debug-libbpf"), help: "Print libbpf's own log.")
    var debugLibbpf = false

    // Process: configuration source and logging (Logging.swift, CiliumArguments.swift).

    @Option(
        name: .customLong("config-dir"),
        help: ArgumentHelp(
            "Read flags from a directory with one file per flag (file name = flag name, content = value), as Cilium's agent reads its ConfigMap. Flags on the command line win; files naming no Spyglass flag are ignored.",
            valueName: "dir"))
    var configDir: String?

    @Option(
        name: .customLong("log-format"),
        help: "Log format: text or json (one object per line: time, level, msg, subsys and fields).")
    var logFormat = "text"

    @Option(
        name: .customLong("log-level"),
        help: "Lowest level logged: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(
        name: .customLong("debug"),
        help: "Cilium's debug switch: log at debug level (true|false; --log-level wins when given).")
    var debug = false

    /// `--log-format`, `--log-level` and `--debug`, checked.
    func logSettings() throws -> LogSettings { try LogSettings(format: logFormat, level: logLevel, debug: debug) }

    /// Builds the agent configuration; every error names its flag.
    func agentConfig() throws -> AgentConfig {
        var c = AgentConfig()
        c.interfaces = interfaces
        c.devices = devices.flatMap { $0.split(separator: ",").map { String($0.trimmingCharacters(in: .whitespaces)) } }
        c.metricsServer = metricsServer
        c.metricsTLS = try metricsServerTLS()
        c.hubbleAPI = try hubbleAPI.config()
        c.hubbleMetrics = hubbleMetrics
        c.dynamicMetricsPath = dynamicMetricsPath
        c.openMetrics = openMetrics
        guard maxSeries > 0 else {
            throw ValidationError("--hubble-metrics-max-series: must be at least 1 (got \(maxSeries))")
        }
        c.maxSeriesPerMetric = maxSeries
        c.seriesTTLNs = try DurationFlag.nanoseconds(seriesTTL, flag: "--hubble-metrics-series-ttl")
        guard let level = AggregationLevel(cilium: aggregation) else {
            throw ValidationError(
                "--monitor-aggregation: '\(aggregation)' is not a level (none, medium; Cilium's lowest/low/maximum are taken as medium)"
            )
        }
        c.datapath.aggregation = level
        c.datapath.aggregationIntervalNs = try DurationFlag.nanoseconds(
            aggregationInterval, flag: "--monitor-aggregation-interval", allowZero: false)
        guard let flags = parseAggregationFlags(aggregationFlags) else {
            throw ValidationError(
                "--monitor-aggregation-flags: '\(aggregationFlags)' is not all, none or a list of fin,syn,rst,psh,ack,urg,ece,cwr"
            )
        }
        c.datapath.reportFlags = flags
        guard ringBufferMB > 0, ringBufferMB <= 1024, ringBufferMB & (ringBufferMB - 1) == 0 else {
            throw ValidationError("--ring-buffer-size-mb: must be a power of two from 1 to 1024 (got \(ringBufferMB))")
        }
        c.datapath.ringBufferBytes = UInt32(ringBufferMB) << 20
        c.datapath.snapLength = UInt32(clamping: snapLength)
        c.datapath.connectionTableSize = UInt32(clamping: connectionTableSize)
        c.datapath.l7SnapLength = UInt32(clamping: l7SnapLength)
        func ports(_ list: [Int], _ flag: String) throws -> [UInt16] {
            try list.map { p in
                guard (1...65535).contains(p) else { throw ValidationError("\(flag): \(p) is not a port (1-65535)") }
                return UInt16(p)
            }
        }
        if !dnsPorts.isEmpty { c.datapath.dnsPorts = try ports(dnsPorts, "--dns-port") }
        if !httpPorts.isEmpty { c.datapath.httpPorts = try ports(httpPorts, "--http-port") }
        c.datapath.httpDetect = httpDetect
        c.l7BodySkip = l7BodySkip
        if !exportFilePath.isEmpty {
            guard let mode = UInt32(exportFileMode, radix: 8), mode <= 0o777 else {
                throw ValidationError("--hubble-export-file-mode: '\(exportFileMode)' is not an octal file mode")
            }
            let export = StaticExporterConfig(
                filePath: exportFilePath, fileMaxSizeMB: exportMaxSizeMB, fileMaxBackups: exportMaxBackups,
                fileCompress: exportCompress, allowList: exportAllowList, denyList: exportDenyList,
                fieldMask: StaticExporterConfig.splitList(exportFieldMask),
                fieldAggregate: StaticExporterConfig.splitList(exportFieldAggregate),
                aggregationInterval: try StaticExporterConfig.parseDuration(
                    exportAggregationInterval, flag: "--hubble-export-aggregation-interval"),
                fileMode: mode, queueCapacity: exportQueueSize)
            try export.validate()
            c.staticExport = export
        }
        c.flowLogsConfigPath = flowLogsConfigPath
        c.flowLogsBaseDirectory = flowLogsBaseDirectory
        if let kubeconfig {
            c.endpoints.kubernetes = .kubeconfig(path: kubeconfig, context: kubeContext)
        } else {
            switch kubernetes {
            case "auto": c.endpoints.kubernetes = .automatic
            case "on": c.endpoints.kubernetes = .inCluster
            case "off": c.endpoints.kubernetes = .none
            default: throw ValidationError("--kubernetes: '\(kubernetes)' is not auto, on or off")
            }
        }
        c.endpoints.endpointsFile = endpointsFile
        let grace = try DurationFlag.nanoseconds(departureGrace, flag: "--endpoint-departure-grace")
        c.endpoints.departureGrace = .nanoseconds(Int64(clamping: grace))
        if !clusterName.isEmpty { c.endpoints.clusterName = clusterName }
        if l7Parsing {
            var l7 = L7Config()
            l7.redactURLQuery = redactURLQuery
            l7.redactUserInfo = redactUserInfo
            if headersAllow != nil && headersDeny != nil {
                throw ValidationError(
                    "--hubble-redact-http-headers-allow and --hubble-redact-http-headers-deny: set one, not both")
            }
            func list(_ text: String) -> [String] {
                text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            if let headersAllow { l7.headerAllowList = list(headersAllow) }
            if let headersDeny { l7.headerDenyList = list(headersDeny) }
            guard l7MemoryLimitMB >= L7Limits.minimumMemoryLimit >> 20, l7MemoryLimitMB <= 1 << 20 else {
                throw ValidationError(
                    "--l7-memory-limit-mb: must be from \(L7Limits.minimumMemoryLimit >> 20) to \(1 << 20) (got \(l7MemoryLimitMB))"
                )
            }
            l7.limits.setMemoryLimit(l7MemoryLimitMB << 20)
            c.l7 = l7
        } else {
            c.l7 = nil
        }
        guard eventQueueBatches >= 2 else {
            throw ValidationError("--event-queue-batches: at least 2 (got \(eventQueueBatches))")
        }
        c.eventQueueBatches = eventQueueBatches
        if let nodeName { c.nodeName = nodeName }
        c.clusterName = clusterName
        c.verboseLibbpf = debugLibbpf
        c.dropsEnabled = dropEvents
        guard dropRateLimit >= 0 else {
            throw ValidationError("--drop-rate-limit: must be 0 or more (got \(dropRateLimit))")
        }
        c.drops.ratePerReason = UInt32(clamping: dropRateLimit)
        switch dropScope {
        case "all": c.drops.watchedInterfacesOnly = false
        case "interfaces": c.drops.watchedInterfacesOnly = true
        default: throw ValidationError("--drop-scope: '\(dropScope)' is not all or interfaces")
        }
        switch DropClassification.classes(from: dropClasses) {
        case .success(let classes): c.drops.report.classes = classes
        case .failure(let e): throw ValidationError(e.message)
        }
        c.drops.report.extraReasons = Set(
            dropReasonsExtra.split(separator: ",").map { String($0.filter { $0 != " " }) })
        try c.datapath.validate()
        return c
    }

    /// The TLS flags as one setting; nil for plain HTTP. File flags without `--hubble-metrics-server-enable-tls`
    /// are an error rather than silently ignored, so nobody believes they serve HTTPS when they do not.
    func metricsServerTLS() throws -> MetricsServerTLS? {
        let clientCAs = metricsTLSClientCAFiles.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard metricsTLS else {
            let given = [
                ("--hubble-metrics-server-tls-cert-file", !metricsTLSCertFile.isEmpty),
                ("--hubble-metrics-server-tls-key-file", !metricsTLSKeyFile.isEmpty),
                ("--hubble-metrics-server-tls-client-ca-files", !clientCAs.isEmpty)
            ].filter(\.1).map(\.0)
            if let first = given.first {
                throw ValidationError(
                    "\(first) is set but --hubble-metrics-server-enable-tls is not: add --hubble-metrics-server-enable-tls=true to serve HTTPS, or remove the file flags"
                )
            }
            return nil
        }
        guard !metricsTLSCertFile.isEmpty else {
            throw ValidationError(
                "--hubble-metrics-server-enable-tls needs --hubble-metrics-server-tls-cert-file (a PEM certificate)")
        }
        guard !metricsTLSKeyFile.isEmpty else {
            throw ValidationError(
                "--hubble-metrics-server-enable-tls needs --hubble-metrics-server-tls-key-file (the PEM private key)")
        }
        return MetricsServerTLS(
            certificateFile: metricsTLSCertFile, keyFile: metricsTLSKeyFile, clientCAFiles: clientCAs)
    }
}
