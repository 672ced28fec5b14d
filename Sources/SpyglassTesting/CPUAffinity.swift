import Glibc

/// Pins the calling thread to one CPU for a body: BPF_PROG_TEST_RUN runs a program on its caller's CPU, so tests
/// and benchmarks of per-CPU state choose the CPU of each run. Glibc's Swift module does not export the GNU
/// affinity calls, so they are looked up in the C library at run time.
public enum CPUAffinity {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    typealias Call = @convention(c) (pid_t, Int, UnsafeMutableRawPointer?) -> Int32
    static let maskBytes = 128  // sizeof(cpu_set_t): 1024 CPUs

    static func call(_ name: String) throws -> Call {
        guard let sym = dlsym(dlopen(nil, RTLD_NOW), name) else {
            throw Failure(description: "\(name) is not in the C library")
        }
        return unsafeBitCast(sym, to: Call.self)
    }

    static func mask() throws -> [UInt8] {
        var m = [UInt8](repeating: 0, count: maskBytes)
        let get = try call("sched_getaffinity")
        guard m.withUnsafeMutableBytes({ get(0, maskBytes, $0.baseAddress) }) == 0 else {
            throw Failure(description: "sched_getaffinity: errno \(errno)")
        }
        return m
    }

    /// The CPUs this thread may run on.
    public static func allowed() throws -> [Int] {
        let m = try mask()
        return (0..<(maskBytes * 8)).filter { m[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }

    /// Runs `body` on `cpu`, then restores the thread's affinity.
    public static func pinned<T>(to cpu: Int, _ body: () throws -> T) throws -> T {
        var old = try mask()
        var one = [UInt8](repeating: 0, count: maskBytes)
        one[cpu / 8] |= 1 << (cpu % 8)
        let set = try call("sched_setaffinity")
        guard one.withUnsafeMutableBytes({ set(0, maskBytes, $0.baseAddress) }) == 0 else {
            throw Failure(description: "sched_setaffinity to CPU \(cpu): errno \(errno)")
        }
        defer { _ = old.withUnsafeMutableBytes { set(0, maskBytes, $0.baseAddress) } }
        return try body()
    }
}
