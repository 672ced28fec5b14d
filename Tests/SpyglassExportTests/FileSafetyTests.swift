import Foundation
import SpyglassFlow
import Testing

@testable import SpyglassExport

/// Whoever can write the flow-log directory must not be able to make the agent (root) append to, truncate, chmod,
/// read or compress any other file: links planted at the file's or a backup's name, modes of files put there
/// beforehand, dynamic `filePath`s outside the base directory.
@Suite(.serialized) struct FileSafetyTests {
    struct Victim {
        let path: String
        init(_ dir: String) throws {
            path = dir + "/victim"
            try "precious\n".write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o644)
        }
        var untouched: Bool {
            var st = stat()
            return (try? String(contentsOfFile: path, encoding: .utf8)) == "precious\n" && stat(path, &st) == 0
                && st.st_mode & 0o777 == 0o644
        }
    }

    func line(_ n: Int) -> ([UInt8], [Int]) {
        let b = Array("{\"n\":\(n)}\n".utf8)
        return (b, [b.count])
    }

    @Test func symlinkAtTheFileIsRefusedNotFollowed() throws {
        let dir = TestDir.make("symlink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = try Victim(dir)
        let path = dir + "/events.log"
        #expect(symlink(victim.path, path) == 0)
        // Start-up check: the flag is named.
        #expect(throws: ExportConfigError.self) { try StaticExporterConfig(filePath: path).validate() }
        do {
            try StaticExporterConfig(filePath: path).validate()
        } catch {
            #expect(
                error.location == "--hubble-export-file-path" && error.message.contains("symbolic link"), "\(error)")
        }
        // The writer itself refuses too (a link planted after start-up).
        let file = RotatingFile(
            path: path, maxSizeBytes: 1 << 20, maxBackups: 1, compress: false, fileMode: 0o600, logger: testLogger)
        let (b, ends) = line(1)
        let outcome = file.write(b, lineEnds: ends)
        #expect(outcome.lost["open_error"] == 1 && outcome.written == 0)
        file.close()
        #expect(victim.untouched)
    }

    @Test func linkPlantedWhileRunningIsRefused() throws {
        let dir = TestDir.make("replant")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = try Victim(dir)
        let path = dir + "/events.log"
        let file = RotatingFile(
            path: path, maxSizeBytes: 1 << 20, maxBackups: 1, compress: false, fileMode: 0o600, logger: testLogger)
        var (b, ends) = line(1)
        #expect(file.write(b, lineEnds: ends).written == 1)
        #expect(unlink(path) == 0 && symlink(victim.path, path) == 0)
        usleep(1_100_000)  // the inode is checked at most once a second
        (b, ends) = line(2)
        #expect(file.write(b, lineEnds: ends).lost["open_error"] == 1)
        file.close()
        #expect(victim.untouched)
    }

    @Test func modesAreSetOnEveryFileWhateverWasThereOrTheUmask() throws {
        let dir = TestDir.make("modes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/events.log"
        // Someone put a world-writable file at the path beforehand.
        try "{\"n\":0}\n".write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, 0o666)
        let old = umask(0)
        defer { umask(old) }
        let file = RotatingFile(
            path: path, maxSizeBytes: 24, maxBackups: 0, compress: false, fileMode: 0o640, logger: testLogger)
        for i in 1...6 {
            let (b, ends) = line(i)
            #expect(file.write(b, lineEnds: ends).written == 1)
        }
        file.close()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(names.count >= 3, "rotated: \(names)")
        for n in names {
            var st = stat()
            #expect(
                stat(dir + "/" + n, &st) == 0 && st.st_mode & 0o777 == 0o640,
                "\(n): \(String(st.st_mode & 0o777, radix: 8))")
        }
    }

    @Test func backupNamePlantedAsLinkIsNeitherReadNorCompressed() throws {
        let dir = TestDir.make("backuplink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let victim = try Victim(dir)
        let planted = dir + "/events-2020-01-01T00-00-00.000.log"
        #expect(symlink(victim.path, planted) == 0)
        let ex = FlowExporters(
            spec: try .test(path: dir + "/events.log", maxBytes: 4096, maxBackups: 0, compress: true), nodeName: "n",
            logger: testLogger)
        for i in 0..<40 { ex.export(numbered(i)) }
        #expect(ex.shutdown(timeout: .seconds(20)))
        #expect(victim.untouched)
        let gz = planted + ".gz"
        if FileManager.default.fileExists(atPath: gz) {
            #expect(
                !Shell.run(["gzip", "-dc", gz]).output.contains("precious"),
                "the link's target was compressed into the log directory")
        }
    }

    @Test func dynamicFilePathsStayBelowTheBaseDirectory() throws {
        let dir = TestDir.make("base")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = dir + "/flowlogs"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let outside = dir + "/elsewhere"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        #expect(symlink(outside, base + "/escape") == 0)
        func yaml(_ path: String) -> String { "flowLogs:\n- name: audit\n  filePath: \"\(path)\"\n" }

        #expect(
            try FlowLogsFile.parse(yaml(base + "/audit/events.log"), baseDirectory: base).first?.filePath == base
                + "/audit/events.log")
        for bad in ["/etc/shadow", base + "/../elsewhere/x.log", base + "/escape/x.log", "relative.log", base, "stdout"]
        {
            do {
                _ = try FlowLogsFile.parse(yaml(bad), baseDirectory: base)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(error.location == "flowLogs[0] \"audit\": filePath", "\(bad): \(error)")
                #expect(error.message.contains("--hubble-flowlogs-base-dir"), "\(bad): \(error)")
            }
        }
        // A link at the file's name, inside the base: refused as a link.
        #expect(symlink("/etc/passwd", base + "/link.log") == 0)
        do {
            _ = try FlowLogsFile.parse(yaml(base + "/link.log"), baseDirectory: base)
            Issue.record("accepted a link")
        } catch {
            #expect(error.message.contains("symbolic link"), "\(error)")
        }
    }
}
