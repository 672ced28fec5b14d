import CompressNIO
import Foundation
import Logging
import NIOCore
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// Retention and compression of rotated files, on a background queue so the writer never waits for them
/// (docs/hubble-compatibility.md §9.3, §11.7): keep the newest `maxBackups` (a backup and its `.gz` twin count as one;
/// 0 keeps all), and with `compress` gzip every remaining plain backup to `<backup>.gz`, then delete it.
final class BackupMill: Sendable {
    private let names: BackupName
    private let maxBackups: Int
    private let compress: Bool
    /// Mode of the compressed backups (the flow log's `fileMode`).
    private let fileMode: mode_t
    private let logger: Logger
    private let queue: DispatchQueue
    private let scheduled = PThreadMutex(false)
    private let failures = PThreadMutex<UInt64>(0)

    init(names: BackupName, maxBackups: Int, compress: Bool, fileMode: mode_t = 0o600, logger: Logger) {
        self.fileMode = fileMode
        self.names = names
        self.maxBackups = maxBackups
        self.compress = compress
        self.logger = logger
        self.queue = DispatchQueue(label: "spyglass.export.mill", qos: .utility)
    }

    /// Asks for one pass; passes already waiting absorb it.
    func schedule() {
        let first = scheduled.withLock { s -> Bool in
            if s { return false }
            s = true
            return true
        }
        guard first else { return }
        queue.async { [self] in
            scheduled.withLock { $0 = false }
            run()
        }
    }

    /// Waits until the passes scheduled so far are done.
    func waitIdle() { queue.sync {} }

    /// Compression or deletion failures so far.
    var failureCount: UInt64 { failures.withLock { $0 } }

    private func run() {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: names.directory) else { return }
        var groups: [String: (plain: Bool, gz: Bool)] = [:]
        for e in entries {
            guard let (ts, gz) = names.timestampPart(of: e) else { continue }
            var g = groups[ts] ?? (false, false)
            if gz { g.gz = true } else { g.plain = true }
            groups[ts] = g
        }
        let newestFirst = groups.keys.sorted(by: >)
        var keep = newestFirst
        if maxBackups > 0 && newestFirst.count > maxBackups {
            keep = Array(newestFirst.prefix(maxBackups))
            for ts in newestFirst.dropFirst(maxBackups) {
                let g = groups[ts]!
                if g.plain { remove(plainPath(ts)) }
                if g.gz { remove(plainPath(ts) + ".gz") }
            }
        }
        guard compress else { return }
        for ts in keep where groups[ts]!.plain {
            let src = plainPath(ts)
            do {
                try gzip(src, to: src + ".gz")
                remove(src)
            } catch {
                failures.withLock { $0 += 1 }
                unlink(src + ".gz")
                logger.error("flow log backup compression failed", metadata: ["file": "\(src)", "error": "\(error)"])
            }
        }
    }

    private func plainPath(_ ts: String) -> String {
        names.directory + "/" + names.stem + "-" + ts + names.ext
    }

    private func remove(_ path: String) {
        if unlink(path) != 0 && errno != ENOENT {
            failures.withLock { $0 += 1 }
            logger.error("cannot remove old flow log backup", metadata: ["file": "\(path)", "errno": "\(errno)"])
        }
    }

    struct IOFailure: Error, CustomStringConvertible {
        let what: String
        let code: Int32
        var description: String { "\(what): \(Errno.describe(code))" }
    }

    /// Streams `src` through zlib's gzip deflate into `dst` (created with the source's mode), 256 KiB at a time.
    private func gzip(_ src: String, to dst: String) throws {
        // Never through links (a backup name planted as a link would make root read or write its target), and the
        // compressed copy is new (O_EXCL) with the configured mode.
        let inFD = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard inFD >= 0 else { throw IOFailure(what: "open \(src)", code: errno) }
        defer { close(inFD) }
        var st = stat()
        guard fstat(inFD, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw IOFailure(what: "open \(src) (not a regular file)", code: EINVAL)
        }
        unlink(dst)  // a stale .gz of an interrupted run; unlink never follows a link
        let outFD = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, fileMode)
        guard outFD >= 0 else { throw IOFailure(what: "create \(dst)", code: errno) }
        defer { close(outFD) }
        fchmod(outFD, fileMode)

        let compressor = CompressionAlgorithm.gzip().compressor
        compressor.window = ByteBufferAllocator().buffer(capacity: 64 * 1024)
        try compressor.startStream()
        defer { try? compressor.finishStream() }
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        var writeError: IOFailure?
        let sink: (ByteBuffer) throws -> Void = { window in
            try window.withUnsafeReadableBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(outFD, raw.baseAddress! + off, raw.count - off)
                    if n < 0 {
                        if errno == EINTR { continue }
                        let e = IOFailure(what: "write \(dst)", code: errno)
                        writeError = e
                        throw e
                    }
                    off += n
                }
            }
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(inFD, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOFailure(what: "read \(src)", code: errno)
            }
            var buf = ByteBufferAllocator().buffer(capacity: max(n, 1))
            if n > 0 { _ = chunk.withUnsafeBytes { buf.writeBytes(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            try buf.compressStream(with: compressor, flush: n == 0 ? .finish : .no, process: sink)
            if let writeError { throw writeError }
            if n == 0 { break }
        }
    }
}
