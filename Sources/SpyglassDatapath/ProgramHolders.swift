import Foundation

/// Which BPF programs some live process still holds open.
///
/// A running agent keeps file descriptors of its loaded programs; after SIGKILL only the tc filter holds them. So a
/// Spyglass hook whose program no process holds is a leftover of a dead agent, and one that a process holds belongs
/// to a live agent (another instance, a test, the demo) and must not be removed at start-up.
public enum ProgramHolders {
    /// IDs of BPF programs that any process has open (read from /proc/<pid>/fdinfo).
    public static func heldProgramIDs() -> Set<UInt32> {
        var ids = Set<UInt32>()
        let fm = FileManager.default
        guard let pids = try? fm.contentsOfDirectory(atPath: "/proc") else { return ids }
        for pid in pids where pid.first?.isNumber == true {
            guard let fds = try? fm.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for fd in fds {
                // Cheap filter first: only anonymous BPF program inodes have a prog_id.
                guard let target = try? fm.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                    target == "anon_inode:bpf-prog",
                    let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8),
                    let id = programID(fdinfo: info)
                else { continue }
                ids.insert(id)
            }
        }
        return ids
    }

    /// The `prog_id:` field of an fdinfo text.
    static func programID(fdinfo: String) -> UInt32? {
        for line in fdinfo.split(separator: "\n") where line.hasPrefix("prog_id:") {
            return UInt32(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
