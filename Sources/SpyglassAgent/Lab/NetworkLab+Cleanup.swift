import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension NetworkLab {
    /// Removes everything this lab created: spawned processes (and anything else still running
    /// in its namespaces), namespaces, veths, the bridge, the work directory and the owner marker.
    /// Idempotent and best effort: it keeps going after a failure and returns what it could not remove.
    @discardableResult
    public func teardown() -> [String] {
        let snapshot: State? = state.withLock { state in
            guard !state.tornDown else { return nil }
            state.tornDown = true
            return state
        }
        guard let snapshot else { return [] }
        var problems: [String] = []

        for process in snapshot.processes {
            let r = process.terminate(grace: .milliseconds(500))
            if r.signal == nil && r.exitStatus < 0 {
                problems.append("process \(process.pid) (\(process.command.first ?? "")) did not end")
            }
        }
        for namespace in snapshot.namespaces.reversed() {
            problems += Self.deleteNamespace(namespace)
        }
        for link in snapshot.links.reversed() where Self.linkExists(link) {
            let r = try? Self.runRoot(["ip", "link", "del", link])
            if Self.linkExists(link) {
                problems.append("link \(link): \(r.map(\.failureSummary) ?? "ip failed to start")")
            }
        }
        try? FileManager.default.removeItem(atPath: workDirectory)
        unlink("\(Self.markerDirectory)/\(prefix)")
        return problems
    }

    /// Names of namespaces and root-namespace links that start with `prefix`.
    public static func leftovers(prefix: String) -> [String] {
        namespaceNames().filter { $0.hasPrefix(prefix) }.map { "netns \($0)" }
            + linkNames().filter { $0.hasPrefix(prefix) }.map { "link \($0)" }
    }

    /// Removes leftovers of earlier runs that were killed before tearing down: namespaces (and
    /// the processes still inside them), links and work directories whose names start with
    /// `prefix`. Labs whose owner process is still alive are left alone, so parallel runs do
    /// not destroy each other. Returns what was removed.
    ///
    /// `prefix` must be 3–12 characters of `a-z0-9` and must not look like a system interface name
    /// (eth, veth, docker, br, lxc, …).
    @discardableResult
    public static func removeStale(prefix: String) throws(LabError) -> [String] {
        try validatePrefix(prefix, maxLength: 12)
        for reserved in [
            "eth", "en", "wl", "veth", "lo", "docker", "br", "lxc", "cilium", "virbr", "tun", "tap", "ifb", "bond",
            "vxlan", "dummy", "flannel", "cni", "kube"
        ]
        where prefix.hasPrefix(reserved) || reserved.hasPrefix(prefix) {
            throw LabError(
                "refusing to remove links starting with \"\(prefix)\": it overlaps system interface names (\(reserved)…)"
            )
        }
        if let reason = missingPrerequisites() { throw LabError("cannot remove stale labs: \(reason)") }

        // Live labs, by their own prefix.
        var live: [String] = []
        let markers = (try? FileManager.default.contentsOfDirectory(atPath: markerDirectory)) ?? []
        var removed: [String] = []
        for labPrefix in markers where labPrefix.hasPrefix(prefix) || prefix.hasPrefix(labPrefix) {
            let path = "\(markerDirectory)/\(labPrefix)"
            if let token = try? String(contentsOfFile: path, encoding: .utf8), ownerIsAlive(token) {
                live.append(labPrefix)
            } else if labPrefix.hasPrefix(prefix) {
                unlink(path)
            }
        }
        func isLive(_ name: String) -> Bool { live.contains { name.hasPrefix($0) } }

        // Listed before the namespaces go: deleting a namespace also removes the veths inside
        // it and their root-namespace peers.
        let staleLinks = linkNames().filter { $0.hasPrefix(prefix) && !isLive($0) }
        for namespace in namespaceNames() where namespace.hasPrefix(prefix) && !isLive(namespace) {
            _ = deleteNamespace(namespace)
            removed.append("netns \(namespace)")
        }
        for link in staleLinks {
            // Deleting one veth end removes its peer, so a link may already be gone.
            if linkExists(link) { _ = try? runRoot(["ip", "link", "del", link]) }
            removed.append("link \(link)")
        }
        let temp = NSTemporaryDirectory()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: temp)) ?? [] {
            let labName = entry.dropFirst("spyglass-lab-".count)
            if entry.hasPrefix("spyglass-lab-\(prefix)") && !isLive(String(labName)) {
                try? FileManager.default.removeItem(atPath: temp + entry)
            }
        }
        let stillThere = leftovers(prefix: prefix).filter { !isLive(String($0.split(separator: " ").last ?? "")) }
        if !stillThere.isEmpty {
            throw LabError("could not remove stale lab resources: \(stillThere.joined(separator: ", "))")
        }
        return removed
    }

    // MARK: - helpers

    /// Kills whatever runs in the namespace, then deletes it (which also destroys veths inside
    /// it, and with them their peers in the root namespace).
    static func deleteNamespace(_ namespace: String) -> [String] {
        guard FileManager.default.fileExists(atPath: "/run/netns/\(namespace)") else { return [] }
        if let pids = try? runRoot(["ip", "netns", "pids", namespace]) {
            for pid in pids.stdout.split(whereSeparator: \.isNewline).compactMap({ pid_t($0) }) where pid != getpid() {
                kill(pid, SIGKILL)
            }
        }
        let r = try? runRoot(["ip", "netns", "del", namespace])
        if FileManager.default.fileExists(atPath: "/run/netns/\(namespace)") {
            return ["netns \(namespace): \(r.map(\.failureSummary) ?? "ip failed to start")"]
        }
        return []
    }

    static func namespaceNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []).sorted()
    }

    /// Names of links in the root namespace (without the `@peer` suffix).
    static func linkNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? []).sorted()
    }

    static func linkExists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "/sys/class/net/\(name)")
    }

    /// A command in the root namespace, outside any lab (output files in the temp directory).
    static func runRoot(_ argv: [String], timeout: Duration = commandTimeout) throws(LabError) -> CommandResult {
        let process = try LabProcess(
            argv, namespace: nil, timeout: timeout, outputDirectory: NSTemporaryDirectory(), removeOutputFiles: true)
        return process.wait(timeout: timeout + .seconds(2)) ?? process.terminate(grace: .milliseconds(100))
    }

    /// "pid starttime" of a process, from /proc/<pid>/stat (start time defeats pid reuse).
    static func ownerToken(pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "comm)": state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return "\(pid) \(fields[19])\n"
    }

    static func ownerIsAlive(_ token: String) -> Bool {
        guard let pid = token.split(separator: " ").first.flatMap({ pid_t($0) }) else { return false }
        return ownerToken(pid: pid) == token
    }
}
