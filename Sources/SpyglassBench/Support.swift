// Small measuring helpers shared by the subcommands: CPU time per thread and per process, resident memory,
// percentiles, and running a helper command with a time limit.
import Foundation
import Glibc

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// CPU seconds of every thread of this process, by thread id (/proc/self/task/*/schedstat, nanoseconds).
func threadCPUByID() -> [Int32: Double] {
    let dir = "/proc/self/task"
    var result: [Int32: Double] = [:]
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
        guard let id = Int32(tid), let sched = try? String(contentsOfFile: "\(dir)/\(tid)/schedstat", encoding: .utf8),
            let ns = sched.split(separator: " ").first.flatMap({ Double($0) })
        else { continue }
        result[id] = ns / 1e9
    }
    return result
}

/// Hands a result from a thread to its waiter (written before the semaphore is signalled, read after).
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
    init() {}
}

/// Runs `body` on a new thread and waits for it (so its thread id and CPU time are its own).
func onDedicatedThread<T>(_ body: @escaping @Sendable () throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.result = Result { try body() }
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    done.wait()
    return try box.result!.get()
}

/// CPU time of the whole process so far (all threads), in seconds.
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(
        u.ru_stime.tv_usec) / 1e6
}

/// VmRSS of a process (default: this one), in bytes.
func residentBytes(pid: String = "self") -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs `argv` (PATH lookup) under coreutils' `timeout`; returns stdout. Throws with stderr on failure.
@discardableResult
func runCommand(_ argv: [String], timeout: Duration = .seconds(30)) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["--kill-after=5", String(Int(seconds(timeout).rounded(.up)))] + argv
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        let why = p.terminationStatus == 124 ? "timed out after \(timeout)" : "failed (status \(p.terminationStatus))"
        throw BenchError(
            "\(argv.joined(separator: " ")) \(why): \(String(decoding: errData, as: UTF8.self).prefix(400))")
    }
    return String(decoding: outData, as: UTF8.self)
}

/// The value of `--name N` in `args`, or `fallback`; a value that is not a number is an error naming the flag.
func intOption(_ args: [String], _ name: String, _ fallback: Int) throws -> Int {
    guard let i = args.firstIndex(of: name) else { return fallback }
    guard i + 1 < args.count, let n = Int(args[i + 1]), n > 0 else {
        throw BenchError("\(name): expected a positive integer")
    }
    return n
}

func stringOption(_ args: [String], _ name: String) throws -> String? {
    guard let i = args.firstIndex(of: name) else { return nil }
    guard i + 1 < args.count else { throw BenchError("\(name): expected a value") }
    return args[i + 1]
}

func fmt(_ format: String, _ args: CVarArg...) -> String { String(format: format, arguments: args) }
