import SpyglassFlow

/// Longest-prefix-match table for one family: one sorted run of keys per prefix length present, longest length
/// first, all runs in one flat array. A lookup masks the address for each length and binary-searches that
/// length's run; the first hit is the longest match. Immutable once built, so readers need no lock; a lookup
/// touches only flat arrays of integers and does not allocate.
struct PrefixTable<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// Per level (longest first): its mask and where its run starts in `keys`; `starts` has one extra end entry.
    private let masks: [Key]
    private let starts: [Int]
    private let keys: [Key]
    private let values: [Int32]

    /// `entries` must hold each key/length at most once.
    init(_ entries: [(key: Key, length: Int, value: Int32)]) {
        var byLength: [Int: [(Key, Int32)]] = [:]
        for e in entries { byLength[e.length, default: []].append((e.key, e.value)) }
        var masks: [Key] = []
        var starts: [Int] = []
        var keys: [Key] = []
        var values: [Int32] = []
        for len in byLength.keys.sorted(by: >) {
            let run = byLength[len]!.sorted { $0.0 < $1.0 }
            masks.append(len == 0 ? 0 : Key.max << (Key.bitWidth - len))
            starts.append(keys.count)
            keys.append(contentsOf: run.map(\.0))
            values.append(contentsOf: run.map(\.1))
        }
        starts.append(keys.count)
        self.masks = masks
        self.starts = starts
        self.keys = keys
        self.values = values
    }

    @inline(__always) func lookup(_ ip: Key) -> Int32 {
        var level = 0
        let levels = masks.count
        while level < levels {
            let k = ip & masks[level]
            var lo = starts[level]
            var hi = starts[level + 1]
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                let v = keys[mid]
                if v == k { return values[mid] }
                if v < k { lo = mid + 1 } else { hi = mid }
            }
            level += 1
        }
        return -1
    }

    var count: Int { keys.count }
}

typealias PrefixTable4 = PrefixTable<UInt32>
typealias PrefixTable6 = PrefixTable<UInt128>

extension PrefixTable where Key == UInt32 {
    init(_ entries: [(prefix: IPPrefix, value: Int32)]) {
        self.init(
            entries.filter { !$0.prefix.isIPv6 }.map {
                (UInt32(truncatingIfNeeded: $0.prefix.address.high >> 32), Int($0.prefix.length), $0.value)
            })
    }
}

extension PrefixTable where Key == UInt128 {
    init(_ entries: [(prefix: IPPrefix, value: Int32)]) {
        self.init(
            entries.filter { $0.prefix.isIPv6 }.map {
                (PrefixTable6.key($0.prefix.address), Int($0.prefix.length), $0.value)
            })
    }

    @inline(__always) static func key(_ ip: IPAddress) -> UInt128 { UInt128(ip.high) << 64 | UInt128(ip.low) }
}

/// One immutable view of everything known, swapped in whole when a source changes.
final class ResolverSnapshot: Sendable {
    let endpoints4: PrefixTable4
    let endpoints6: PrefixTable6
    let endpoints: [Endpoint]
    let services4: PrefixTable4
    let services6: PrefixTable6
    let services: [Service]
    let worldV4: Endpoint
    let worldV6: Endpoint
    let generation: UInt64

    /// `endpoints` are distinct values; `prefixes` point into them.
    init(
        endpoints eps: [Endpoint], prefixes entries: [(prefix: IPPrefix, value: Int32)],
        services: [(prefix: IPPrefix, service: Service)], worldV4: Endpoint, worldV6: Endpoint, generation: UInt64
    ) {
        self.endpoints = eps
        endpoints4 = PrefixTable4(entries)
        endpoints6 = PrefixTable6(entries)
        var svcs: [Service] = []
        var svcIndex: [Service: Int32] = [:]
        var svcEntries: [(prefix: IPPrefix, value: Int32)] = []
        for (prefix, svc) in services {
            let i: Int32
            if let known = svcIndex[svc] {
                i = known
            } else {
                i = Int32(svcs.count)
                svcs.append(svc)
                svcIndex[svc] = i
            }
            svcEntries.append((prefix, i))
        }
        self.services = svcs
        services4 = PrefixTable4(svcEntries)
        services6 = PrefixTable6(svcEntries)
        self.worldV4 = worldV4
        self.worldV6 = worldV6
        self.generation = generation
    }

    static func empty(worldV4: Endpoint, worldV6: Endpoint) -> ResolverSnapshot {
        ResolverSnapshot(endpoints: [], prefixes: [], services: [], worldV4: worldV4, worldV6: worldV6, generation: 0)
    }

    /// Index into `endpoints`, or -1. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are looked up as IPv4.
    @inline(__always) func endpointIndex(_ ip: IPAddress) -> Int32 {
        if !ip.isIPv6 { return endpoints4.lookup(UInt32(truncatingIfNeeded: ip.high >> 32)) }
        if ip.high == 0 && ip.low >> 32 == 0xffff { return endpoints4.lookup(UInt32(truncatingIfNeeded: ip.low)) }
        return endpoints6.lookup(PrefixTable6.key(ip))
    }

    @inline(__always) func serviceIndex(_ ip: IPAddress) -> Int32 {
        if !ip.isIPv6 { return services4.lookup(UInt32(truncatingIfNeeded: ip.high >> 32)) }
        if ip.high == 0 && ip.low >> 32 == 0xffff { return services4.lookup(UInt32(truncatingIfNeeded: ip.low)) }
        return services6.lookup(PrefixTable6.key(ip))
    }

    @inline(__always) func resolve(_ ip: IPAddress) -> Endpoint {
        let i = endpointIndex(ip)
        if i >= 0 { return endpoints[Int(i)] }
        return ip.isIPv6 && !(ip.high == 0 && ip.low >> 32 == 0xffff) ? worldV6 : worldV4
    }
}
