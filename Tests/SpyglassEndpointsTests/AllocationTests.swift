import Foundation
import SpyglassFlow
import SpyglassTesting
import Synchronization
import Testing

@testable import SpyglassEndpoints

#if canImport(Glibc)
    import Glibc
#endif

/// Allocation check: the test binary re-runs itself with a tiny malloc-counting library preloaded
/// (`Fixtures/malloc_counter.c.txt`, compiled at test time), which counts malloc/calloc/realloc/memalign calls of the
/// one thread that switched counting on around the measured loop.
enum MallocCounter {
    typealias Start = @convention(c) () -> Void
    typealias Stop = @convention(c) () -> Int

    /// Counts allocations of `body`; nil when the counting library is not preloaded.
    static func count(_ body: () -> Void) -> Int? {
        guard let start = dlsym(nil, "spyglass_count_start"), let stop = dlsym(nil, "spyglass_count_stop") else {
            return nil
        }
        unsafeBitCast(start, to: Start.self)()
        body()
        return unsafeBitCast(stop, to: Stop.self)()
    }

    static func compiler() -> String? {
        ["/opt/swift/usr/bin/clang", "/usr/bin/clang", "/usr/bin/cc", "/usr/bin/gcc"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}

func allocationFixture() -> (EndpointResolver, [IPAddress], EndpointStore) {
    var infos: [EndpointInfo] = []
    for i in 0..<1000 {
        infos.append(
            EndpointInfo(
                prefixes: [IPPrefix(host: IPAddress(ipv4: 10, 1, UInt8(i / 250), UInt8(i % 250)))],
                namespace: "namespace-\(i % 7)",
                podName: "a-rather-long-pod-name-\(i)",
                labels: ["k8s:app=application-\(i % 10)", "k8s:io.kubernetes.pod.namespace=namespace-\(i % 7)"],
                workloads: [Workload(name: "workload-number-\(i % 10)", kind: "Deployment")]))
    }
    infos.append(EndpointInfo(prefixes: [net("10.0.0.0/8"), net("fd00::/8"), net("fd00:1::7")], labels: ["k8s:net=x"]))
    let store = makeStore([
        .pods: infos,
        .services: [
            EndpointInfo(
                prefixes: [net("10.96.0.10")], service: Service(name: "kube-dns-service", namespace: "kube-system"))
        ]
    ])
    let probes = [
        ip("10.1.0.7"), ip("10.2.3.4"), ip("192.0.2.1"), ip("fd00:1::7"), ip("fd00::9"), ip("2001:db8::1"),
        ip("::ffff:10.1.0.8")
    ]
    return (store.resolver, probes, store)
}

@Suite struct AllocationTests {
    static let isProbeProcess = ProcessInfo.processInfo.environment["SPYGLASS_ALLOC_PROBE"] == "1"

    /// Runs only inside the child process started by `lookupAndEnrichDoNotAllocate` (elsewhere it shows as skipped,
    /// not as a pass that asserted nothing).
    @Test(
        .enabled(
            if: AllocationTests.isProbeProcess, "the probe runs only in lookupAndEnrichDoNotAllocate's child process"))
    func allocationProbe() {
        let (resolver, probes, store) = allocationFixture()
        var flow = Flow(ip: IPHeader(source: ip("10.1.0.7"), destination: ip("10.96.0.10"), ipVersion: .ipv4))
        var found = 0
        func round() {
            // Index loop: in debug builds, `for x in array` itself allocates (unspecialised iterator).
            var j = 0
            while j < probes.count {
                if resolver.lookup(probes[j]) != nil { found += 1 }
                j += 1
            }
            _ = resolver.resolve(probes[2])
            _ = resolver.service(for: probes[1])
            resolver.enrich(&flow)
        }
        for _ in 0..<1000 { round() }  // warm up outside the count
        let sanity = MallocCounter.count { _ = [Int](repeating: 7, count: Int.random(in: 100...200)) }
        let n = MallocCounter.count { for _ in 0..<100_000 { round() } }
        withExtendedLifetime(store) {}
        #expect(found == 101_000 * 5)
        #expect(flow.destinationService?.name == "kube-dns-service")
        if let out = ProcessInfo.processInfo.environment["SPYGLASS_ALLOC_OUT"] {
            try? "\(sanity ?? -1) \(n ?? -1)".write(toFile: out, atomically: true, encoding: .utf8)
        }
    }

    @Test(.timeLimit(.minutes(2)), .enabled(if: Sanitizers.inactive, Sanitizers.reason))
    func lookupAndEnrichDoNotAllocate() throws {
        guard ProcessInfo.processInfo.environment["SPYGLASS_ALLOC_PROBE"] == nil else { return }
        guard let cc = MallocCounter.compiler() else {
            Issue.record("no C compiler; allocation not measured")
            return
        }
        let dir = TempDir()
        let lib = dir.path("malloc_counter.so")
        let build = Process()
        build.executableURL = URL(fileURLWithPath: cc)
        build.arguments = [
            "-shared", "-fPIC", "-O2", "-o", lib, "-x", "c",
            Fixtures.directory.appendingPathComponent("malloc_counter.c.txt").path
        ]
        try build.run()
        build.waitUntilExit()
        try #require(build.terminationStatus == 0, "compiling the malloc counter failed")
        let out = dir.path("count.txt")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = ["--testing-library", "swift-testing", "--filter", "allocationProbe"]
        var env = ProcessInfo.processInfo.environment
        env["SPYGLASS_ALLOC_PROBE"] = "1"
        env["LD_PRELOAD"] = lib
        env["SPYGLASS_ALLOC_OUT"] = out
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "the probe failed")
        let parts = try String(contentsOfFile: out, encoding: .utf8).split(separator: " ").compactMap { Int($0) }
        try #require(parts.count == 2)
        #expect(parts[0] >= 1, "the counter sees no allocations at all: \(parts[0])")
        #expect(parts[1] == 0, "mallocs during 700,000 lookups and 100,000 enrichments: \(parts[1])")
        print(
            "endpoint lookups: \(parts[1]) mallocs in 700,000 lookups + 100,000 enrichments (sanity: \(parts[0]) for one array)"
        )
    }

    let ip4 = IPAddress(ipv4: 10, 1, 1, 1)

    /// Lookups per second (debug builds are far slower than release; the figure is printed, not asserted).
    @Test(.timeLimit(.minutes(1))) func lookupThroughput() {
        var infos: [EndpointInfo] = []
        for i in 0..<10_000 {
            infos.append(
                EndpointInfo(
                    prefixes: [
                        IPPrefix(
                            host: IPAddress(ipv4: 10, UInt8(i / 65536 + 1), UInt8((i / 256) % 256), UInt8(i % 256)))
                    ],
                    namespace: "ns\(i % 50)", podName: "pod-\(i)", labels: ["k8s:app=a\(i % 300)"]))
        }
        infos.append(EndpointInfo(prefixes: [net("10.0.0.0/8"), net("172.16.0.0/12")], labels: ["k8s:net=x"]))
        let started = ContinuousClock.now
        let store = makeStore([.pods: infos])
        let built = ContinuousClock.now - started
        let resolver = store.resolver
        var flow = Flow(ip: IPHeader(source: ip("10.1.3.7"), destination: ip("8.8.8.8"), ipVersion: .ipv4))
        let rounds = 200_000
        let t0 = ContinuousClock.now
        var hits = 0
        for i in 0..<rounds {
            flow.ip!.source = IPAddress(ipv4: 10, 1, UInt8((i >> 8) % 39), UInt8(i & 0xff))
            resolver.enrich(&flow)
            if flow.source?.podName.isEmpty == false { hits += 1 }
        }
        let dt = ContinuousClock.now - t0
        let secs = Double(dt.components.seconds) + Double(dt.components.attoseconds) / 1e18
        let perSecond = Double(rounds * 2) / secs
        print(
            "endpoint lookups: \(Int(perSecond)) lookups/s (\(rounds) enrichments of 2 lookups, 10,001 prefixes; snapshot build \(built))"
        )
        #expect(hits == rounds)
    }
}
