import SpyglassFlow

/// Longest-prefix-match tables for one family: one sorted key array per prefix length present, longest length
/// first. A lookup masks the address for each length and binary-searches that length's keys; the first hit is the
/// longest match. Immutable once built, so readers need no lock; no allocation on lookup.
struct PrefixTable4: Sendable {
    struct Level: Sendable {
        let mask: UInt32
        let keys: [UInt32]
        let values: [Int32]
    }
    let levels: [Level]

    /// `entries` must hold each prefix at most once.
    init(_ entries: [(prefix: IPPrefix, value: Int32)]) {
        var byLength: [UInt8: [(UInt32, Int32)]] = [:]
        for e in entries where !e.prefix.isIPv6 {
            byLength[e.prefix.length, default: []].append((UInt32(truncatingIfNeeded: e.prefix.address.high >> 32), e.value))
        }
        levels = byLength.keys.sorted(by: >).map { len in
            let sorted = byLength[len]!.sorted { $0.0 < $1.0 }
            return Level(mask: IPPrefix.mask32(.max, Int(len)), keys: sorted.map(\.0), values: sorted.map(\.1))
        }
    }

    @inline(__always) func lookup(_ ip: UInt32) -> Int32 {
        for level in levels {
            let k = ip & level.mask
            var lo = 0
            var hi = level.keys.count
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                let v = level.keys[mid]
                if v == k { return level.values[mid] }
                if v < k { lo = mid + 1 } else { hi = mid }
            }
        }
        return -1
    }

    var count: Int { levels.reduce(0) { $0 + $1.keys.count } }
}

struct PrefixTable6: Sendable {
    struct Level: Sendable {
        let mask: UInt128
        let keys: [UInt128]
        let values: [Int32]
    }
    let levels: [Level]

    init(_ entries: [(prefix: IPPrefix, value: Int32)]) {
        var byLength: [UInt8: [(UInt128, Int32)]] = [:]
        for e in entries where e.prefix.isIPv6 {
            byLength[e.prefix.length, default: []].append((PrefixTable6.key(e.prefix.address), e.value))
        }
        levels = byLength.keys.sorted(by: >).map { len in
            let sorted = byLength[len]!.sorted { $0.0 < $1.0 }
            return Level(mask: IPPrefix.mask128(.max, Int(len)), keys: sorted.map(\.0), values: sorted.map(\.1))
        }
    }

    @inline(__always) static func key(_ ip: IPAddress) -> UInt128 { UInt128(ip.high) << 64 | UInt128(ip.low) }

    @inline(__always) func lookup(_ ip: UInt128) -> Int32 {
        for level in levels {
            let k = ip & level.mask
            var lo = 0
            var hi = level.keys.count
            while lo < hi {
                let mid = (lo &+ hi) >> 1
                let v = level.keys[mid]
                if v == k { return level.values[mid] }
                if v < k { lo = mid + 1 } else { hi = mid }
            }
        }
        return -1
    }

    var count: Int { levels.reduce(0) { $0 + $1.keys.count } }
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

    init(
        endpoints: [(prefix: IPPrefix, endpoint: Endpoint)], services: [(prefix: IPPrefix, service: Service)],
        worldV4: Endpoint, worldV6: Endpoint, generation: UInt64
    ) {
        var eps: [Endpoint] = []
        var index: [Endpoint: Int32] = [:]
        var entries: [(prefix: IPPrefix, value: Int32)] = []
        entries.reserveCapacity(endpoints.count)
        for (prefix, ep) in endpoints {
            let i: Int32
            if let known = index[ep] { i = known } else {
                i = Int32(eps.count)
                eps.append(ep)
                index[ep] = i
            }
            entries.append((prefix, i))
        }
        self.endpoints = eps
        endpoints4 = PrefixTable4(entries)
        endpoints6 = PrefixTable6(entries)
        var svcs: [Service] = []
        var svcIndex: [Service: Int32] = [:]
        var svcEntries: [(prefix: IPPrefix, value: Int32)] = []
        for (prefix, svc) in services {
            let i: Int32
            if let known = svcIndex[svc] { i = known } else {
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
        ResolverSnapshot(endpoints: [], services: [], worldV4: worldV4, worldV6: worldV6, generation: 0)
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
