#if canImport(Glibc)
    import Glibc
#endif

/// A value behind a pthread mutex, with the standard library `Mutex`'s `withLock` shape.
///
/// Why not `Synchronization.Mutex`: on Linux it locks with futex calls ThreadSanitizer does not see, so every access
/// it guards is reported as a race (a two-thread program appending under `Mutex.withLock` is enough to show it). The
/// test suite runs under ThreadSanitizer, which intercepts pthread mutexes; uncontended, both cost about the same.
public final class PThreadMutex<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched between lock and unlock of `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

extension PThreadMutex where Value == Void {
    /// A plain lock, for a class whose guarded fields stay its own stored properties.
    public convenience init() { self.init(()) }

    @inline(__always)
    public func withLock<Result, Failure: Error>(_ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        try withLock { (_: inout Void) throws(Failure) -> Result in try body() }
    }
}
