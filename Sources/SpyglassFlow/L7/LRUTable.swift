/// A bounded map with least-recently-used order: a dictionary from key to slot plus a doubly linked list threaded
/// through a slot array (no per-entry allocation beyond the dictionary's; freed slots are reused).
///
/// `stamp` is the caller's time of the last `touch`/`insert`; because entries move to the front on touch, stamps
/// grow from the tail (oldest) to the head, so expiry walks from the tail and stops at the first fresh entry.
/// Besides the entry count, the table keeps the bytes its entries hold (`bytes`: the caller states each entry's
/// cost on insert and on in-place growth, `setCost`) so it can be held under a byte budget (`evictOverBudget`).
/// Not thread-safe.
struct LRUTable<Key: Hashable, Value> {
    struct Node {
        var key: Key
        var value: Value?
        var stamp: UInt64
        var cost: Int
        var prev: Int32
        var next: Int32
    }

    private(set) var capacity: Int
    /// Most bytes the entries may hold (`evictOverBudget`); `Int.max` when only the count is bounded.
    let byteBudget: Int
    /// Sum of the live entries' costs.
    private(set) var bytes = 0
    private var index: [Key: Int32] = [:]
    private var nodes: [Node] = []
    private var free: [Int32] = []
    private var head: Int32 = -1  // most recent
    private var tail: Int32 = -1  // least recent

    init(capacity: Int, byteBudget: Int = .max) {
        self.capacity = max(1, capacity)
        self.byteBudget = max(0, byteBudget)
    }

    /// What one entry costs besides the heap storage of its value: its node and its index slot (a dictionary
    /// keeps about one free slot per three used). Callers add the bytes their values own on the heap.
    static var entryOverhead: Int {
        MemoryLayout<Node>.stride + (MemoryLayout<Key>.stride + MemoryLayout<Int32>.stride) * 4 / 3
    }

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    func slot(of key: Key) -> Int32? { index[key] }

    func stamp(at slot: Int32) -> UInt64 { nodes[Int(slot)].stamp }
    func key(at slot: Int32) -> Key { nodes[Int(slot)].key }
    func cost(at slot: Int32) -> Int { nodes[Int(slot)].cost }

    /// Restates an entry's cost after its value changed in place.
    mutating func setCost(_ slot: Int32, _ cost: Int) {
        bytes += cost - nodes[Int(slot)].cost
        nodes[Int(slot)].cost = cost
    }

    /// True when the entries hold more than `byteBudget`.
    var isOverBudget: Bool { bytes > byteBudget }

    /// Removes least recent entries, never `keeping`, until the entries fit `byteBudget`; hands each to `body`.
    mutating func evictOverBudget(keeping: Int32 = -1, _ body: (Key, Value) -> Void) {
        while bytes > byteBudget, tail >= 0 {
            var victim = tail
            if victim == keeping {
                victim = nodes[Int(victim)].prev
                guard victim >= 0 else { return }
            }
            let (k, v) = removeSlot(victim)
            body(k, v)
        }
    }

    /// In-place access to a value (the slot must be live).
    subscript(slot slot: Int32) -> Value {
        get { nodes[Int(slot)].value! }
        _modify {
            var v = nodes[Int(slot)].value.take()!
            defer { nodes[Int(slot)].value = v }
            yield &v
        }
    }

    /// Moves the entry to the front and sets its stamp.
    mutating func touch(_ slot: Int32, stamp: UInt64) {
        nodes[Int(slot)].stamp = stamp
        guard slot != head else { return }
        unlink(slot)
        pushFront(slot)
    }

    /// Inserts a new key (the caller checked it is absent). When full, the least recent entry is evicted first and
    /// returned.
    @discardableResult
    mutating func insert(_ key: Key, _ value: Value, stamp: UInt64, cost: Int = 0) -> (
        slot: Int32, evicted: (Key, Value)?
    ) {
        var evicted: (Key, Value)? = nil
        if index.count >= capacity, tail >= 0 {
            evicted = removeSlot(tail)
        }
        let slot: Int32
        if let s = free.popLast() {
            slot = s
            nodes[Int(s)] = Node(key: key, value: value, stamp: stamp, cost: cost, prev: -1, next: -1)
        } else {
            slot = Int32(nodes.count)
            nodes.append(Node(key: key, value: value, stamp: stamp, cost: cost, prev: -1, next: -1))
        }
        bytes += cost
        index[key] = slot
        pushFront(slot)
        return (slot, evicted)
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Value? {
        guard let s = index[key] else { return nil }
        return removeSlot(s).1
    }

    @discardableResult
    mutating func removeSlot(_ slot: Int32) -> (Key, Value) {
        unlink(slot)
        let key = nodes[Int(slot)].key
        let value = nodes[Int(slot)].value.take()!
        bytes -= nodes[Int(slot)].cost
        nodes[Int(slot)].cost = 0
        index[key] = nil
        free.append(slot)
        return (key, value)
    }

    /// The least recently used slot.
    var oldest: Int32? { tail >= 0 ? tail : nil }

    /// Removes entries from the tail while `stamp < cutoff` and hands each to `body`.
    mutating func removeOlder(than cutoff: UInt64, _ body: (Key, Value) -> Void) {
        while tail >= 0, nodes[Int(tail)].stamp < cutoff {
            let (k, v) = removeSlot(tail)
            body(k, v)
        }
    }

    /// Visits every live slot (most recent first). `body` must not insert or remove.
    func forEachSlot(_ body: (Int32) -> Void) {
        var s = head
        while s >= 0 {
            let next = nodes[Int(s)].next
            body(s)
            s = next
        }
    }

    /// All live slots, most recent first (for removal while iterating).
    func allSlots() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        forEachSlot { out.append($0) }
        return out
    }

    mutating func removeAll() {
        index.removeAll()
        nodes.removeAll()
        free.removeAll()
        bytes = 0
        head = -1
        tail = -1
    }

    private mutating func unlink(_ s: Int32) {
        let p = nodes[Int(s)].prev
        let n = nodes[Int(s)].next
        if p >= 0 { nodes[Int(p)].next = n } else { head = n }
        if n >= 0 { nodes[Int(n)].prev = p } else { tail = p }
        nodes[Int(s)].prev = -1
        nodes[Int(s)].next = -1
    }

    private mutating func pushFront(_ s: Int32) {
        nodes[Int(s)].prev = -1
        nodes[Int(s)].next = head
        if head >= 0 { nodes[Int(head)].prev = s }
        head = s
        if tail < 0 { tail = s }
    }
}
