import Foundation
import Testing

/// Gate for tests that need root and kernel features. On a machine without them the tests are skipped with a
/// reason; under `CI=true` they always run (and fail if the machine cannot run them): CI must never skip them.
public enum KernelTestGate {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }
    /// Use as `.enabled(if: KernelTestGate.enabled, KernelTestGate.reason)`.
    public static var enabled: Bool { isRoot || isCI }
    public static let reason: Comment =
        "needs root and a kernel with BTF, tc clsact and ring buffers (run as root; under CI=true it always runs)"
}
