import Foundation
import Testing

@testable import SpyglassAgent

#if canImport(Glibc)
    import Glibc
#endif

/// Root-only lab tests skip (with a printed reason) when they cannot run here, except under
/// `CI=true`, where they run and fail loudly instead.
enum LabGate {
    static let reason = NetworkLab.missingPrerequisites()
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Evaluated once, so the reason is printed once.
    static let enabled: Bool = {
        guard let reason else { return true }
        if isCI { return true }
        print("skipping network lab tests: \(reason)")
        return false
    }()

    /// Fails the test when prerequisites are missing (only reachable under CI=true).
    static func require() throws {
        if let reason { throw LabError("CI=true but network lab tests cannot run: \(reason)") }
    }
}

struct Boom: Error {}

@Suite("Network lab: pure parts")
struct LabUnitTests {
    @Test func randomPrefixFitsInterfaceNames() throws {
        let prefix = NetworkLab.randomPrefix()
        #expect(prefix.count == 9)
        #expect(prefix.hasPrefix("spy"))
        #expect(prefix.dropFirst(3).allSatisfy { $0.isHexDigit })
        try NetworkLab.validatePrefix(prefix, maxLength: 10)
        #expect((prefix + "br").count <= NetworkLab.interfaceNameLimit)
        #expect((prefix + "c99").count <= NetworkLab.interfaceNameLimit)
    }

    @Test(arguments: ["", "ab", "Spy123", "spy-1", "1spy", "spy12345678"])
    func badPrefixesAreRejected(prefix: String) {
        #expect(throws: LabError.self) { try NetworkLab.validatePrefix(prefix, maxLength: 10) }
    }

    @Test func interfaceNameLimit() throws {
        try NetworkLab.validateInterfaceName("abcdefghijklmno")
        #expect(throws: LabError.self) { try NetworkLab.validateInterfaceName("abcdefghijklmnop") }
        #expect(throws: LabError.self) { try NetworkLab.validateInterfaceName("a b") }
    }

    @Test func labAddressesStayInTestRanges() throws {
        #expect(try NetworkLab.splitCIDR("10.199.0.2/24", v6: false) == ("10.199.0.2", 24))
        #expect(try NetworkLab.splitCIDR("fd00:199::2/64", v6: true) == ("fd00:199::2", 64))
        #expect(throws: LabError("lab IPv4 address 192.168.1.2/24 must be in 10.0.0.0/8")) {
            try NetworkLab.splitCIDR("192.168.1.2/24", v6: false)
        }
        #expect(throws: LabError.self) { try NetworkLab.splitCIDR("10.199.0.2", v6: false) }
        #expect(throws: LabError.self) { try NetworkLab.splitCIDR("10.199.0.300/24", v6: false) }
        #expect(throws: LabError.self) { try NetworkLab.splitCIDR("2001:db8::1/64", v6: true) }
    }

    @Test func removeStaleRefusesSystemLookingPrefixes() {
        for prefix in ["eth", "veth", "docker", "lxcabc", "bri"] {
            #expect(throws: LabError.self) { try NetworkLab.removeStale(prefix: prefix) }
        }
    }

    @Test func snmpParsing() throws {
        let text = """
            Ip: Forwarding DefaultTTL InReceives
            Ip: 2 64 17
            Icmp: InMsgs InErrors OutMsgs
            Icmp: 3 0 3
            IcmpMsg: InType0 OutType8
            IcmpMsg: 3 3
            Tcp: RtoAlgorithm MaxConn InSegs OutSegs RetransSegs
            Tcp: 1 -1 10 12 0
            Udp: InDatagrams NoPorts OutDatagrams
            Udp: 5 0 5

            """
        let counters = try SNMPCounters.parse(text)
        #expect(counters["Tcp.InSegs"] == 10)
        #expect(counters["Tcp.MaxConn"] == -1)
        #expect(counters["IcmpMsg.OutType8"] == 3)
        #expect(counters["Udp.OutDatagrams"] == 5)
        #expect(counters.count("IcmpMsg.InType8") == 0)
        let later = try SNMPCounters.parse(
            text.replacingOccurrences(of: "Tcp: 1 -1 10 12 0", with: "Tcp: 1 -1 15 20 1"))
        let delta = later.delta(since: counters)
        #expect(delta["Tcp.InSegs"] == 5 && delta["Tcp.OutSegs"] == 8 && delta["Tcp.RetransSegs"] == 1)
        #expect(delta["Udp.InDatagrams"] == 0)

        #expect(throws: LabError.self) { try SNMPCounters.parse("Tcp: InSegs OutSegs\nTcp: 1\n") }
        #expect(throws: LabError.self) { try SNMPCounters.parse("Tcp: InSegs\nUdp: 1\n") }
        #expect(throws: LabError.self) { try SNMPCounters.parse("Tcp: InSegs\n") }
        #expect(throws: LabError.self) { try SNMPCounters.parse("Tcp: InSegs\nTcp: x\n") }
    }
}

@Suite(
    "Network lab (root)", .serialized, .enabled(if: LabGate.enabled, "needs root, ip and nsenter"),
    .timeLimit(.minutes(2)))
struct LabTests {
    static let clientCIDR = "10.199.0.2/24"
    static let serverCIDR = "10.199.0.3/24"

    /// Polls (at most `attempts` × 100 ms) until `condition` holds.
    static func eventually(attempts: Int = 50, _ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<attempts {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    @Test func podsOnABridgePingEachOther() async throws {
        try LabGate.require()
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: Self.clientCIDR)
            let server = try lab.addPod(name: "server", ipv4: Self.serverCIDR)

            #expect(client.namespace == "\(lab.prefix)-client")
            #expect(client.hostInterface == "\(lab.prefix)c0")
            #expect(server.hostInterface == "\(lab.prefix)s1")
            #expect(client.interface == "eth0" && client.ipv4 == "10.199.0.2")
            for pod in [client, server] {
                #expect(pod.hostInterface.count <= NetworkLab.interfaceNameLimit)
                let sysIndex = try String(
                    contentsOfFile: "/sys/class/net/\(pod.hostInterface)/ifindex", encoding: .utf8)
                #expect(Int(sysIndex.trimmingCharacters(in: .whitespacesAndNewlines)) == pod.hostIfindex)
                let master = try FileManager.default.destinationOfSymbolicLink(
                    atPath: "/sys/class/net/\(pod.hostInterface)/master")
                #expect(master.hasSuffix("/\(lab.bridge)"))
                // IPv6 is off inside the namespace and on the host-side veth.
                let v6 = try await lab.run(in: pod, ["cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"])
                #expect(v6.stdout == "1\n")
                #expect(
                    try String(
                        contentsOfFile: "/proc/sys/net/ipv6/conf/\(pod.hostInterface)/disable_ipv6", encoding: .utf8)
                        == "1\n")
            }
            // The bridge carries no address.
            let bridgeAddresses = try lab.ip(["-o", "addr", "show", "dev", lab.bridge])
            #expect(bridgeAddresses.stdout.isEmpty)

            let clientBefore = try lab.snmp(client)
            let serverBefore = try lab.snmp(server)
            let ping = try await lab.run(
                in: client, ["ping", "-n", "-c", "3", "-W", "1", "-i", "0.2", server.ipv4], timeout: .seconds(10))
            #expect(ping.succeeded, "\(ping)")
            #expect(ping.stdout.contains("3 packets transmitted, 3 received"))
            let clientDelta = try lab.snmp(client).delta(since: clientBefore)
            let serverDelta = try lab.snmp(server).delta(since: serverBefore)
            #expect(clientDelta["IcmpMsg.OutType8"] == 3)
            #expect(clientDelta["IcmpMsg.InType0"] == 3)
            #expect(clientDelta["Icmp.OutMsgs"] == 3)
            #expect(clientDelta["Icmp.InMsgs"] == 3)
            #expect(serverDelta["IcmpMsg.InType8"] == 3)
            #expect(serverDelta["IcmpMsg.OutType0"] == 3)
            #expect(serverDelta["Icmp.InMsgs"] == 3)
        }
    }

    @Test func tcpAndUdpExchangesMoveTheCounters() async throws {
        try LabGate.require()
        try await withLab { lab in
            let client = try lab.addPod(name: "client", ipv4: Self.clientCIDR)
            let server = try lab.addPod(name: "server", ipv4: Self.serverCIDR)
            let docroot = lab.workDirectory + "/www"
            try FileManager.default.createDirectory(atPath: docroot, withIntermediateDirectories: true)
            try "hello from the lab\n".write(toFile: docroot + "/index.html", atomically: true, encoding: .utf8)

            let http = try lab.spawn(
                in: server, ["python3", "-m", "http.server", "8080", "--bind", server.ipv4, "--directory", docroot],
                timeout: .seconds(60))
            let listening = try Self.eventually {
                guard http.isRunning else { return true }
                return try !lab.run(in: server, ["ss", "-Hltn", "sport = :8080"]).stdout.isEmpty
            }
            #expect(listening && http.isRunning, "http.server did not start: \(http.stderr)")

            let clientBefore = try lab.snmp(client)
            let serverBefore = try lab.snmp(server)
            let curl = try await lab.run(
                in: client, ["curl", "-sS", "--max-time", "5", "http://\(server.ipv4):8080/index.html"])
            #expect(curl.succeeded, "\(curl)")
            #expect(curl.stdout == "hello from the lab\n")

            // Let the FIN handshake finish, then both sides' kernels must agree segment for segment.
            var clientDelta: [String: Int] = [:]
            var serverDelta: [String: Int] = [:]
            let agreed = try Self.eventually(attempts: 30) {
                clientDelta = try lab.snmp(client).delta(since: clientBefore)
                serverDelta = try lab.snmp(server).delta(since: serverBefore)
                return clientDelta["Tcp.OutSegs"] == serverDelta["Tcp.InSegs"]
                    && serverDelta["Tcp.OutSegs"] == clientDelta["Tcp.InSegs"]
                    && (clientDelta["Tcp.CurrEstab"] ?? 0) == 0
            }
            #expect(agreed, "client \(clientDelta) server \(serverDelta)")
            #expect(clientDelta["Tcp.ActiveOpens"] == 1)
            #expect(serverDelta["Tcp.PassiveOpens"] == 1)
            #expect((clientDelta["Tcp.OutSegs"] ?? 0) >= 4)
            #expect(clientDelta["Tcp.RetransSegs"] == 0 && serverDelta["Tcp.RetransSegs"] == 0)
            #expect(clientDelta["Udp.OutDatagrams"] == 0)

            // UDP: 5 datagrams echoed back, counted exactly on both sides.
            let echo = try lab.spawn(
                in: server,
                [
                    "python3", "-c",
                    """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.bind(("\(server.ipv4)", 9999))
                    s.settimeout(20)
                    for _ in range(5):
                        data, peer = s.recvfrom(2048)
                        s.sendto(data, peer)
                    """
                ], timeout: .seconds(30))
            let bound = try Self.eventually {
                guard echo.isRunning else { return true }
                return try !lab.run(in: server, ["ss", "-Hlun", "sport = :9999"]).stdout.isEmpty
            }
            #expect(bound && echo.isRunning, "UDP echo did not start: \(echo.stderr)")
            let udpClientBefore = try lab.snmp(client)
            let udpServerBefore = try lab.snmp(server)
            let send = try await lab.run(
                in: client,
                [
                    "python3", "-c",
                    """
                    import socket
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.settimeout(2)
                    for i in range(5):
                        s.sendto(b"ping %d" % i, ("\(server.ipv4)", 9999))
                        assert s.recvfrom(2048)[0] == b"ping %d" % i
                    print("ok")
                    """
                ], timeout: .seconds(15))
            #expect(send.succeeded && send.stdout == "ok\n", "\(send)")
            let udpClient = try lab.snmp(client).delta(since: udpClientBefore)
            let udpServer = try lab.snmp(server).delta(since: udpServerBefore)
            #expect(udpClient["Udp.OutDatagrams"] == 5 && udpClient["Udp.InDatagrams"] == 5)
            #expect(udpServer["Udp.InDatagrams"] == 5 && udpServer["Udp.OutDatagrams"] == 5)
            #expect(echo.wait(timeout: .seconds(5))?.exitStatus == 0)
        }
    }

    @Test func ipv6PodsAndRoutes() async throws {
        try LabGate.require()
        try await withLab { lab in
            let a = try lab.addPod(name: "a6", ipv4: "10.199.5.2/24", ipv6: "fd00:199:5::2/64")
            let b = try lab.addPod(name: "b6", ipv4: "10.199.5.3/24", ipv6: "fd00:199:5::3/64", gateway: "10.199.5.1")
            #expect(a.ipv6 == "fd00:199:5::2")
            let v6 = try await lab.run(in: a, ["cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"])
            #expect(v6.stdout == "0\n")
            let ping6 = try await lab.run(
                in: a, ["ping", "-6", "-n", "-c", "2", "-W", "1", "-i", "0.2", b.ipv6!], timeout: .seconds(10))
            #expect(ping6.succeeded, "\(ping6)")
            try lab.addRoute(in: a, "10.250.0.0/16", via: b.ipv4)
            let routes = try await lab.run(in: a, ["ip", "-4", "route", "show"])
            #expect(routes.stdout.contains("10.250.0.0/16 via 10.199.5.3 dev eth0"))
            let defaultRoute = try await lab.run(in: b, ["ip", "-4", "route", "show", "default"])
            #expect(defaultRoute.stdout.contains("default via 10.199.5.1 dev eth0"))
        }
    }

    @Test func teardownRemovesEverythingEvenWhenTheBodyThrows() async throws {
        try LabGate.require()
        var prefix = ""
        var sleeperPID: pid_t = 0
        var workDirectory = ""
        await #expect(throws: Boom.self) {
            try await withLab { lab in
                prefix = lab.prefix
                workDirectory = lab.workDirectory
                let a = try lab.addPod(name: "a", ipv4: "10.199.1.2/24")
                _ = try lab.addPod(name: "b", ipv4: "10.199.1.3/24")
                // A process group with a child: both must die.
                sleeperPID = try lab.spawn(in: a, ["sh", "-c", "sleep 60 & sleep 60"], timeout: .seconds(90)).pid
                #expect(!NetworkLab.leftovers(prefix: prefix).isEmpty)
                throw Boom()
            }
        }
        #expect(NetworkLab.leftovers(prefix: prefix) == [])
        #expect(kill(sleeperPID, 0) == -1 && errno == ESRCH)
        #expect(!FileManager.default.fileExists(atPath: workDirectory))
        #expect(!FileManager.default.fileExists(atPath: "\(NetworkLab.markerDirectory)/\(prefix)"))

        // Sync variant, and teardown twice.
        let syncPrefix = try withLab { lab in
            _ = try lab.addPod(name: "c", ipv4: "10.199.2.2/24")
            let first = lab.teardown()
            #expect(first == [])
            #expect(lab.teardown() == [])
            #expect(throws: LabError.self) { try lab.addPod(name: "d", ipv4: "10.199.2.3/24") }
            return lab.prefix
        }
        #expect(NetworkLab.leftovers(prefix: syncPrefix) == [])
    }

    @Test func commandsAreBoundedByTheirTimeout() async throws {
        try LabGate.require()
        try await withLab { lab in
            let pod = try lab.addPod(name: "t", ipv4: "10.199.3.2/24")
            let clock = ContinuousClock()
            let start = clock.now
            let result = try await lab.run(in: pod, ["sleep", "30"], timeout: .milliseconds(500))
            #expect(result.timedOut)
            #expect(result.signal == SIGKILL)
            #expect(!result.succeeded)
            #expect(clock.now - start < .seconds(3))

            let spawned = try lab.spawn(in: pod, ["sleep", "30"], timeout: .milliseconds(300))
            let ended = spawned.wait(timeout: .seconds(3))
            #expect(ended?.timedOut == true)

            let failing = try await lab.run(in: pod, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(failing.exitStatus == 3 && failing.stdout == "out\n" && failing.stderr == "err\n")
            #expect(throws: LabError.self) { try lab.ip(["link", "set", "nonexistent0", "up"]) }
        }
    }

    @Test func removeStaleCleansUpAKilledRunButSparesLiveLabs() async throws {
        try LabGate.require()
        let stale = NetworkLab.randomPrefix("spz").prefix(7).description  // e.g. spz1a2b
        // What a SIGKILLed run leaves: a namespace with a process inside, a bridge, a veth pair
        // and an owner marker whose process is gone.
        _ = try NetworkLab.runRoot(["ip", "netns", "add", "\(stale)-orphan"])
        _ = try NetworkLab.runRoot(["ip", "link", "add", "\(stale)br", "type", "bridge"])
        _ = try NetworkLab.runRoot([
            "ip", "link", "add", "\(stale)o0", "type", "veth", "peer", "name", "eth0", "netns", "\(stale)-orphan"
        ])
        _ = try NetworkLab.runRoot(["sh", "-c", "nsenter --net=/run/netns/\(stale)-orphan sleep 60 >/dev/null 2>&1 &"])
        try FileManager.default.createDirectory(atPath: NetworkLab.markerDirectory, withIntermediateDirectories: true)
        try "999999999 1\n".write(toFile: "\(NetworkLab.markerDirectory)/\(stale)", atomically: true, encoding: .utf8)
        // The backgrounded nsenter needs a moment to enter the namespace.
        var orphanPIDs: [pid_t] = []
        let entered = try Self.eventually {
            orphanPIDs = try NetworkLab.runRoot(["ip", "netns", "pids", "\(stale)-orphan"]).stdout
                .split(whereSeparator: \.isNewline).compactMap { pid_t($0) }
            return orphanPIDs.count == 1
        }
        #expect(entered)

        // A live lab whose names also start with the stale prefix.
        try await withLab(prefix: stale + "ab") { live in
            let pod = try live.addPod(name: "live", ipv4: "10.199.4.2/24")
            let removed = try NetworkLab.removeStale(prefix: stale)
            #expect(Set(removed) == ["netns \(stale)-orphan", "link \(stale)br", "link \(stale)o0"])
            for pid in orphanPIDs {
                #expect(Self.eventually { kill(pid, 0) == -1 && errno == ESRCH })
            }
            #expect(!FileManager.default.fileExists(atPath: "\(NetworkLab.markerDirectory)/\(stale)"))
            #expect(
                Set(NetworkLab.leftovers(prefix: stale)) == [
                    "netns \(pod.namespace)", "link \(live.bridge)", "link \(pod.hostInterface)"
                ])
            let stillWorks = try await live.run(in: pod, ["ip", "-o", "addr", "show", "dev", "eth0"])
            #expect(stillWorks.stdout.contains("10.199.4.2/24"))
        }
        #expect(NetworkLab.leftovers(prefix: stale) == [])
        #expect(try NetworkLab.removeStale(prefix: stale) == [])
    }
}
