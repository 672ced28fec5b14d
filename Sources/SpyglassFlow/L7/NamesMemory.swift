/// IP → DNS names learned from answers (the `dns` context reads them from `source_names`/`destination_names`).
///
/// Bounded: at most `capacity` IPs and `byteBudget` bytes (the least recently answered IP is evicted first), and
/// `maxNamesPerIP` names per IP (the one expiring first is replaced). Each name lives for its answer's TTL, clamped into
/// `minTTL...maxTTL` — the clamp keeps names on long-lived connections to short-TTL addresses. Node-wide: unlike
/// Cilium's per-endpoint cache, a name one pod resolved also labels another pod's flows to that IP.
struct NamesMemory {
    struct Entry {
        /// Sorted, unique.
        var names: [String]
        /// Parallel to `names`: monotonic ns after which each name is gone.
        var expires: [UInt64]
        /// min(expires): a lookup before it needs no filtering.
        var firstExpiry: UInt64
    }

    private var table: LRUTable<IPAddress, Entry>
    let maxNamesPerIP: Int
    let minTTLNs: UInt64
    let maxTTLNs: UInt64
    /// IPs evicted because `capacity` was reached.
    private(set) var evictions: UInt64 = 0
    /// IPs evicted because `byteBudget` was reached.
    private(set) var byteEvictions: UInt64 = 0

    init(capacity: Int, byteBudget: Int = .max, maxNamesPerIP: Int, minTTLNs: UInt64, maxTTLNs: UInt64) {
        table = LRUTable(capacity: capacity, byteBudget: byteBudget)
        self.maxNamesPerIP = max(1, maxNamesPerIP)
        self.minTTLNs = minTTLNs
        self.maxTTLNs = max(minTTLNs, maxTTLNs)
    }

    var count: Int { table.count }
    /// Bytes the remembered IPs and names hold.
    var bytes: Int { table.bytes }

    private static let entryOverhead = LRUTable<IPAddress, Entry>.entryOverhead

    mutating func insert(ip: IPAddress, name: String, ttlSeconds: UInt32, now: UInt64) {
        let ttl = min(max(UInt64(ttlSeconds) &* 1_000_000_000, minTTLNs), maxTTLNs)
        let expiry = now &+ ttl
        let slot: Int32
        if let s = table.slot(of: ip) {
            slot = s
            table.touch(slot, stamp: now)
            table[slot: slot].add(name, expiry: expiry, now: now, max: maxNamesPerIP)
            table.setCost(slot, NamesMemory.entryOverhead + table[slot: slot].heapCost)
        } else {
            let entry = Entry(names: [name], expires: [expiry], firstExpiry: expiry)
            let inserted = table.insert(ip, entry, stamp: now, cost: NamesMemory.entryOverhead + entry.heapCost)
            if inserted.evicted != nil { evictions &+= 1 }
            slot = inserted.slot
        }
        if table.isOverBudget {
            var n: UInt64 = 0
            table.evictOverBudget(keeping: slot) { _, _ in n += 1 }
            byteEvictions &+= n
        }
    }

    /// Names of `ip` that have not expired at `now`, sorted; empty when none.
    mutating func names(of ip: IPAddress, now: UInt64) -> [String] {
        guard let slot = table.slot(of: ip) else { return [] }
        if table[slot: slot].firstExpiry > now { return table[slot: slot].names }
        table[slot: slot].dropExpired(now: now)
        if table[slot: slot].names.isEmpty {
            table.removeSlot(slot)
            return []
        }
        table.setCost(slot, NamesMemory.entryOverhead + table[slot: slot].heapCost)
        return table[slot: slot].names
    }

    /// Drops every expired name (and IPs left without names).
    mutating func expire(now: UInt64) {
        for slot in table.allSlots() where table[slot: slot].firstExpiry <= now {
            table[slot: slot].dropExpired(now: now)
            if table[slot: slot].names.isEmpty {
                table.removeSlot(slot)
            } else {
                table.setCost(slot, NamesMemory.entryOverhead + table[slot: slot].heapCost)
            }
        }
    }
}

extension NamesMemory.Entry {
    mutating func add(_ name: String, expiry: UInt64, now: UInt64, max: Int) {
        dropExpired(now: now)
        // Binary search for the sorted position.
        var lo = 0
        var hi = names.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if names[mid] < name { lo = mid + 1 } else { hi = mid }
        }
        if lo < names.count && names[lo] == name {
            expires[lo] = Swift.max(expires[lo], expiry)
        } else {
            if names.count >= max {
                // Replace the name expiring first.
                var victim = 0
                for i in expires.indices where expires[i] < expires[victim] { victim = i }
                guard expires[victim] < expiry else { return }
                names.remove(at: victim)
                expires.remove(at: victim)
                if victim < lo { lo -= 1 }
            }
            names.insert(name, at: lo)
            expires.insert(expiry, at: lo)
        }
        firstExpiry = expires.min() ?? .max
    }

    mutating func dropExpired(now: UInt64) {
        guard firstExpiry <= now else { return }
        var i = 0
        while i < names.count {
            if expires[i] <= now {
                names.remove(at: i)
                expires.remove(at: i)
            } else {
                i += 1
            }
        }
        firstExpiry = expires.min() ?? .max
    }
}
