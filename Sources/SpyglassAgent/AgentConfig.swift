import Glibc
import SpyglassDatapath
import SpyglassEndpoints
import SpyglassExport
import SpyglassFlow
import SpyglassObserver
import SpyglassServer

/// Everything `spyglass run` can be told, with Cilium's flag names where Cilium has the same knob.
public struct AgentConfig: Sendable {
    /// `--interface`: names and globs; empty = every non-loopback interface plus veths that appear later.
    public var interfaces: [String] = []
    /// `--devices` (Cilium's syntax: names, `eth+` prefix wildcards): the node's uplinks; empty = auto-detect.
    public var devices: [String] = []
    public var datapath = DatapathConfig()
    /// Drops from skb:kfree_skb (`--drop-events`), their rate limit and scope.
    public var dropsEnabled = true
    public var drops = DropConfig()
    /// DNS and HTTP read from packets; nil turns the L7 parser off. Ports follow `datapath.dnsPorts/httpPorts`.
    public var l7: L7Config? = L7Config()
    /// `--l7-body-skip`: the L7 parser tells the kernel which HTTP body segments to leave out (`L7SkipMap`).
    public var l7BodySkip = true
    /// `--hubble-export-file-path` and friends; nil = no static flow log.
    public var staticExport: StaticExporterConfig? = nil
    /// `--hubble-flowlogs-config-path`
    public var flowLogsConfigPath: String? = nil
    /// `--hubble-flowlogs-base-dir`: dynamic flow logs' `filePath`s must be below this directory.
    public var flowLogsBaseDirectory = "/var/run/cilium/hubble"
    /// Who is behind an IP: Kubernetes, `--endpoints-file`, the node's own addresses.
    public var endpoints = EndpointsConfig()
    /// `--hubble-metrics-server`
    public var metricsServer = ":9965"
    /// `--hubble-metrics-server-enable-tls` with the cert, key and client CA files; nil serves plain HTTP.
    public var metricsTLS: MetricsServerTLS? = nil
    /// `--hubble-metrics` (Hubble's option string); nil = the seven default families (`MetricsConfig.defaultSpec`).
    public var hubbleMetrics: String? = nil
    /// `--hubble-dynamic-metrics-config-path`: metrics from a YAML file re-read on change (excludes `hubbleMetrics`).
    public var dynamicMetricsPath: String? = nil
    /// `--enable-hubble-open-metrics`
    public var openMetrics = true
    /// `--hubble-metrics-max-series` (per metric family)
    public var maxSeriesPerMetric = 10_000
    /// `--hubble-metrics-series-ttl` in nanoseconds; 0 = never expire.
    public var seriesTTLNs: UInt64 = 0
    /// Node and cluster name for `node_name`.
    public var nodeName = AgentConfig.defaultNodeName()
    public var clusterName = ""
    /// Batches (of 256 KiB) between the ring-buffer reader and the flow pipeline.
    public var eventQueueBatches = 64
    /// How often new interfaces are looked for.
    public var interfaceRescanMs = 1000
    public var verboseLibbpf = false
    /// Hubble's gRPC API (`--enable-hubble`, `--hubble-socket-path`, `--hubble-listen-address`, …); nil = off.
    public var hubbleAPI: HubbleServerConfig? = HubbleServerConfig()

    public init() {}

    /// `cluster/node`, or just the node when no cluster name is set (Hubble's node_name).
    public var hubbleNodeName: String { clusterName.isEmpty ? nodeName : "\(clusterName)/\(nodeName)" }

    public static func defaultNodeName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
