import Foundation
import Logging
import SpyglassSupport

/// A flow log file with lumberjack's rotation (docs/hubble-compatibility.md §9.3), used by one writer thread only.
///
/// * Opened lazily on the first write, appending to an existing file (rotating it first when the write would
///   reach the limit); missing directories are created with the file mode plus search permission where it grants read (0700 for 0600); a new file is created with `fileMode` (0600 by
///   default); every file it creates or opens is set to `fileMode`. Files are opened with `O_NOFOLLOW` and created
///   with `O_EXCL`: a symbolic link (or anything but a regular file) at the path is refused with an error, never
///   followed — the log directory may be writable by others.
/// * Whole lines only: before each write, if the lines would take the file over `maxSize`, the file is rotated
///   first, so no file goes over the limit and no line is split. A line longer than the limit is lost (counted).
/// * Rotation renames the file to `<stem>-<UTC time>.mmm<ext>` (a later millisecond when that name is taken, so
///   two rotations in one millisecond never overwrite a backup) and hands retention/compression to `BackupMill`.
/// * A failed or short write (ENOSPC, EIO…) is truncated back to the last whole line; the lines that did not make
///   it are reported as lost with a reason.
/// * About once a second the path is checked against the open file's inode: a file deleted or moved away by
///   someone else is recreated on the next write.
/// * `stdout` writes to the process's standard output, without rotation; closing it is a no-op.
final class RotatingFile {
    struct Outcome {
        var written = 0
        var lost: [String: Int] = [:]
        var allWritten: Bool { lost.isEmpty }
    }

    let path: String
    let maxSize: Int
    let fileMode: mode_t
    let isStdout: Bool
    private let names: BackupName
    let mill: BackupMill?
    private let logger: Logger
    private var fd: Int32 = -1
    private(set) var size = 0
    private var inode: (dev: UInt64, ino: UInt64) = (0, 0)
    private var lastInodeCheckNs: UInt64 = 0
    private var lastBackupMs: Int64 = 0

    init(path: String, maxSizeMB: Int, maxBackups: Int, compress: Bool, fileMode: mode_t, logger: Logger) {
        self.path = path
        self.isStdout = path == "stdout"
        self.maxSize = (maxSizeMB > 0 ? maxSizeMB : 100) * 1024 * 1024
        self.fileMode = fileMode
        self.names = BackupName(path: path)
        self.logger = logger
        self.mill =
            isStdout ? nil : BackupMill(names: names, maxBackups: maxBackups, compress: compress, logger: logger)
    }

    /// For tests: a limit in bytes instead of MB.
    init(path: String, maxSizeBytes: Int, maxBackups: Int, compress: Bool, fileMode: mode_t, logger: Logger) {
        self.path = path
        self.isStdout = path == "stdout"
        self.maxSize = maxSizeBytes
        self.fileMode = fileMode
        self.names = BackupName(path: path)
        self.logger = logger
        self.mill =
            isStdout ? nil : BackupMill(names: names, maxBackups: maxBackups, compress: compress, logger: logger)
    }

    deinit { close() }

    func close() {
        if fd >= 0 && !isStdout { Glibc.close(fd) }
        fd = -1
    }

    /// Writes `bytes`, which holds whole lines ending at the offsets `lineEnds` (ascending, the last one is
    /// `bytes.count`).
    func write(_ bytes: [UInt8], lineEnds: [Int]) -> Outcome {
        var outcome = Outcome()
        var start = 0
        var line = 0
        bytes.withUnsafeBytes { raw in
            while line < lineEnds.count {
                let firstLen = lineEnds[line] - start
                if !isStdout && firstLen > maxSize {
                    outcome.lost["too_large", default: 0] += 1
                    start = lineEnds[line]
                    line += 1
                    continue
                }
                if fd < 0 || (!isStdout && inodeCheckDue()) {
                    if let reason = open(forWriting: firstLen) {
                        outcome.lost[reason, default: 0] += lineEnds.count - line
                        return
                    }
                }
                if !isStdout && size + firstLen > maxSize {
                    if let reason = rotate() {
                        outcome.lost[reason, default: 0] += lineEnds.count - line
                        return
                    }
                }
                var last = line
                if !isStdout {
                    while last + 1 < lineEnds.count && size + (lineEnds[last + 1] - start) <= maxSize { last += 1 }
                } else {
                    last = lineEnds.count - 1
                }
                let end = lineEnds[last]
                let (n, err) = writeAll(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                if err == 0 {
                    size += n
                    outcome.written += last - line + 1
                } else {
                    // Keep only whole lines of a short write.
                    var kept = 0
                    var keptBytes = 0
                    for i in line...last where lineEnds[i] - start <= n {
                        kept += 1
                        keptBytes = lineEnds[i] - start
                    }
                    if !isStdout && keptBytes < n { _ = ftruncate(fd, off_t(size + keptBytes)) }
                    size += keptBytes
                    outcome.written += kept
                    let reason = (err == ENOSPC || err == EDQUOT) ? "no_space" : "write_error"
                    outcome.lost[reason, default: 0] += last - line + 1 - kept
                }
                start = end
                line = last + 1
            }
        }
        return outcome
    }

    private func writeAll(_ buf: UnsafeRawBufferPointer) -> (Int, Int32) {
        var off = 0
        while off < buf.count {
            let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                return (off, errno)
            }
            if n == 0 { return (off, EIO) }
            off += n
        }
        return (off, 0)
    }

    private static func monotonicNs() -> UInt64 { UInt64(bitPattern: SystemClock.coarseMonotonicNs()) }

    /// True (and the file closed) when the path no longer names the open file; checked at most once a second.
    private func inodeCheckDue() -> Bool {
        let now = Self.monotonicNs()
        guard now &- lastInodeCheckNs >= 1_000_000_000 else { return false }
        lastInodeCheckNs = now
        var st = stat()
        if stat(path, &st) != 0 || UInt64(st.st_dev) != inode.dev || UInt64(st.st_ino) != inode.ino {
            logger.warning("flow log file was removed or replaced; recreating it", metadata: ["file": "\(path)"])
            close()
            return true
        }
        return false
    }

    /// Opens the file for the first write (or after it vanished). Returns a loss reason on failure.
    /// Never through a symbolic link (`O_NOFOLLOW`), never anything but a regular file (`O_NONBLOCK` so a FIFO
    /// planted there cannot block the writer), and always with `fileMode`, whatever mode the file had.
    private func open(forWriting len: Int) -> String? {
        if isStdout {
            fd = STDOUT_FILENO
            return nil
        }
        makeDirectories(names.directory)
        let f = Glibc.open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if f < 0 {
            if errno == ENOENT {
                let reason = create(mode: fileMode)
                mill?.schedule()
                return reason
            }
            return openFailed()
        }
        var st = stat()
        guard fstat(f, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(f)
            logger.error("flow log path is not a regular file; not writing there", metadata: ["file": "\(path)"])
            return "open_error"
        }
        if Int(st.st_size) + len >= maxSize {
            Glibc.close(f)
            return rotate()
        }
        fchmod(f, fileMode)
        fd = f
        size = Int(st.st_size)
        recordInode()
        mill?.schedule()
        return nil
    }

    private func openFailed() -> String {
        let e = errno
        if e == ELOOP {
            logger.error(
                "flow log path is a symbolic link; flow logs are never written through links",
                metadata: ["file": "\(path)"])
        } else {
            logger.error(
                "cannot open flow log file", metadata: ["file": "\(path)", "error": "\(Errno.describe(e))"])
        }
        return e == ENOSPC || e == EDQUOT ? "no_space" : "open_error"
    }

    /// A new file: `O_EXCL` (nothing, not even a link, may already be there) and the mode set explicitly (the
    /// umask does not narrow or widen it).
    private func create(mode: mode_t) -> String? {
        let f = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard f >= 0 else { return openFailed() }
        fchmod(f, mode)
        fd = f
        size = 0
        recordInode()
        return nil
    }

    private func recordInode() {
        var st = stat()
        if fstat(fd, &st) == 0 { inode = (UInt64(st.st_dev), UInt64(st.st_ino)) }
        lastInodeCheckNs = Self.monotonicNs()
    }

    /// Renames the current file to a backup name and starts a new one. Returns a loss reason on failure.
    private func rotate() -> String? {
        // The new file gets `fileMode`, never the mode of a file someone else may have put at the path.
        let mode = fileMode
        close()
        var ms = Int64(Date().timeIntervalSince1970 * 1000)
        if ms <= lastBackupMs { ms = lastBackupMs + 1 }
        while access(names.backupPath(ms: ms), F_OK) == 0 || access(names.backupPath(ms: ms) + ".gz", F_OK) == 0 {
            ms += 1
        }
        lastBackupMs = ms
        if Glibc.rename(path, names.backupPath(ms: ms)) != 0 && errno != ENOENT {
            logger.error(
                "cannot rotate flow log file",
                metadata: ["file": "\(path)", "error": "\(Errno.describe(errno))"])
        }
        let reason = create(mode: mode)
        mill?.schedule()
        return reason
    }

    private func makeDirectories(_ dir: String) {
        guard !dir.isEmpty, access(dir, F_OK) != 0 else { return }
        // Whoever may read the files may enter the directory, nobody else: 0600 files give 0700, 0640 give 0750.
        let directoryMode = fileMode | ((fileMode & 0o444) >> 2)
        try? FileManager.default.createDirectory(
            atPath: dir, withIntermediateDirectories: true,
            attributes: [.posixPermissions: Int(directoryMode)])
    }
}
