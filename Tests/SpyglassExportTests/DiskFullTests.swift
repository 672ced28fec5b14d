import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

/// A full disk on a 256 KiB tmpfs: export keeps accepting without blocking, losses are counted, writing resumes
/// when space returns and a `lost_events` record says how many events are missing. Needs root (mount); without
/// root it is skipped with a reason, except under CI=true where it must run.
@Suite(.serialized) struct DiskFullTests {
    static var canRun: Bool { geteuid() == 0 || ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test(.enabled(if: canRun, "needs root to mount a tmpfs (under CI=true it always runs)"))
    func fullDisk() throws {
        let dir = TestDir.make("full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mount = Shell.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir])
        try #require(mount.status == 0, "mount failed: \(mount.output)")
        defer {
            let u = Shell.run(["umount", "-l", dir])
            #expect(u.status == 0, "umount failed: \(u.output)")
        }
        // Ballast to free later.
        let ballast = dir + "/ballast"
        FileManager.default.createFile(atPath: ballast, contents: Data(repeating: 0x61, count: 96 * 1024))
        let path = dir + "/events.log"
        let ex = FlowExporters(
            spec: try .test(path: path, maxBytes: 10 * 1024 * 1024), nodeName: "kind-worker", logger: testLogger)
        let s = ex.staticForTesting!

        let start = ContinuousClock.now
        let first = 400  // ~400 KB: more than the tmpfs holds
        for i in 0..<first { ex.export(numbered(i)) }
        #expect(ContinuousClock.now - start < .seconds(2), "export blocked")
        #expect(eventually { s.written + (s.dropped["no_space"] ?? 0) == UInt64(first) })
        let lostOnDisk = s.dropped["no_space"] ?? 0
        #expect(lostOnDisk > 0)
        #expect(s.written > 0)
        let m = ex.selfMetrics().first { $0.name == "spyglass_export_dropped_total" }!
        #expect(
            m.samples.contains {
                $0.labels == ["exporter": "static", "reason": "no_space"] && $0.value == Double(lostOnDisk)
            })

        // Space returns.
        try FileManager.default.removeItem(atPath: ballast)
        let writtenBefore = s.written
        let more = 20
        for i in first..<(first + more) { ex.export(numbered(i)) }
        #expect(eventually { s.written == writtenBefore + UInt64(more) })
        ex.shutdown(timeout: .seconds(5))
        #expect(s.dropped["no_space"] == lostOnDisk)

        // While the disk was full, a lost_events record could squeeze into the space freed by truncating a torn
        // write; together the records count every lost event, and the last one comes before the resumed lines.
        let lines = readAllLines(path: path).lines
        let lost = lines.enumerated().filter {
            $0.element.hasPrefix(#"{"lost_events":{"source":"OBSERVER_EVENTS_QUEUE","num_events_lost":""#)
        }
        #expect(lost.count >= 1 && UInt64(lost.count) == s.lostRecordsWritten)
        let counts = lost.compactMap { l -> UInt64? in
            guard let r = l.element.range(of: #""num_events_lost":""#) else { return nil }
            return UInt64(l.element[r.upperBound...].prefix { $0.isNumber })
        }
        #expect(counts.reduce(0, +) == lostOnDisk)
        #expect(lost.last!.offset == lines.count - more - 1)
        #expect(lost.allSatisfy { $0.element.contains(#""node_name":"kind-worker","time":""#) })
        let seq = sequenceNumbers(lines)
        #expect(seq.count == Int(s.written))
        #expect(Array(seq.suffix(more)) == Array(first..<(first + more)))  // writing resumed
        #expect(seq == seq.sorted())
        #expect(lines.allSatisfy { HubbleSchema.problems(line: $0).isEmpty })  // no torn line
    }
}
