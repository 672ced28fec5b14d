import SpyglassSupport

/// Conversion between the BPF event clock (CLOCK_BOOTTIME, `bpf_ktime_get_boot_ns`) and wall-clock time.
public enum BootClock {
    /// CLOCK_REALTIME − CLOCK_BOOTTIME in nanoseconds, computed once by the caller and given to `EventDecoder`.
    ///
    /// Samples boot/real/boot a few times and keeps the tightest bracket, so scheduling noise between the two
    /// clock reads does not leak into the offset. Re-compute after a wall-clock step (NTP) if that matters.
    public static func bootToWallOffsetNs(samples: Int = 5) -> Int64 {
        var bestGap = Int64.max
        var bestOffset: Int64 = 0
        for _ in 0..<max(1, samples) {
            let b1 = SystemClock.bootNs()
            let r = SystemClock.wallNs()
            let b2 = SystemClock.bootNs()
            let gap = b2 &- b1
            let offset = r &- (b1 &+ gap / 2)
            if gap < bestGap {
                bestGap = gap
                bestOffset = offset
            }
        }
        return bestOffset
    }

    /// Current CLOCK_BOOTTIME in nanoseconds (what `bpf_ktime_get_boot_ns` returns).
    public static func bootNowNs() -> UInt64 { UInt64(bitPattern: SystemClock.bootNs()) }

    /// Current CLOCK_REALTIME in nanoseconds since the Unix epoch.
    public static func wallNowNs() -> Int64 { SystemClock.wallNs() }
}
