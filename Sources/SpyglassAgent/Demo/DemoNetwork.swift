import Foundation

/// The demo's built-in network: three "pods" in network namespaces on one bridge, with TCP (HTTP), UDP and ICMP
/// traffic looping between them. Everything it starts is bounded in count and time and is removed by `stop()`;
/// leftovers of a run that was SIGKILLed are removed by the next `start()`.
public final class DemoNetwork: @unchecked Sendable {
    // @unchecked: `lab` and `processes` are set in start() and cleared in stop(), both called from one thread.
    public static let prefix = "spydemo"
    public static let subnet = "10.199.0"
    public private(set) var lab: NetworkLab?
    private var processes: [LabProcess] = []
    /// Seconds between rounds of traffic.
    public let period: Double
    /// Traffic loops end by themselves after this many rounds (the demo stops them earlier on exit).
    public let maxRounds: Int

    public init(period: Double = 1.0, maxRounds: Int = 86_400) {
        self.period = period
        self.maxRounds = maxRounds
    }

    public struct Pods: Sendable {
        public let client: Pod
        public let web: Pod
        public let cache: Pod
        public var all: [Pod] { [client, web, cache] }
    }

    /// Builds the network and starts the servers and traffic loops. Returns the pods.
    @discardableResult
    public func start() throws -> Pods {
        let stale = try NetworkLab.removeStale(prefix: Self.prefix)
        if !stale.isEmpty { FileHandle.standardError.write(Data("demo: removed leftovers of an earlier run: \(stale.joined(separator: ", "))\n".utf8)) }
        let lab = try NetworkLab(prefix: Self.prefix)
        self.lab = lab
        do {
            let client = try lab.addPod(name: "client", ipv4: "\(Self.subnet).2/24")
            let web = try lab.addPod(name: "web", ipv4: "\(Self.subnet).3/24")
            let cache = try lab.addPod(name: "cache", ipv4: "\(Self.subnet).4/24")
            let pods = Pods(client: client, web: web, cache: cache)
            let lifetime = Duration.seconds(Int(Double(maxRounds) * period) + 60)

            // Servers: HTTP on web:8080, a UDP sink on cache:5300.
            processes.append(try lab.spawn(in: web, ["python3", "-m", "http.server", "8080", "--bind", web.ipv4], timeout: lifetime))
            processes.append(try lab.spawn(in: cache, ["python3", "-c", Self.udpSink, cache.ipv4, "5300"], timeout: lifetime))
            // Clients: each round an HTTP GET, a UDP datagram and (in its own loop) a ping.
            let round = """
                for i in $(seq 1 \(maxRounds)); do \
                curl -s -o /dev/null --max-time 2 http://\(web.ipv4):8080/ ; \
                echo "round $i" > /dev/udp/\(cache.ipv4)/5300 ; \
                sleep \(period); done
                """
            processes.append(try lab.spawn(in: client, ["bash", "-c", round], timeout: lifetime))
            processes.append(try lab.spawn(in: client, ["ping", "-q", "-i", "\(max(period, 0.2))", "-c", "\(maxRounds)", web.ipv4], timeout: lifetime))
            processes.append(try lab.spawn(in: web, ["ping", "-q", "-i", "\(max(period * 2, 0.2))", "-c", "\(maxRounds)", cache.ipv4], timeout: lifetime))
            return pods
        } catch {
            stop()
            throw error
        }
    }

    /// Stops every process and removes the namespaces, veths and bridge. Idempotent.
    public func stop() {
        for p in processes { _ = p.terminate(grace: .milliseconds(500)) }
        processes = []
        _ = lab?.teardown()
        lab = nil
    }

    /// A UDP sink: receives datagrams and discards them (so no ICMP port-unreachable comes back).
    static let udpSink = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[1], int(sys.argv[2])))
        while True:
            s.recv(65535)
        """
}
