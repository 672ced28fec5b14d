import Foundation
import SpyglassSupport
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A process started by the lab, in its own process group (so a kill reaches its children too),
/// with stdin from /dev/null and stdout/stderr captured in files. It is killed when its timeout
/// expires and when the lab is torn down.
public final class LabProcess: Sendable {
    public let pid: pid_t
    public let command: [String]
    public let namespace: String?
    private let stdoutPath: String
    private let stderrPath: String
    private let removeOutputFiles: Bool

    private struct State {
        var rawStatus: Int32?
        var timedOut = false
    }

    private let state = PThreadMutex(State())

    /// Starts `argv` (looked up in PATH), inside `namespace` (entered with `nsenter --net`, which,
    /// unlike `ip netns exec`, does not remount /sys). A watchdog kills the process group after `timeout`.
    init(
        _ argv: [String], namespace: String?, timeout: Duration, outputDirectory: String, removeOutputFiles: Bool
    ) throws(LabError) {
        guard !argv.isEmpty else { throw LabError("empty command") }
        command = argv
        self.namespace = namespace
        self.removeOutputFiles = removeOutputFiles
        let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        stdoutPath = "\(outputDirectory)/\(tag).out"
        stderrPath = "\(outputDirectory)/\(tag).err"
        var full = argv
        if let namespace { full = ["nsenter", "--net=/run/netns/\(namespace)", "--"] + argv }
        pid = try Self.spawn(full, stdout: stdoutPath, stderr: stderrPath)

        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout.totalNanoseconds))
        DispatchQueue.global().asyncAfter(deadline: deadline) { [weak self] in
            guard let self, self.isRunning else { return }
            self.state.withLock { $0.timedOut = true }
            _ = self.kill(signal: SIGKILL)
        }
    }

    deinit {
        if removeOutputFiles {
            unlink(stdoutPath)
            unlink(stderrPath)
        }
    }

    // MARK: status

    /// Reaps the process if it has exited. Must be the only place that calls waitpid for this pid.
    private func poll() -> Int32? {
        state.withLock { state in
            if let raw = state.rawStatus { return raw }
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                state.rawStatus = status
                return status
            }
            if r < 0 && errno == ECHILD {
                state.rawStatus = 0x7f00  // someone else reaped it: unknown status, treat as exit 127
                return state.rawStatus
            }
            return nil
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits up to `timeout` for the process to end; nil if it is still running then.
    public func wait(timeout: Duration) -> CommandResult? {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        var pause = Duration.milliseconds(1)
        while poll() == nil {
            if clock.now >= end { return nil }
            Thread.sleep(forTimeInterval: Double(pause.totalNanoseconds) / 1e9)
            pause = min(pause * 2, .milliseconds(20))
        }
        return result
    }

    /// Sends `signal` to the whole process group, unless the process was already reaped
    /// (its pid could belong to someone else by then). Returns false if it had already ended.
    @discardableResult
    public func kill(signal: Int32 = SIGTERM) -> Bool {
        state.withLock { state in
            guard state.rawStatus == nil else { return false }
            // Not yet reaped: the pid (and so the group id) is still ours, even as a zombie.
            if Glibc.kill(-pid, signal) != 0 { _ = Glibc.kill(pid, signal) }
            return true
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; returns the result once the process is reaped.
    @discardableResult
    public func terminate(grace: Duration = .seconds(2)) -> CommandResult {
        if kill(signal: SIGTERM), let done = wait(timeout: grace) { return done }
        kill(signal: SIGKILL)
        return wait(timeout: .seconds(10)) ?? result
    }

    /// The result so far: exit status fields are meaningful once the process has ended.
    public var result: CommandResult {
        let (raw, timedOut) = state.withLock { ($0.rawStatus, $0.timedOut) }
        var exit: Int32 = -1
        var signal: Int32?
        if let raw {
            let sig = raw & 0x7f
            if sig == 0 {
                exit = (raw >> 8) & 0xff
            } else {
                signal = sig
                exit = 128 + sig
            }
        }
        return CommandResult(
            command: command, namespace: namespace, exitStatus: exit, signal: signal, timedOut: timedOut,
            stdout: stdout, stderr: stderr
        )
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    // MARK: spawning

    private static func spawn(_ argv: [String], stdout: String, stderr: String) throws(LabError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        )

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, environ)
        guard rc == 0 else {
            throw LabError("cannot start `\(argv.joined(separator: " "))`: \(Errno.describe(rc))")
        }
        return pid
    }
}

extension Duration {
    var totalNanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}
