import Foundation
import SpyglassAgent
import SpyglassDatapath
import SpyglassTesting
import Testing

/// Lifecycle faults (issue #10, part 6): a watched interface deleted and re-created, SIGTERM under load, SIGKILL
/// and restart. Start-up validation of every flag is in `FlagValidationTests`.
@Suite(.enabled(if: KernelTestGate.enabled, KernelTestGate.reason), .serialized)
struct LifecycleTests {
    let cli = CommandLineTests()

    /// Deletes a pod's host-side veth (its peer goes with it) and creates it again with the same names and address.
    func recreate(_ lab: NetworkLab, _ pod: Pod) throws {
        try lab.ip(["link", "del", pod.hostInterface])
        try lab.addVethPair(pod.hostInterface, peer: "eth0", peerNamespace: pod.namespace)
        try lab.attachToBridge(pod.hostInterface)
        try lab.setLinkUp(pod.hostInterface)
        try lab.addAddress(pod.ipv4CIDR, interface: "eth0", namespace: pod.namespace)
        try lab.setLinkUp("eth0", namespace: pod.namespace)
    }

    /// Waits (bounded) until `done` holds.
    func eventually(_ seconds: Double = 5, _ done: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try done() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try done()
    }

    static let icmpOut = ["protocol": "ICMPv4", "type": "Trace", "subtype": "from-endpoint", "verdict": "FORWARDED"]

    /// `byName`: the interface is named literally and re-created at once (likely within one rescan); otherwise
    /// by glob, and re-created only after the agent noticed it was gone.
    @Test(arguments: [true, false])
    func deletedAndRecreatedInterfaceIsReattached(byName: Bool) async throws {
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.31.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.31.3/24")
            var config = AgentConfig()
            config.interfaces = [byName ? client.hostInterface : "\(lab.prefix)c*"]
            config.metricsServer = "127.0.0.1:0"
            config.datapath.aggregation = .none
            config.dropsEnabled = false
            config.interfaceRescanMs = 200
            try await withStartedAgent(config) { agent in
                func index() -> UInt32? { agent.attachedInterfaces.first { $0.name == client.hostInterface }?.index }
                let before = try #require(index())
                #expect(Int(before) == client.hostIfindex)

                try recreate(lab, client)
                let after = try lab.ifindex(of: client.hostInterface)
                #expect(after != client.hostIfindex, "the kernel gives a re-created link a new ifindex")
                if !byName {
                    // Seen gone first: the agent forgets the old ifindex.
                    #expect(eventually { !agent.attachedInterfaces.contains { $0.index == before } })
                }
                #expect(
                    eventually { index().map(Int.init) == after },
                    "re-attached with the new ifindex: \(agent.attachedInterfaces)")
                #expect(!agent.attachedInterfaces.contains { $0.index == before }, "the old ifindex is forgotten")
                #expect(try cli.tcFilters(client.hostInterface, "ingress").count == 1)
                #expect(try cli.tcFilters(client.hostInterface, "egress").count == 1)

                // Traffic on the new link is observed: 3 echo requests leave the client.
                let ping = try lab.run(in: client, ["ping", "-c", "3", "-i", "0.2", "-W", "1", server.ipv4])
                #expect(ping.succeeded, "\(ping)")
                let m = try scrapeMetrics(agent.serverPort) {
                    $0.value("hubble_flows_processed_total", Self.icmpOut) >= 3
                }
                #expect(
                    m.value("hubble_flows_processed_total", Self.icmpOut) == 3,
                    "\(m.series("hubble_flows_processed_total"))")
                #expect(m.value("hubble_flows_processed_total", ["protocol": "ICMPv4", "subtype": "to-endpoint"]) == 3)
            }
        }
    }

    /// A bounded UDP sender in the pod: `pps` datagrams a second for `seconds`.
    static let udpLoad = """
        import socket, sys, time
        dst, pps, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        end = time.time() + seconds
        while time.time() < end:
            t = time.time()
            for i in range(pps // 100):
                s.sendto(b"load", (dst, 9999))
            time.sleep(max(0, 0.01 - (time.time() - t)))
        """

    func startLoad(_ lab: NetworkLab, from client: Pod, to server: Pod, pps: Int, seconds: Int) throws -> [LabProcess] {
        let sink = try lab.spawn(
            in: server, ["python3", "-c", DemoScripts.udpSink, server.ipv4, "9999"], timeout: .seconds(seconds + 30))
        let load = try lab.spawn(
            in: client, ["python3", "-c", Self.udpLoad, server.ipv4, "\(pps)", "\(seconds)"],
            timeout: .seconds(seconds + 30))
        return [sink, load]
    }

    /// SIGTERM while traffic flows: exit 0 within 5 s, no hooks left, and the flow log holds every flow the
    /// pipeline handed on (or counts it as dropped), each line complete JSON.
    @Test func sigtermUnderLoadFlushesAndDetaches() throws {
        try withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.32.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.32.3/24")
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "spyglass-sigterm-\(UUID().uuidString)"
            ).path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let logFile = dir + "/events.log"
            let load = try startLoad(lab, from: client, to: server, pps: 10000, seconds: 20)
            defer { load.forEach { _ = $0.terminate() } }

            let agent = try AgentProcess([
                "--interface", client.hostInterface, "--hubble-metrics-server", "127.0.0.1:0", "--monitor-aggregation",
                "none",
                "--drop-events", "false", "--hubble-export-file-path", logFile, "--hubble-export-file-max-size-mb",
                "1000"
            ])
            let port = try #require(agent.waitForPort(), "agent did not start: \(agent.log)")
            // Under load: flows are being counted and written.
            let m = try scrapeMetrics(port) { $0.value("hubble_flows_processed_total", ["protocol": "UDP"]) > 10000 }
            #expect(m.value("hubble_flows_processed_total", ["protocol": "UDP"]) > 10000)
            #expect(load[1].isRunning, "the load is still running when SIGTERM arrives")

            let seconds = agent.signal(SIGTERM, timeout: 5)
            #expect(seconds != nil, "SIGTERM must stop the agent within 5 s: \(agent.log)")
            #expect(agent.process.terminationStatus == 0, "\(agent.log)")
            #expect(try cli.tcFilters(client.hostInterface, "ingress").isEmpty)
            #expect(try cli.tcFilters(client.hostInterface, "egress").isEmpty)

            // The final accounting line: every flow handed on is in the file, or counted as not written.
            let summary = try #require(
                agent.log.split(separator: "\n").last { $0.contains("stopped: flows") }, "\(agent.log)")
            func field(_ name: String) -> Int {
                guard let r = summary.range(of: "\(name)=") else { return -1 }
                return Int(summary[r.upperBound...].prefix { $0.isNumber }) ?? -1
            }
            let lines = flowLogLines(logFile)
            let raw = try String(contentsOfFile: logFile, encoding: .utf8)
            #expect(raw.hasSuffix("\n"), "the last line is complete")
            #expect(
                lines.allSatisfy { $0.object != nil },
                "every line is JSON: \(lines.first { $0.object == nil }?.line.prefix(200) ?? "")")
            let flows = lines.filter { $0.object?["flow"] != nil }.count
            #expect(lines.count == field("written"), "\(summary)")
            #expect(flows + field("dropped") == field("l3_l4") + field("l7"), "\(summary); \(flows) flow lines")
            #expect(flows > 10000)
            print("SIGTERM under load: exited in \(String(format: "%.2f", seconds ?? -1)) s; \(summary)")
        }
    }

    /// SIGKILL under load, then a restart with the same flags: the stale hooks are replaced (one per direction) and
    /// traffic is observed by the new run. (CommandLineTests checks stale hooks on other interfaces go.)
    @Test func restartAfterSigkillReplacesStaleHooksAndObserves() throws {
        try withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: "10.199.33.2/24")
            let server = try lab.addPod(name: "server", ipv4: "10.199.33.3/24")
            let load = try startLoad(lab, from: client, to: server, pps: 2000, seconds: 20)
            defer { load.forEach { _ = $0.terminate() } }
            let args = [
                "--interface", client.hostInterface, "--hubble-metrics-server", "127.0.0.1:0", "--monitor-aggregation",
                "none"
            ]

            let first = try AgentProcess(args)
            let firstPort = try #require(first.waitForPort(), "\(first.log)")
            _ = try scrapeMetrics(firstPort) { $0.value("hubble_flows_processed_total", ["protocol": "UDP"]) > 100 }
            #expect(first.signal(SIGKILL, timeout: 5) != nil)
            #expect(try cli.tcFilters(client.hostInterface, "ingress").count == 1, "a killed agent leaves its hooks")

            let second = try AgentProcess(args)
            let port = try #require(second.waitForPort(), "\(second.log)")
            #expect(second.log.contains("removed stale hooks"), "\(second.log)")
            #expect(try cli.tcFilters(client.hostInterface, "ingress").count == 1)
            #expect(try cli.tcFilters(client.hostInterface, "egress").count == 1)
            let ping = try lab.run(in: client, ["ping", "-c", "3", "-i", "0.2", "-W", "1", server.ipv4])
            #expect(ping.succeeded, "\(ping)")
            let m = try scrapeMetrics(port) {
                $0.value("hubble_flows_processed_total", Self.icmpOut) >= 3
                    && $0.value("hubble_flows_processed_total", ["protocol": "UDP"]) > 100
            }
            #expect(m.value("hubble_flows_processed_total", Self.icmpOut) == 3)
            #expect(
                m.value("hubble_flows_processed_total", ["protocol": "UDP"]) > 100,
                "the load is observed by the new run")
            #expect(second.signal(SIGTERM, timeout: 5) != nil)
            #expect(second.process.terminationStatus == 0, "\(second.log)")
            #expect(try cli.tcFilters(client.hostInterface, "ingress").isEmpty)
        }
    }

    /// A second agent starting while one runs must not take the running agent's hooks for stale ones.
    @Test func liveAgentsHooksAreNotStale() throws {
        try withLab { lab in
            let a = try lab.addPod(name: "a", ipv4: "10.199.34.2/24")
            let b = try lab.addPod(name: "b", ipv4: "10.199.34.3/24")
            let first = try AgentProcess(["--interface", a.hostInterface, "--hubble-metrics-server", "127.0.0.1:0"])
            _ = try #require(first.waitForPort(), "\(first.log)")
            let second = try AgentProcess(["--interface", b.hostInterface, "--hubble-metrics-server", "127.0.0.1:0"])
            _ = try #require(second.waitForPort(), "\(second.log)")
            #expect(!second.log.contains("removed stale hooks"), "\(second.log)")
            #expect(try cli.tcFilters(a.hostInterface, "ingress").count == 1, "the first agent keeps its hooks")
            #expect(try cli.tcFilters(a.hostInterface, "egress").count == 1)
            #expect(second.signal(SIGTERM, timeout: 5) != nil)
            #expect(first.signal(SIGTERM, timeout: 5) != nil)
            #expect(first.process.terminationStatus == 0 && second.process.terminationStatus == 0)
        }
    }

    /// Two agents whose interface sets overlap: the first keeps the shared interface (a second agent would otherwise
    /// replace its hooks and detach them on exit); a glob match is left to it with a warning, a literal name fails.
    @Test func overlappingAgentsLeaveTheFirstItsInterface() throws {
        try withLab { lab in
            let a = try lab.addPod(name: "a", ipv4: "10.199.35.2/24")
            let b = try lab.addPod(name: "b", ipv4: "10.199.35.3/24")
            let first = try AgentProcess(["--interface", a.hostInterface, "--hubble-metrics-server", "127.0.0.1:0"])
            let port = try #require(first.waitForPort(), "\(first.log)")
            let firstIngress = try cli.tcFilters(a.hostInterface, "ingress")

            let glob = try AgentProcess(["--interface", "\(lab.prefix)*", "--hubble-metrics-server", "127.0.0.1:0"])
            _ = try #require(glob.waitForPort(), "\(glob.log)")
            #expect(glob.log.contains("\(a.hostInterface) is watched by another running Spyglass agent"), "\(glob.log)")
            #expect(
                try cli.tcFilters(a.hostInterface, "ingress") == firstIngress, "the first agent's hook is untouched")
            #expect(try cli.tcFilters(b.hostInterface, "ingress").count == 1, "the rest of the glob is watched")
            #expect(glob.signal(SIGTERM, timeout: 5) != nil)
            #expect(
                try cli.tcFilters(a.hostInterface, "ingress") == firstIngress, "and stays after the second one exits")

            let literal = try AgentProcess(["--interface", a.hostInterface, "--hubble-metrics-server", "127.0.0.1:0"])
            #expect(literal.waitForExit(timeout: 10) != nil && literal.process.terminationStatus != 0)
            #expect(
                literal.log.contains("\(a.hostInterface) is already watched by another running Spyglass agent"),
                "\(literal.log)")

            // The first agent still observes its interface.
            let r = try lab.run(in: a, ["ping", "-c", "2", "-i", "0.2", "-W", "1", b.ipv4])
            #expect(r.succeeded, "\(r)")
            // b's side is not watched by it, and the pod's sends (from-endpoint) are suppressed at the default
            // aggregation: the two replies delivered to a (to-endpoint) are what it reports.
            let m = try scrapeMetrics(port) { $0.value("hubble_icmp_total") >= 2 }
            #expect(m.value("hubble_icmp_total") == 2)
            #expect(first.signal(SIGTERM, timeout: 5) != nil)
        }
    }

    /// Someone deletes the clsact qdisc (and with it our filters) of a watched interface that stays: the next rescan
    /// attaches again, counts it, and traffic is observed again.
    @Test func hooksRemovedBySomeoneElseAreRestored() async throws {
        try await withLab { lab in
            let a = try lab.addPod(name: "a", ipv4: "10.199.36.2/24")
            let b = try lab.addPod(name: "b", ipv4: "10.199.36.3/24")
            var config = AgentConfig()
            config.interfaces = [a.hostInterface]
            config.metricsServer = "127.0.0.1:0"
            config.interfaceRescanMs = 200
            try await withStartedAgent(config) { agent in
                let del = Process()
                del.executableURL = URL(fileURLWithPath: "/usr/sbin/tc")
                del.arguments = ["qdisc", "del", "dev", a.hostInterface, "clsact"]
                try del.run()
                del.waitUntilExit()
                #expect(del.terminationStatus == 0)
                #expect(eventually { (try? cli.tcFilters(a.hostInterface, "ingress").count) == 1 }, "re-attached")
                #expect(try cli.tcFilters(a.hostInterface, "egress").count == 1)
                let r = try lab.run(in: a, ["ping", "-c", "2", "-i", "0.2", "-W", "1", b.ipv4])
                #expect(r.succeeded, "\(r)")
                let m = try scrapeMetrics(agent.serverPort) { $0.value("hubble_icmp_total") >= 2 }
                #expect(m.value("hubble_icmp_total") >= 2, "traffic after the restore is observed")
                #expect(m.value("spyglass_datapath_hooks_restored_total") == 1)
            }
        }
    }
}
