import Foundation

/// Backup file names as lumberjack writes them (docs/hubble-compatibility.md §9.3):
/// `<stem>-<2006-01-02T15-04-05.000><ext>` in UTC, plus `.gz` when compressed.
struct BackupName {
    let directory: String
    let stem: String
    let ext: String

    init(path: String) {
        let url = URL(fileURLWithPath: path)
        directory = url.deletingLastPathComponent().path
        let base = url.lastPathComponent
        if let dot = base.lastIndex(of: "."), dot != base.startIndex {
            stem = String(base[..<dot])
            ext = String(base[dot...])
        } else {
            stem = base
            ext = ""
        }
    }

    /// `2006-01-02T15-04-05.000` for a time in ms since the epoch (UTC).
    static func timestamp(ms: Int64) -> String {
        let (y, mo, d, h, mi, s) = Civil.fields(unixSeconds: ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let frac = ((ms % 1000) + 1000) % 1000
        func pad(_ v: Int, _ w: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, w - t.count)) + t
        }
        return "\(pad(y, 4))-\(pad(mo, 2))-\(pad(d, 2))T\(pad(h, 2))-\(pad(mi, 2))-\(pad(s, 2)).\(pad(Int(frac), 3))"
    }

    func backupPath(ms: Int64) -> String {
        directory + "/" + stem + "-" + BackupName.timestamp(ms: ms) + ext
    }

    /// The timestamp part of a backup file name, or nil when the name is not one of ours.
    func timestampPart(of fileName: String) -> (timestamp: String, compressed: Bool)? {
        let prefix = stem + "-"
        guard fileName.hasPrefix(prefix) else { return nil }
        var rest = fileName.dropFirst(prefix.count)
        var compressed = false
        if rest.hasSuffix(ext + ".gz") {
            rest = rest.dropLast(ext.count + 3)
            compressed = true
        } else if rest.hasSuffix(ext) {
            rest = rest.dropLast(ext.count)
        } else {
            return nil
        }
        // 2006-01-02T15-04-05.000
        let t = Array(rest.utf8)
        guard t.count == 23 else { return nil }
        for (i, c) in t.enumerated() {
            switch i {
            case 4, 7, 13, 16: guard c == UInt8(ascii: "-") else { return nil }
            case 10: guard c == UInt8(ascii: "T") else { return nil }
            case 19: guard c == UInt8(ascii: ".") else { return nil }
            default: guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) else { return nil }
            }
        }
        return (String(rest), compressed)
    }
}
