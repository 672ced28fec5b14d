import CLibBPF
import CSpyglassBPF
import SpyglassFlow
import SpyglassSupport
import Synchronization

/// The tc programs' `spy_l7_skip` map as the L7 assembler's `L7BodySkipWriter`: one `bpf_map_update_elem` per
/// body part, from the pipeline thread. Failed writes (the kernel then reports the body's segments as before) are
/// counted in `failures` (`spyglass_datapath_l7_skip_write_failures_total`).
public final class L7SkipMap: L7BodySkipWriter {
    /// Keeps the programs, and so the map's fd, alive.
    private let programs: TCPrograms
    private let fd: Int32
    private let failureCount = Atomic<UInt64>(0)

    public init(programs: TCPrograms) {
        self.programs = programs
        fd = programs.l7SkipMapFD
    }

    public var failures: UInt64 { failureCount.load(ordering: .relaxed) }

    public func skip(_ direction: L7Direction, from: UInt32, end: UInt32) {
        var key = spy_l7_skip_key()
        Self.copy(direction.source, into: &key.saddr)
        Self.copy(direction.destination, into: &key.daddr)
        key.sport = direction.sourcePort
        key.dport = direction.destinationPort
        key.family = direction.source.isIPv6 ? 6 : 4
        var value = spy_l7_skip_value(from_seq: from, end_seq: end)
        if bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY)) != 0 {
            failureCount.add(1, ordering: .relaxed)
        }
    }

    /// The address in network byte order, IPv4 in the first 4 bytes (as the kernel copies it from the packet).
    private static func copy(
        _ a: IPAddress,
        into field:
            inout (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8
            )
    ) {
        withUnsafeMutableBytes(of: &field) { raw in
            raw.storeBytes(of: a.high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: a.low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
    }

    /// `spyglass_datapath_l7_skip_write_failures_total`.
    public func selfMetrics() -> [SelfMetricFamily] {
        [
            SelfMetricFamily(
                name: "spyglass_datapath_l7_skip_write_failures_total", kind: .counter,
                help:
                    "Writes of the HTTP body parts the kernel may leave out that failed (those bodies' segments are reported as before)",
                samples: [MetricSample(value: Double(failures))])
        ]
    }
}
