import SpyglassSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
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
        do {
            return try FileBytes.read(path, maxBytes: maxBytes)
        } catch {
            switch error {
            case .tooLarge: throw .tooLarge
            case .system: throw error.isMissing ? .missing : .system(error.description)
            }
        }
    }
}
