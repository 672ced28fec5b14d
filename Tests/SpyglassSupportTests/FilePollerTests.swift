import Foundation
import SpyglassSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under the temporary directory, removed by `remove()`.
private struct ScratchDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "/spyglass-filepoller-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) {
        try! text.write(toFile: file(name), atomically: true, encoding: .utf8)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

private func changedText(_ change: FilePoller.Change) -> String? {
    guard case .changed(let bytes, let hash) = change else { return nil }
    #expect(hash == FNV1a.hash64(bytes))
    return String(decoding: bytes, as: UTF8.self)
}

@Suite struct FilePollerTests {
    @Test func reportsFirstContentThenOnlyChanges() {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "one\n")
        let poller = FilePoller(path: dir.file("a.yaml"), interval: .seconds(60))
        #expect(changedText(poller.check()) == "one\n")
        #expect(poller.check() == .unchanged)
        // Rewritten with the same bytes (a new inode, a new mtime): still unchanged.
        dir.write("a.yaml", "one\n")
        #expect(poller.check() == .unchanged)
        dir.write("a.yaml", "two\n")
        #expect(changedText(poller.check()) == "two\n")
        #expect(poller.check() == .unchanged)
        // Same size, different bytes.
        dir.write("a.yaml", "six\n")
        #expect(changedText(poller.check()) == "six\n")
    }

    @Test func unreadableFileIsReportedOncePerError() throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        // A directory opens but cannot be read: EISDIR, not "missing".
        try FileManager.default.createDirectory(atPath: dir.file("d"), withIntermediateDirectories: false)
        let poller = FilePoller(path: dir.file("d"), interval: .seconds(60))
        #expect(poller.check() == .failed(.system(errno: EISDIR)))
        #expect(poller.check() == .unchanged)
        #expect(FileReadError.system(errno: EISDIR).isMissing == false)
        #expect(FileReadError.system(errno: EISDIR).description == "Is a directory")

        dir.write("big", String(repeating: "x", count: 100))
        let bounded = FilePoller(path: dir.file("big"), interval: .seconds(60), maxBytes: 64)
        #expect(bounded.check() == .failed(.tooLarge(limit: 64)))
        #expect(bounded.check() == .unchanged)
        #expect(FileReadError.tooLarge(limit: 64).description == "larger than 64 bytes")
    }

    @Test func removedAndRecreatedWithTheSameBytesIsAChange() {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "same\n")
        let poller = FilePoller(path: dir.file("a.yaml"), interval: .seconds(60))
        #expect(changedText(poller.check()) == "same\n")
        try? FileManager.default.removeItem(atPath: dir.file("a.yaml"))
        let gone = poller.check()
        #expect(gone == .failed(.system(errno: ENOENT)))
        if case .failed(let e) = gone {
            #expect(e.isMissing)
            #expect(e.description == "No such file or directory")
        }
        #expect(poller.check() == .unchanged)
        dir.write("a.yaml", "same\n")
        #expect(changedText(poller.check()) == "same\n")
        #expect(poller.check() == .unchanged)
        // A missing directory on the path is "missing" too.
        let deeper = FilePoller(path: dir.file("a.yaml") + "/x", interval: .seconds(60))
        guard case .failed(let e) = deeper.check() else {
            Issue.record("expected a failure")
            return
        }
        #expect(e.isMissing)
    }

    @Test(.timeLimit(.minutes(1))) func runReportsChangesAndEndsOnCancellation() async throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "one\n")
        let poller = FilePoller(path: dir.file("a.yaml"), interval: .milliseconds(10))
        let seen = PThreadMutex<[String]>([])
        let task = Task {
            await poller.run { change in if let t = changedText(change) { seen.withLock { $0.append(t) } } }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while seen.withLock({ $0 }) != ["one\n"] && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        dir.write("a.yaml", "two\n")
        while seen.withLock({ $0 }) != ["one\n", "two\n"] && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(seen.withLock { $0 } == ["one\n", "two\n"])
        task.cancel()
        await task.value  // returns: the loop ended
        dir.write("a.yaml", "three\n")
        try await Task.sleep(for: .milliseconds(50))
        #expect(seen.withLock { $0 } == ["one\n", "two\n"])
    }

    @Test(.timeLimit(.minutes(1))) func cancelStopsTheLoopAndLaterChecks() async throws {
        let dir = ScratchDirectory()
        defer { dir.remove() }
        dir.write("a.yaml", "one\n")
        let poller = FilePoller(path: dir.file("a.yaml"), interval: .milliseconds(10))
        let task = Task { await poller.run { _ in } }
        poller.cancel()
        #expect(poller.isCancelled)
        await task.value  // ends at its next wake-up without the task being cancelled
        dir.write("a.yaml", "two\n")
        #expect(poller.check() == .unchanged)
    }
}
