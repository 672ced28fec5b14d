import Glibc

/// Blocks SIGINT and SIGTERM for the process and waits for them synchronously. Create it before starting any
/// thread: threads inherit the blocked mask, so the signal is delivered only to the waiter.
public struct ShutdownSignals: Sendable {
    private let set: sigset_t

    public init() {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGINT)
        sigaddset(&s, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &s, nil)
        set = s
    }

    /// Waits for SIGINT/SIGTERM, or until the timeout; returns the signal's name, nil on timeout.
    public func wait(timeoutNs: UInt64? = nil) -> String? {
        var s = set
        while true {
            var received: Int32 = 0
            if let timeoutNs {
                var ts = timespec(tv_sec: Int(timeoutNs / 1_000_000_000), tv_nsec: Int(timeoutNs % 1_000_000_000))
                received = sigtimedwait(&s, nil, &ts)
                if received < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
            } else {
                if sigwait(&s, &received) != 0 { continue }
            }
            return received == SIGINT ? "SIGINT" : "SIGTERM"
        }
    }

    /// `wait` on a dedicated thread, so an async caller does not block the cooperative pool.
    public func waitOffThread(timeoutNs: UInt64? = nil) async -> String? {
        await withCheckedContinuation { continuation in
            let t = Thread { continuation.resume(returning: self.wait(timeoutNs: timeoutNs)) }
            t.name = "spyglass-signals"
            t.start()
        }
    }
}

import Foundation
