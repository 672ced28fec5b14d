import Foundation

/// Cilium's Star Wars demo in network namespaces: the empire's `tiefighter` may land on the `deathstar` (two
/// replicas behind one DNS name), the alliance's `xwing` may not — an nftables policy in the Death Star lets only
/// org=empire reach port 80, so xwing's SYNs are dropped (POLICY_DENIED). Clients resolve
/// `deathstar.default.svc.cluster.local` at `kube-dns` (dnsmasq) before each call; some requests carry a W3C
/// `traceparent`; `PUT /v1/exhaust-port` answers 503; ping probes run alongside; the tiefighter also calls an `outpost`
/// that stands for a server outside the cluster (it is not in the endpoints file, so flows to it go to the world). Labels and workloads come from an
/// endpoints file the demo writes. Every loop is bounded in count and time; `stop()` removes everything, and
/// leftovers of a run that was SIGKILLed are removed by the next `start()`.
public final class StarWarsDemo: @unchecked Sendable {
    // @unchecked: `lab` and `processes` are set in start() and cleared in stop(), both called from one thread.
    public static let prefix = "spydemo"
    public static let subnet = "10.199.0"
    public static let serviceName = "deathstar.default.svc.cluster.local"
    public private(set) var lab: NetworkLab?
    private var processes: [LabProcess] = []
    /// Seconds between rounds of traffic.
    public let period: Double
    /// Traffic loops end by themselves after this many rounds (the demo stops them earlier on exit).
    public let maxRounds: Int
    /// Where the endpoints file, the flow log and logs go.
    public let workDirectory: String

    public init(period: Double = 1.0, maxRounds: Int = 86_400, workDirectory: String = "/run/spyglass-demo") {
        self.period = period
        self.maxRounds = maxRounds
        self.workDirectory = workDirectory
    }

    public struct Pods: Sendable {
        public let tiefighter: Pod
        public let xwing: Pod
        public let deathstar: [Pod]
        public let kubeDNS: Pod
        /// A server beyond the cluster: no endpoint identity, so its address is `reserved:world`.
        public let outpost: Pod
        public var all: [Pod] { [tiefighter, xwing] + deathstar + [kubeDNS, outpost] }
    }

    public var endpointsFile: String { workDirectory + "/endpoints.yaml" }
    public var flowLog: String { workDirectory + "/events.log" }

    /// Builds the network, writes the endpoints file and the policy, and starts servers and traffic loops.
    @discardableResult
    public func start() throws -> Pods {
        let stale = try NetworkLab.removeStale(prefix: Self.prefix)
        if !stale.isEmpty {
            FileHandle.standardError.write(
                Data("demo: removed leftovers of an earlier run: \(stale.joined(separator: ", "))\n".utf8))
        }
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let lab = try NetworkLab(prefix: Self.prefix)
        self.lab = lab
        do {
            let net = Self.subnet
            let tiefighter = try lab.addPod(name: "tiefighter", ipv4: "\(net).2/24")
            let xwing = try lab.addPod(name: "xwing", ipv4: "\(net).3/24")
            let ds1 = try lab.addPod(name: "deathstar-1", ipv4: "\(net).10/24")
            let ds2 = try lab.addPod(name: "deathstar-2", ipv4: "\(net).11/24")
            let dns = try lab.addPod(name: "kube-dns", ipv4: "\(net).53/24")
            let outpost = try lab.addPod(name: "outpost", ipv4: "\(net).100/24")
            let pods = Pods(tiefighter: tiefighter, xwing: xwing, deathstar: [ds1, ds2], kubeDNS: dns, outpost: outpost)
            try Self.endpointsYAML(pods).write(toFile: endpointsFile, atomically: true, encoding: .utf8)

            let lifetime = Duration.seconds(Int(Double(maxRounds) * period) + 60)
            // kube-dns: the service name resolves to both Death Star replicas.
            processes.append(
                try lab.spawn(
                    in: dns,
                    [
                        "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                        "--listen-address=\(dns.ipv4)",
                        "--local=/cluster.local/", "--log-facility=/dev/null",
                        "--host-record=\(Self.serviceName),\(ds1.ipv4)",
                        "--host-record=\(Self.serviceName),\(ds2.ipv4)",
                        "--host-record=kube-dns.kube-system.svc.cluster.local,\(dns.ipv4)"
                    ], timeout: lifetime))
            for ds in [ds1, ds2] {
                // The policy: only org=empire (tiefighter) may reach deathstar:80.
                let policy = """
                    table inet spyglass_demo {
                      chain input {
                        type filter hook input priority 0; policy accept;
                        tcp dport 80 ip saddr \(tiefighter.ipv4) accept
                        tcp dport 80 drop
                      }
                    }
                    """
                try lab.nft(in: ds, policy)
                processes.append(
                    try lab.spawn(in: ds, ["python3", "-c", DemoScripts.httpServer, ds.ipv4, "80"], timeout: lifetime))
            }
            processes.append(
                try lab.spawn(
                    in: outpost, ["python3", "-c", DemoScripts.httpServer, outpost.ipv4, "80"], timeout: lifetime))
            processes.append(
                try lab.spawn(
                    in: tiefighter, ["bash", "-c", clientLoop(dns: dns, ship: "tiefighter", outpost: outpost)],
                    timeout: lifetime))
            processes.append(
                try lab.spawn(
                    in: xwing, ["bash", "-c", clientLoop(dns: dns, ship: "xwing", outpost: nil)], timeout: lifetime))
            // ICMP probes.
            let interval = "\(max(period * 2, 0.2))"
            processes.append(
                try lab.spawn(
                    in: tiefighter, ["ping", "-q", "-i", interval, "-c", "\(maxRounds)", ds1.ipv4], timeout: lifetime))
            processes.append(
                try lab.spawn(
                    in: xwing, ["ping", "-q", "-i", interval, "-c", "\(maxRounds)", ds2.ipv4], timeout: lifetime))
            return pods
        } catch {
            stop()
            throw error
        }
    }

    /// Each round: resolve the service, land (POST, every other round with a traceparent), and now and then try the
    /// exhaust port (PUT → 503) and a missing page (404). xwing's calls time out: its SYNs are dropped. With an
    /// `outpost`, every third round also fetches supplies from it (traffic to the world).
    private func clientLoop(dns: Pod, ship: String, outpost: Pod?) -> String {
        let timeout = ship == "xwing" ? "1" : "2"
        let toWorld =
            outpost.map {
                "if [ $((i % 3)) -eq 0 ]; then curl -s -o /dev/null --max-time \(timeout) http://\($0.ipv4)/v1/supplies; fi"
            } ?? ":"
        return """
            for i in $(seq 1 \(maxRounds)); do
              ip=$(dig +short +tries=1 +time=1 @\(dns.ipv4) \(Self.serviceName) | shuf -n 1)
              if [ -n "$ip" ]; then
                if [ $((i % 2)) -eq 0 ]; then
                  tp="00-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n')-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \\n')-01"
                  curl -s -o /dev/null --max-time \(timeout) -X POST -d 'ship=\(ship)' -H "traceparent: $tp" http://$ip/v1/request-landing
                else
                  curl -s -o /dev/null --max-time \(timeout) -X POST -d 'ship=\(ship)' http://$ip/v1/request-landing
                fi
                if [ $((i % 5)) -eq 0 ]; then curl -s -o /dev/null --max-time \(timeout) -X PUT http://$ip/v1/exhaust-port; fi
                if [ $((i % 7)) -eq 0 ]; then curl -s -o /dev/null --max-time \(timeout) http://$ip/v1/missing; fi
              fi
              \(toWorld)
              dig +short +tries=1 +time=1 @\(dns.ipv4) alderaan.default.svc.cluster.local > /dev/null
              sleep \(period)
            done
            """
    }

    /// Stops every process and removes the namespaces, veths and bridge (the policy goes with the namespaces).
    public func stop() {
        for p in processes { _ = p.terminate(grace: .milliseconds(500)) }
        processes = []
        _ = lab?.teardown()
        lab = nil
    }

    static func endpointsYAML(_ p: Pods) -> String {
        var out = """
            # Written by `spyglass demo`: who is behind each address of the Star Wars network.
            endpoints:
              - addresses: [\(p.tiefighter.ipv4)]
                namespace: default
                pod: tiefighter
                labels: {org: empire, class: tiefighter, app.kubernetes.io/name: tiefighter}
              - addresses: [\(p.xwing.ipv4)]
                namespace: default
                pod: xwing
                labels: {org: alliance, class: xwing, app.kubernetes.io/name: xwing}
              - addresses: [\(p.kubeDNS.ipv4)]
                namespace: kube-system
                pod: coredns-5d78c9869d-x7k2p
                workload: coredns
                kind: Deployment
                labels: {k8s-app: kube-dns}

            """
        for (i, ds) in p.deathstar.enumerated() {
            out += """
                  - addresses: [\(ds.ipv4)]
                    namespace: default
                    pod: deathstar-6fb5694d4d-\(["4jr2k", "9xq7m"][i % 2])
                    workload: deathstar
                    kind: Deployment
                    labels: {org: empire, class: deathstar, app.kubernetes.io/name: deathstar}

                """
        }
        return out
    }
}
