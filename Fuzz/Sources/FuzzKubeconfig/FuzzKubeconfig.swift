import Foundation
import FuzzSupport
import SpyglassEndpoints

/// A kubeconfig file (`--k8s-kubeconfig-path`), read the way the agent reads it: from a file.
///
/// Invariants: an accepted file gives a server URL without a trailing slash and credentials whose transport check
/// answers (throws or not) without crashing; a refused one gives a non-empty error.
nonisolated(unsafe) private let path = NSTemporaryDirectory() + "spyglass-fuzz-kubeconfig-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKubeconfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Foundation's FileManager.contents(atPath:) leaks its 4 KiB read buffer for an empty file (LeakSanitizer,
    // finding 5 in RESULTS.md); the agent reads a kubeconfig once, so the harness leaves empty files out.
    guard size > 0 else { return 0 }
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else {
        invariantFailed("cannot write \(path)")
    }
    for context in [nil, "dev"] as [String?] {
        do throws(KubeConfigError) {
            let c = try KubeCredentials.kubeconfig(path: path, context: context)
            if c.server.isEmpty || c.server.hasSuffix("/") { invariantFailed("server \(c.server.debugDescription)") }
            do throws(KubeConfigError) { try c.checkTransport() } catch { _ = error.description }
            _ = c.securityWarnings
        } catch {
            if error.description.isEmpty { invariantFailed("empty error") }
        }
    }
    return 0
}

@_cdecl("FuzzKubeconfig_main")
public func FuzzKubeconfigMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzKubeconfig(data ?? emptyInput, size) }
}
