/// A bounded map with least-recently-used order: a dictionary from key to slot plus a doubly linked list threaded
/// through a slot array (no per-entry allocation beyond the dictionary's; freed slots are reused).
///
/// `stamp` is the caller's time of the last `touch`/`insert`; because entries move to the front on touch, stamps
/// grow from the tail (oldest) to the head, so expiry walks from the tail and stops at the first fresh entry.
/// Not thread-safe.
struct LRUTable<Key: Hashable, Value> {
    struct Node {
        var key: Key
        var value: Value?
        var stamp: UInt64
        var prev: Int32
        var next: Int32
    }

    private(set) var capacity: Int
    private var index: [Key: Int32] = [:]
    private var nodes: [Node] = []
    private var free: [Int32] = []
    private var head: Int32 = -1  // most recent
    private var tail: Int32 = -1  // least recent

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { index.count }
    var isEmpty: Bool { index.isEmpty }

    func slot(of key: Key) -> Int32? { index[key] }

    func stamp(at slot: Int32) -> UInt64 { nodes[Int(slot)].stamp }
    func key(at slot: Int32) -> Key { nodes[Int(slot)].key }

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
    mutating func insert(_ key: Key, _ value: Value, stamp: UInt64) -> (slot: Int32, evicted: (Key, Value)?) {
        var evicted: (Key, Value)? = nil
        if index.count >= capacity, tail >= 0 {
            evicted = removeSlot(tail)
        }
        let slot: Int32
        if let s = free.popLast() {
            slot = s
            nodes[Int(s)] = Node(key: key, value: value, stamp: stamp, prev: -1, next: -1)
        } else {
            slot = Int32(nodes.count)
            nodes.append(Node(key: key, value: value, stamp: stamp, prev: -1, next: -1))
        }
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
