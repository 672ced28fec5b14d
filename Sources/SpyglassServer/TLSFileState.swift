#if canImport(Glibc)
    import Glibc
    private let systemRead = Glibc.read
#elseif canImport(Darwin)
    import Darwin
    private let systemRead = Darwin.read
#endif

/// What `stat` says about one certificate file. `stat` follows symlinks, so a Kubernetes secret update (the
/// `..data` symlink swapped to a new directory) shows up as a new inode even when size and mtime match.
struct TLSFileState: Sendable, Equatable {
    enum Presence: Sendable, Equatable {
        case present(device: UInt64, inode: UInt64, size: Int64, mtimeNs: Int64, ctimeNs: Int64)
        case missing
        /// stat failed for another reason (permissions on a parent directory…); the errno.
        case unreadable(Int32)
    }

    let path: String
    let presence: Presence

    static func of(_ path: String) -> TLSFileState {
        var st = stat()
        guard stat(path, &st) == 0 else {
            let code = errno
            return TLSFileState(path: path, presence: code == ENOENT || code == ENOTDIR ? .missing : .unreadable(code))
        }
        return TLSFileState(
            path: path,
            presence: .present(
                device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)))
    }

    var isMissing: Bool { presence == .missing }
}

/// Reads a whole (small) file, with errors that say what went wrong in the system's words.
enum SmallFile {
    /// Certificates and keys are a few KiB; anything this large is not one.
    static let maxBytes = 1 << 20

    enum Failure: Error, Sendable, Equatable {
        case missing
        case system(String)
        case tooLarge
    }

    static func read(_ path: String) throws(Failure) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT || code == ENOTDIR ? .missing : .system(describe(code))
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system(describe(errno))
            }
            if n == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > maxBytes { throw .tooLarge }
        }
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
