import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

@Suite(.serialized) struct RotationTests {
    @Test func tinyLimitKeepAllCompressed() throws {
        let dir = TestDir.make("rot")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let limit = 8 * 1024
        let ex = FlowExporters(
            spec: try .test(path: path, maxBytes: limit, maxBackups: 0, compress: true), nodeName: "n",
            logger: testLogger)
        let n = 300
        for i in 0..<n { ex.export(numbered(i)) }
        #expect(ex.shutdown(timeout: .seconds(20)))
        let s = ex.staticForTesting!
        #expect(s.written == UInt64(n))
        #expect(s.dropped.isEmpty)

        let entries = try FileManager.default.contentsOfDirectory(atPath: dir)
        let backups = entries.filter { $0 != "events.log" }
        #expect(backups.count >= 30)
        for b in backups {
            #expect(
                b.range(of: #"^events-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.log\.gz$"#, options: .regularExpression)
                    != nil, "\(b)")
            #expect(Shell.run(["gzip", "-t", dir + "/" + b]).status == 0, "\(b) is not valid gzip")
            let plain = Shell.run(["gzip", "-dc", dir + "/" + b]).output
            #expect(plain.utf8.count <= limit && plain.utf8.count > 0)
        }
        var st = stat()
        #expect(stat(path, &st) == 0 && Int(st.st_size) <= limit)
        #expect(st.st_mode & 0o777 == 0o600)

        let (lines, _) = readAllLines(path: path)
        #expect(sequenceNumbers(lines) == Array(0..<n))  // all, in order, none split, none twice
        #expect(lines.allSatisfy { HubbleSchema.problems(line: $0).isEmpty })
    }

    @Test func missingDirectoriesAreCreatedNoWiderThanTheFiles() throws {
        let dir = TestDir.make("dirmode")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (fileMode, directoryMode) in [(0o600, 0o700), (0o640, 0o750)] as [(mode_t, mode_t)] {
            let nested = dir + "/m\(String(fileMode, radix: 8))/flows"
            let file = RotatingFile(
                path: nested + "/events.log", maxSizeBytes: 1 << 20, maxBackups: 1, compress: false,
                fileMode: fileMode, logger: testLogger)
            _ = file.write(Array("{}\n".utf8), lineEnds: [3])
            file.close()
            var st = stat()
            #expect(
                stat(nested, &st) == 0 && st.st_mode & 0o777 == directoryMode,
                "\(nested): \(String(st.st_mode & 0o777, radix: 8))")
            #expect(stat(nested + "/events.log", &st) == 0 && st.st_mode & 0o777 == fileMode)
        }
    }

    @Test func keepsNewestBackups() throws {
        let dir = TestDir.make("keep")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/flows.json"
        let limit = 4 * 1024
        let ex = FlowExporters(
            spec: try .test(path: path, maxBytes: limit, maxBackups: 3), nodeName: "n", logger: testLogger)
        let n = 120
        for i in 0..<n { ex.export(numbered(i)) }
        #expect(ex.shutdown(timeout: .seconds(20)))
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(entries.count == 4, "\(entries)")
        #expect(entries.filter { $0.hasPrefix("flows-") && $0.hasSuffix(".json") }.count == 3)
        let (lines, files) = readAllLines(path: path)
        #expect(files.count == 4)
        let seq = sequenceNumbers(lines)
        #expect(seq.last == n - 1)
        #expect(seq == Array((n - seq.count)..<n))  // the newest lines, contiguous
    }

    @Test func appendsToExistingFileAndRotatesFirstWhenFull() throws {
        let dir = TestDir.make("append")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        try "old line\n".write(toFile: path, atomically: false, encoding: .utf8)
        var ex = FlowExporters(spec: try .test(path: path, maxBytes: 64 * 1024), nodeName: "n", logger: testLogger)
        ex.export(numbered(1))
        ex.shutdown(timeout: .seconds(5))
        var text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("old line\n{\"flow\""))
        // A limit the existing file cannot take another line under: rotated on open.
        ex = FlowExporters(
            spec: try .test(path: path, maxBytes: text.utf8.count + 10), nodeName: "n", logger: testLogger)
        ex.export(numbered(2))
        ex.shutdown(timeout: .seconds(5))
        text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(sequenceNumbers(text.split(separator: "\n").map(String.init)) == [2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 2)
    }

    @Test func tooLongLineIsCountedNotWritten() throws {
        let dir = TestDir.make("long")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let ex = FlowExporters(spec: try .test(path: path, maxBytes: 600), nodeName: "n", logger: testLogger)
        ex.export(numbered(1))  // ~1 KB
        var small = Fx.minimal
        small.uuid = "seq-2"
        ex.export(small)
        ex.shutdown(timeout: .seconds(5))
        #expect(ex.staticForTesting!.dropped["too_large"] == 1)
        let lines = readAllLines(path: path).lines
        #expect(lines.count == 2)
        #expect(
            lines[0].hasPrefix(#"{"lost_events":{"source":"OBSERVER_EVENTS_QUEUE","num_events_lost":"1"}"#)
                || lines[1].hasPrefix(#"{"lost_events""#))
    }

    @Test func fileRemovedIsRecreated() throws {
        let dir = TestDir.make("recreate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        let ex = FlowExporters(spec: try .test(path: path), nodeName: "n", logger: testLogger)
        ex.export(numbered(1))
        #expect(eventually { ex.staticForTesting!.written == 1 })
        try FileManager.default.moveItem(atPath: path, toPath: dir + "/moved.log")
        usleep(1_100_000)  // the inode is checked at most once a second
        ex.export(numbered(2))
        #expect(eventually { ex.staticForTesting!.written == 2 })
        ex.shutdown(timeout: .seconds(5))
        #expect(
            sequenceNumbers(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init))
                == [2])
        #expect(
            sequenceNumbers(
                try String(contentsOfFile: dir + "/moved.log", encoding: .utf8).split(separator: "\n").map(String.init))
                == [1])
    }

    @Test func backupNames() {
        #expect(BackupName.timestamp(ms: 1_714_571_107_123) == "2024-05-01T13-45-07.123")
        let n = BackupName(path: "/var/run/cilium/hubble/events.log")
        #expect(n.backupPath(ms: 1_714_571_107_123) == "/var/run/cilium/hubble/events-2024-05-01T13-45-07.123.log")
        #expect(n.timestampPart(of: "events-2024-05-01T13-45-07.123.log.gz")! == ("2024-05-01T13-45-07.123", true))
        #expect(n.timestampPart(of: "events-2024-05-01T13-45-07.log") == nil)
        #expect(n.timestampPart(of: "other-2024-05-01T13-45-07.123.log") == nil)
    }
}
