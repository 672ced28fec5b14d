#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system clocks every stage reads, in nanoseconds (wrapping arithmetic: never a trap; 0 if a clock is
/// unavailable). Code that needs a replaceable clock takes one of these as a closure.
public enum SystemClock {
    /// CLOCK_MONOTONIC: for measuring intervals.
    @inline(__always) public static func monotonicNs() -> Int64 { read(CLOCK_MONOTONIC) }

    /// CLOCK_MONOTONIC_COARSE where the OS has it (a few ms resolution, and cheaper): for idle expiry and
    /// once-a-second checks.
    @inline(__always) public static func coarseMonotonicNs() -> Int64 {
        #if os(Linux)
            read(CLOCK_MONOTONIC_COARSE)
        #else
            read(CLOCK_MONOTONIC)
        #endif
    }

    /// CLOCK_REALTIME: nanoseconds since the Unix epoch.
    @inline(__always) public static func wallNs() -> Int64 { read(CLOCK_REALTIME) }

    /// CLOCK_REALTIME as seconds and nanoseconds since the Unix epoch.
    public static func wall() -> (seconds: Int64, nanos: Int32) {
        var ts = timespec()
        guard clock_gettime(CLOCK_REALTIME, &ts) == 0 else { return (0, 0) }
        return (Int64(ts.tv_sec), Int32(ts.tv_nsec))
    }

    /// CLOCK_BOOTTIME (what the BPF programs' `bpf_ktime_get_boot_ns` returns); CLOCK_MONOTONIC outside Linux
    /// (development builds only).
    @inline(__always) public static func bootNs() -> Int64 {
        #if os(Linux)
            read(CLOCK_BOOTTIME)
        #else
            read(CLOCK_MONOTONIC)
        #endif
    }

    @inline(__always) private static func read(_ clock: clockid_t) -> Int64 {
        var ts = timespec()
        guard clock_gettime(clock, &ts) == 0 else { return 0 }
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
