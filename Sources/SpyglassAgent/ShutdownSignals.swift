import Foundation
import Glibc

/// SIGINT/SIGTERM as an event to wait for, and SIGHUP as a request to reload. A process-wide handler writes the
/// signal number into a pipe (the only async-signal-safe thing it does); `wait` reads it. Unlike blocking the
/// signals per thread, this works no matter which threads (Swift's cooperative pool included) existed before.
/// SIGHUP's default action would end the process and leave its tc hooks attached; here it never stops anything.
public struct ShutdownSignals: Sendable {
    public init() {
        ShutdownSignals.installOnce
    }

    private static let installOnce: Void = {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { fatalError("spyglass: cannot create the signal pipe") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        signalPipe = (fds[0], fds[1])
        for s in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipe.write, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(s, &action, nil)
        }
    }()

    /// Waits for SIGINT/SIGTERM, or until the timeout; returns the signal's name, nil on timeout.
    /// Each SIGHUP meanwhile calls `onReload` (on the waiting thread) and the wait goes on.
    public func wait(timeoutNs: UInt64? = nil, onReload: () -> Void = {}) -> String? {
        let deadline = timeoutNs.map { DispatchTime.now().uptimeNanoseconds + $0 }
        while true {
            var remainingMs: Int32 = -1
            if let deadline {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return nil }
                remainingMs = Int32(min((deadline - now) / 1_000_000 + 1, UInt64(Int32.max)))
            }
            var pfd = pollfd(fd: signalPipe.read, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, remainingMs)
            if n > 0 {
                var byte: UInt8 = 0
                guard read(signalPipe.read, &byte, 1) == 1 else { continue }
                switch Int32(byte) {
                case SIGHUP: onReload()
                case SIGINT: return "SIGINT"
                default: return "SIGTERM"
                }
            }
        }
    }

    /// `wait` on a dedicated thread, so an async caller does not block the cooperative pool.
    public func waitOffThread(timeoutNs: UInt64? = nil, onReload: @escaping @Sendable () -> Void = {}) async -> String?
    {
        await withCheckedContinuation { continuation in
            let t = Thread { continuation.resume(returning: self.wait(timeoutNs: timeoutNs, onReload: onReload)) }
            t.name = "spyglass-signals"
            t.start()
        }
    }
}

/// The self-pipe; written only by the signal handler, read only by `wait`.
nonisolated(unsafe) private var signalPipe: (read: Int32, write: Int32) = (-1, -1)
