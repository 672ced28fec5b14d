import Foundation
import SpyglassSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway network topology of namespaces, veth pairs and one Linux bridge, for the demo and
/// for root-only end-to-end tests.
///
/// Every name starts with the lab's `prefix` (`spy` + 6 hex digits by default), so leftovers of
/// a killed run can be found and removed (`removeStale(prefix:)`). Interface names must fit
/// Linux's 15 characters. IPv6 is disabled by default on every interface the lab creates (no
/// router solicitations or MLD reports to disturb exact packet counts). Every command runs with
/// a timeout. `teardown()` (run by `withLab` whatever happens) removes processes, namespaces,
/// veths and the bridge; it is idempotent.
///
/// Thread-safe: state is behind a mutex. Operations block while their `ip` commands run; the
/// `async` variants of `run` move that wait off the caller's thread.
public final class NetworkLab: Sendable {
    public static let interfaceNameLimit = 15
    /// Directory of owner markers (`<prefix>` → "pid starttime") that protect live labs from `removeStale`.
    static let markerDirectory = "/run/spyglass-lab"
    /// Default timeout of the lab's own `ip`/`sysctl` commands.
    public static let commandTimeout: Duration = .seconds(10)

    public let prefix: String
    /// The bridge in the root namespace (`<prefix>br`), without an IP address.
    public let bridge: String
    /// Holds output files of spawned processes; removed on teardown.
    public let workDirectory: String

    struct State {
        var namespaces: [String] = []
        var links: [String] = []
        var processes: [LabProcess] = []
        var pods: [Pod] = []
        var nextPodIndex = 0
        var bridgeCreated = false
        var tornDown = false
    }

    let state = PThreadMutex(State())

    /// `base` followed by 6 random hex digits, e.g. `spy3fa9c1`.
    public static func randomPrefix(_ base: String = "spy") -> String {
        base + String(format: "%06x", UInt32.random(in: 0...0xFF_FFFF))
    }

    /// Creates an empty lab (nothing is created in the kernel until asked) and records this
    /// process as its owner. The prefix must be 3–10 characters of `a-z0-9`, so `<prefix>br`
    /// and pod interfaces fit in 15 characters.
    public init(prefix: String = NetworkLab.randomPrefix()) throws(LabError) {
        try Self.validatePrefix(prefix, maxLength: 10)
        if let reason = Self.missingPrerequisites() { throw LabError("network lab \(prefix): \(reason)") }
        self.prefix = prefix
        self.bridge = prefix + "br"
        self.workDirectory = NSTemporaryDirectory() + "spyglass-lab-\(prefix)"
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: Self.markerDirectory, withIntermediateDirectories: true)
            try Self.ownerToken(pid: getpid())!.write(
                toFile: "\(Self.markerDirectory)/\(prefix)", atomically: true, encoding: .utf8)
        } catch {
            throw LabError("network lab \(prefix): cannot create \(workDirectory) or its owner marker: \(error)")
        }
    }

    deinit {
        teardown()
    }

    // MARK: - prerequisites

    public static var isRoot: Bool { geteuid() == 0 }

    /// Why labs cannot be built here (not root, a tool missing), or nil when they can.
    public static func missingPrerequisites() -> String? {
        guard isRoot else { return "needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces" }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for tool in ["ip", "nsenter", "sysctl"] {
            let found = path.split(separator: ":").contains {
                FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
            }
            if !found { return "`\(tool)` not found in PATH" }
        }
        return nil
    }

    static func validatePrefix(_ prefix: String, maxLength: Int) throws(LabError) {
        guard (3...maxLength).contains(prefix.count),
            prefix.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }),
            prefix.first!.isLetter
        else {
            throw LabError(
                "lab prefix \"\(prefix)\" must be 3-\(maxLength) characters of a-z0-9, starting with a letter")
        }
    }

    // MARK: - commands

    /// Runs `argv` in `namespace` (nil: the root namespace) and waits for it, at most `timeout`
    /// (then its process group is killed and the result says `timedOut`).
    public func run(inNamespace namespace: String?, _ argv: [String], timeout: Duration = .seconds(10)) throws(LabError)
        -> CommandResult
    {
        let process = try LabProcess(
            argv, namespace: namespace, timeout: timeout, outputDirectory: workDirectory, removeOutputFiles: true)
        return process.wait(timeout: timeout + .seconds(2)) ?? process.terminate(grace: .milliseconds(100))
    }

    /// Runs `argv` inside the pod's namespace; see `run(inNamespace:_:timeout:)`.
    public func run(in pod: Pod, _ argv: [String], timeout: Duration = .seconds(10)) throws(LabError) -> CommandResult {
        try run(inNamespace: pod.namespace, argv, timeout: timeout)
    }

    /// Async variant: the blocking wait happens on a dedicated thread.
    public func run(in pod: Pod, _ argv: [String], timeout: Duration = .seconds(10)) async throws -> CommandResult {
        try await onDedicatedThread { try self.run(inNamespace: pod.namespace, argv, timeout: timeout) }
    }

    /// Async variant: the blocking wait happens on a dedicated thread.
    public func run(inNamespace namespace: String?, _ argv: [String], timeout: Duration = .seconds(10)) async throws
        -> CommandResult
    {
        try await onDedicatedThread { try self.run(inNamespace: namespace, argv, timeout: timeout) }
    }

    /// Starts a long-running process in `pod`'s namespace. It is killed after `timeout`, or on teardown.
    public func spawn(in pod: Pod, _ argv: [String], timeout: Duration = .seconds(120)) throws(LabError) -> LabProcess {
        try spawn(inNamespace: pod.namespace, argv, timeout: timeout)
    }

    /// Starts a long-running process in `namespace` (nil: root namespace). Killed after `timeout`, or on teardown.
    public func spawn(inNamespace namespace: String?, _ argv: [String], timeout: Duration = .seconds(120))
        throws(LabError) -> LabProcess
    {
        try ensureNotTornDown()
        let process = try LabProcess(
            argv, namespace: namespace, timeout: timeout, outputDirectory: workDirectory, removeOutputFiles: false)
        state.withLock { $0.processes.append(process) }
        return process
    }

    /// Loads an nftables ruleset (`nft -f -` syntax) in a pod's namespace; throws with nft's message if it is refused.
    public func nft(in pod: Pod, _ ruleset: String) throws(LabError) {
        let r = try run(in: pod, ["bash", "-c", "nft -f - <<'EOF'\n\(ruleset)\nEOF"])
        guard r.succeeded else { throw LabError("nft in \(pod.namespace): \(r.stderr)") }
    }

    /// Runs `ip args…` (in `namespace` when given) and throws if it fails.
    @discardableResult
    public func ip(_ args: [String], namespace: String? = nil) throws(LabError) -> CommandResult {
        let result = try run(inNamespace: namespace, ["ip"] + args, timeout: Self.commandTimeout)
        guard result.succeeded else { throw LabError.commandFailed(result) }
        return result
    }

    /// Reads the namespace's `/proc/net/snmp`.
    public func snmp(inNamespace namespace: String) throws(LabError) -> SNMPCounters {
        let result = try run(inNamespace: namespace, ["cat", "/proc/net/snmp"], timeout: Self.commandTimeout)
        guard result.succeeded else { throw LabError.commandFailed(result) }
        return try SNMPCounters.parse(result.stdout)
    }

    public func snmp(_ pod: Pod) throws(LabError) -> SNMPCounters {
        try snmp(inNamespace: pod.namespace)
    }

    private func ensureNotTornDown() throws(LabError) {
        if state.withLock({ $0.tornDown }) { throw LabError("network lab \(prefix) was torn down") }
    }

    // MARK: - building blocks

    /// Creates network namespace `<prefix>-<suffix>` with `lo` up (IPv6 disabled unless asked)
    /// and returns its name.
    @discardableResult
    public func addNamespace(_ suffix: String, disableIPv6: Bool = true) throws(LabError) -> String {
        try ensureNotTornDown()
        guard !suffix.isEmpty, suffix.count <= 40,
            suffix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw LabError("namespace suffix \"\(suffix)\" must be 1-40 characters of a-z A-Z 0-9 - _") }
        let name = "\(prefix)-\(suffix)"
        try ip(["netns", "add", name])
        state.withLock { $0.namespaces.append(name) }
        if disableIPv6 { try self.disableIPv6(namespace: name) }
        try ip(["link", "set", "lo", "up"], namespace: name)
        return name
    }

    /// Creates the lab bridge (no address, IPv6 off, up) if it does not exist yet.
    public func createBridge() throws(LabError) {
        try ensureNotTornDown()
        if state.withLock({ $0.bridgeCreated }) { return }
        try ip(["link", "add", bridge, "type", "bridge"])
        state.withLock {
            $0.bridgeCreated = true
            $0.links.append(bridge)
        }
        try disableIPv6(interface: bridge)
        try ip(["link", "set", bridge, "up"])
    }

    /// Creates a veth pair: `name` in the root namespace, `peer` directly inside `peerNamespace`
    /// (or in the root namespace when nil). Both stay down.
    public func addVethPair(_ name: String, peer: String, peerNamespace: String?, disableIPv6: Bool = true)
        throws(LabError)
    {
        try ensureNotTornDown()
        try Self.validateInterfaceName(name)
        try Self.validateInterfaceName(peer)
        var args = ["link", "add", name, "type", "veth", "peer", "name", peer]
        if let peerNamespace { args += ["netns", peerNamespace] }
        try ip(args)
        state.withLock { $0.links.append(name) }
        if disableIPv6 {
            try self.disableIPv6(interface: name)
            // A peer created inside a namespace inherits that namespace's `default` setting.
            if peerNamespace == nil { try self.disableIPv6(interface: peer) }
        }
    }

    /// Enslaves a root-namespace interface to the lab bridge.
    public func attachToBridge(_ interface: String) throws(LabError) {
        try createBridge()
        try ip(["link", "set", interface, "master", bridge])
    }

    public func setLinkUp(_ interface: String, namespace: String? = nil) throws(LabError) {
        try ip(["link", "set", interface, "up"], namespace: namespace)
    }

    /// Adds `cidr` (`10.199.0.2/24` or an IPv6 CIDR; IPv6 without duplicate address detection).
    public func addAddress(_ cidr: String, interface: String, namespace: String?) throws(LabError) {
        let v6 = cidr.contains(":")
        try ip(
            (v6 ? ["-6"] : []) + ["addr", "add", cidr, "dev", interface] + (v6 ? ["nodad"] : []), namespace: namespace)
    }

    /// `ip route add <destination> [via <gateway>] [dev <interface>]` in `namespace`.
    public func addRoute(
        _ destination: String, via gateway: String? = nil, interface: String? = nil, namespace: String?
    ) throws(LabError) {
        var args = ["route", "add", destination]
        if let gateway { args += ["via", gateway] }
        if let interface { args += ["dev", interface] }
        if destination.contains(":") || (gateway?.contains(":") ?? false) { args.insert("-6", at: 0) }
        try ip(args, namespace: namespace)
    }

    public func addRoute(in pod: Pod, _ destination: String, via gateway: String? = nil) throws(LabError) {
        try addRoute(destination, via: gateway, interface: pod.interface, namespace: pod.namespace)
    }

    /// Disables IPv6 on `interface` (nil: `all` and `default`, so interfaces created later start
    /// without IPv6) in `namespace` (nil: root namespace). A kernel without IPv6 is fine.
    public func disableIPv6(interface: String? = nil, namespace: String? = nil) throws(LabError) {
        let keys =
            interface.map { ["net/ipv6/conf/\($0)/disable_ipv6"] }
            ?? ["net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"]
        if namespace == nil {
            // Our own process is in the root namespace: write the files directly.
            for key in keys {
                let path = "/proc/sys/\(key)"
                guard FileManager.default.fileExists(atPath: path) else {
                    if FileManager.default.fileExists(atPath: "/proc/sys/net/ipv6") {
                        throw LabError("cannot disable IPv6: \(path) does not exist")
                    }
                    continue
                }
                do {
                    try "1\n".write(toFile: path, atomically: false, encoding: .utf8)
                } catch {
                    throw LabError("cannot write \(path): \(error)")
                }
            }
            return
        }
        let script = keys.map {
            "if [ -e /proc/sys/\($0) ]; then echo 1 > /proc/sys/\($0); elif [ -d /proc/sys/net/ipv6 ]; then echo missing \($0) >&2; exit 1; fi"
        }
        .joined(separator: "; ")
        let result = try run(inNamespace: namespace, ["sh", "-c", script], timeout: Self.commandTimeout)
        guard result.succeeded else { throw LabError.commandFailed(result) }
    }

    static func validateInterfaceName(_ name: String) throws(LabError) {
        guard !name.isEmpty, name.utf8.count <= interfaceNameLimit,
            name.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" && $0 != ":" })
        else {
            throw LabError(
                "interface name \"\(name)\" must be 1-\(interfaceNameLimit) characters without spaces, \"/\" or \":\"")
        }
    }

    /// The ifindex of `interface` in `namespace` (nil: root).
    public func ifindex(of interface: String, namespace: String? = nil) throws(LabError) -> Int {
        let out = try ip(["-o", "link", "show", "dev", interface], namespace: namespace).stdout
        guard let index = out.split(separator: ":").first.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) })
        else {
            throw LabError("cannot read ifindex of \(interface) from `ip -o link show`: \(out)")
        }
        return index
    }

    private func macAddress(of interface: String, namespace: String?) throws(LabError) -> String {
        let out = try ip(["-o", "link", "show", "dev", interface], namespace: namespace).stdout
        let words = out.split(whereSeparator: { $0 == " " || $0 == "\\" })
        guard let i = words.firstIndex(of: "link/ether"), i + 1 < words.count else {
            throw LabError("cannot read MAC address of \(interface): \(out)")
        }
        return String(words[i + 1])
    }

    // MARK: - pods

    /// Creates a pod: namespace `<prefix>-<name>`, veth `<prefix><first letter of name><n>` in the
    /// root namespace (enslaved to the lab bridge, up) ↔ `eth0` inside, with `ipv4` (CIDR, e.g.
    /// `10.199.0.2/24`) and optionally `ipv6` on eth0, and an optional default gateway.
    /// IPv6 is disabled on both veth ends and in the namespace unless an IPv6 address is given
    /// or `disableIPv6` is false.
    public func addPod(
        name: String, ipv4: String, ipv6: String? = nil, gateway: String? = nil, disableIPv6: Bool = true
    ) throws(LabError) -> Pod {
        try ensureNotTornDown()
        let (address4, _) = try Self.splitCIDR(ipv4, v6: false)
        let address6 = try ipv6.map { (cidr: String) throws(LabError) in try Self.splitCIDR(cidr, v6: true).0 }
        let noIPv6 = disableIPv6 && ipv6 == nil
        let index = state.withLock { s in
            defer { s.nextPodIndex += 1 }
            return s.nextPodIndex
        }
        let letter =
            name.first(where: { $0.isASCII && ($0.isLetter || $0.isNumber) }).map { String($0).lowercased() } ?? "p"
        let host = "\(prefix)\(letter)\(index)"

        try createBridge()
        let namespace = try addNamespace(name, disableIPv6: noIPv6)
        try addVethPair(host, peer: "eth0", peerNamespace: namespace, disableIPv6: noIPv6)
        try attachToBridge(host)
        try setLinkUp(host)
        try addAddress(ipv4, interface: "eth0", namespace: namespace)
        if let ipv6 { try addAddress(ipv6, interface: "eth0", namespace: namespace) }
        try setLinkUp("eth0", namespace: namespace)
        if let gateway { try addRoute("default", via: gateway, interface: "eth0", namespace: namespace) }

        let pod = Pod(
            name: name, namespace: namespace, hostInterface: host, hostIfindex: try ifindex(of: host),
            interface: "eth0", ifindex: try ifindex(of: "eth0", namespace: namespace),
            mac: try macAddress(of: "eth0", namespace: namespace),
            ipv4: address4, ipv4CIDR: ipv4, ipv6: address6, ipv6CIDR: ipv6
        )
        state.withLock { $0.pods.append(pod) }
        return pod
    }

    public var pods: [Pod] { state.withLock { $0.pods } }

    /// Checks `a.b.c.d/n` (or an IPv6 CIDR) and, for IPv4, that it lies in 10.0.0.0/8: the lab
    /// only uses test ranges inside its own namespaces.
    static func splitCIDR(_ cidr: String, v6: Bool) throws(LabError) -> (String, Int) {
        let parts = cidr.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let length = Int(parts[1]), (0...(v6 ? 128 : 32)).contains(length) else {
            throw LabError("address \"\(cidr)\" must be in CIDR form, e.g. \(v6 ? "fd00:199::2/64" : "10.199.0.2/24")")
        }
        let address = String(parts[0])
        var storage = [UInt8](repeating: 0, count: 16)
        guard inet_pton(v6 ? AF_INET6 : AF_INET, address, &storage) == 1 else {
            throw LabError("\"\(address)\" is not an IPv\(v6 ? 6 : 4) address")
        }
        if !v6 && storage[0] != 10 {
            throw LabError("lab IPv4 address \(cidr) must be in 10.0.0.0/8")
        }
        if v6 && (storage[0] & 0xfe) != 0xfc {
            throw LabError("lab IPv6 address \(cidr) must be a unique-local address (fc00::/7)")
        }
        return (address, length)
    }
}

/// Runs blocking work on a new thread and resumes the caller when it is done.
func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
