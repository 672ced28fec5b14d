import Foundation

/// Checks a flow-log path before anything is written there. Flow logs are written by root into directories other
/// users may write: a symbolic link planted at the file's name would make root append to (or create, or chmod) the
/// link's target, and a dynamic config's `filePath` could name any file on the node.
public enum FlowLogPath {
    /// Throws when `path` is a symbolic link or exists and is not a regular file (the file itself: links in its
    /// directories are the administrator's choice) and, with `baseDirectory`, when `path` is not an absolute path
    /// below it without `..` components whose existing directories resolve (links followed) to below it.
    /// `location` names the flag or config field in the error.
    public static func check(_ path: String, baseDirectory: String? = nil, location: String) throws(ExportConfigError) {
        guard path != "stdout" else {
            if let base = baseDirectory {
                throw ExportConfigError(
                    location: location,
                    message: "\"stdout\" is not below the flow-log base directory \(base) (--hubble-flowlogs-base-dir)")
            }
            return
        }
        if let base = baseDirectory {
            try confine(path, to: base, location: location)
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            throw ExportConfigError(
                location: location,
                message:
                    "\"\(path)\" is a symbolic link; flow logs are never written through links (name the real file)")
        }
        if (st.st_mode & S_IFMT) != S_IFREG {
            throw ExportConfigError(location: location, message: "\"\(path)\" exists and is not a regular file")
        }
    }

    static func confine(_ path: String, to base: String, location: String) throws(ExportConfigError) {
        let outside = ExportConfigError(
            location: location,
            message: "\"\(path)\" is not below the flow-log base directory \(base) (--hubble-flowlogs-base-dir)")
        guard path.hasPrefix("/"), base.hasPrefix("/") else { throw outside }
        let parts = path.split(separator: "/")
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else { throw outside }
        let baseParts = base.split(separator: "/")
        guard parts.count > baseParts.count, Array(parts.prefix(baseParts.count)) == baseParts else { throw outside }
        // Existing directories between the base and the file must not lead outside it through links.
        guard let realBase = realPath(base) else { return }
        var dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        while !FileManager.default.fileExists(atPath: dir) && dir.count > base.count {
            dir = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        }
        if let realDir = realPath(dir),
            realDir != realBase && !realDir.hasPrefix(realBase == "/" ? "/" : realBase + "/")
        {
            throw ExportConfigError(
                location: location,
                message:
                    "\"\(path)\": \(dir) leads outside the flow-log base directory \(base) (--hubble-flowlogs-base-dir)"
            )
        }
    }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}
