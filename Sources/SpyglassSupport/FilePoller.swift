#if canImport(Glibc)
    import Glibc
    private let systemRead = Glibc.read
#elseif canImport(Musl)
    import Musl
    private let systemRead = Musl.read
#elseif canImport(Darwin)
    import Darwin
    private let systemRead = Darwin.read
#endif

/// Why a file could not be read, in the system's words.
public enum FileReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `open` or `read` failed with this errno.
    case system(errno: Int32)
    /// The file holds more than the reader's limit (bytes).
    case tooLarge(limit: Int)

    /// The file (or a directory on its path) does not exist.
    public var isMissing: Bool {
        if case .system(let code) = self { return code == ENOENT || code == ENOTDIR }
        return false
    }

    public var description: String {
        switch self {
        case .system(let code): Errno.describe(code)
        case .tooLarge(let limit): "larger than \(limit) bytes"
        }
    }
}

/// Reads whole files.
public enum FileBytes {
    /// The whole file; `maxBytes` bounds what a hostile or mistaken file (a device, a log) can make us hold.
    public static func read(_ path: String, maxBytes: Int? = nil) throws(FileReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .system(errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(errno: errno)
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if let maxBytes, bytes.count > maxBytes { throw .tooLarge(limit: maxBytes) }
        }
    }
}

/// Watches one configuration file by polling: every check reads the whole file and compares its FNV-1a hash and
/// size with what the previous check saw, so an editor's rename, a Kubernetes ConfigMap symlink swap or a touch
/// without change all come down to "did the bytes change". Each distinct outcome is reported once: new content,
/// or a read error that differs from the previous one (`isMissing`: the file went away). A file that comes back
/// after an error is reported as changed even when its bytes are the ones seen before the error.
///
/// One concurrency model for every poller: `run(_:)` is an async loop for a `Task` that ends when the task is
/// cancelled (or `cancel()` is called); `check()` is the same step, synchronous, for start-up, SIGHUP and tests.
/// Checks are serialised and their handler runs under the poller's lock, so an older read is never applied after
/// a newer one.
///
/// ```swift
/// let poller = FilePoller(path: path, interval: .seconds(5))
/// apply(poller.check())                                  // at start-up
/// let task = Task { await poller.run { apply($0) } }     // then every 5 s until cancelled
/// ```
public final class FilePoller: Sendable {
    /// What one check found.
    public enum Change: Sendable, Equatable {
        /// Same bytes (or the same read error) as the previous check.
        case unchanged
        /// The first check's content, or content that differs from the previous check's.
        case changed(bytes: [UInt8], hash: UInt64)
        /// The file could not be read, and the previous check did not fail the same way.
        case failed(FileReadError)
    }

    private enum Seen: Equatable {
        case content(hash: UInt64, count: Int)
        case error(FileReadError)
    }

    private struct State {
        var seen: Seen?
        var cancelled = false
    }

    public let path: String
    public let interval: Duration
    public let maxBytes: Int?
    private let state = PThreadMutex(State())

    public init(path: String, interval: Duration, maxBytes: Int? = nil) {
        self.path = path
        self.interval = interval
        self.maxBytes = maxBytes
    }

    /// Reads the file once and says what changed since the previous check.
    public func check() -> Change { check { $0 } }

    /// Reads the file once and hands what changed to `handle`, under the poller's lock (`handle` must not call
    /// back into this poller). After `cancel()`, `handle` sees `.unchanged` and the file is not read.
    public func check<Result, Failure: Error>(_ handle: (Change) throws(Failure) -> Result) throws(Failure) -> Result {
        try state.withLock { (s: inout State) throws(Failure) -> Result in
            guard !s.cancelled else { return try handle(.unchanged) }
            let now: Seen
            let change: Change
            do throws(FileReadError) {
                let bytes = try FileBytes.read(path, maxBytes: maxBytes)
                let hash = FNV1a.hash64(bytes)
                now = .content(hash: hash, count: bytes.count)
                change = .changed(bytes: bytes, hash: hash)
            } catch {
                now = .error(error)
                change = .failed(error)
            }
            if s.seen == now { return try handle(.unchanged) }
            s.seen = now
            return try handle(change)
        }
    }

    /// Checks every `interval` (the first check one interval after the call) until the task is cancelled or
    /// `cancel()` is called.
    public func run(_ handle: @Sendable (Change) -> Void) async {
        while !isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            check(handle)
        }
    }

    /// Stops the poller: waits for a check in progress to finish its handler; later checks read nothing and
    /// `run` returns at its next wake-up.
    public func cancel() { state.withLock { $0.cancelled = true } }

    public var isCancelled: Bool { state.withLock { $0.cancelled } }
}
