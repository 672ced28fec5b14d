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

/// A condition variable for a `PThreadMutex`: a producer calls `signal()` inside `withLock` after making the value
/// ready; a consumer waits with `withLock(waitingOn:timeoutNs:until:_:)`. Waits are timed on CLOCK_MONOTONIC, so a
/// wall-clock step neither cuts a wait short nor stretches it.
public final class PThreadCondition: @unchecked Sendable {
    // @unchecked: a pthread condition variable is made for use from many threads.
    fileprivate let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
    }

    /// Wakes one waiter.
    @inline(__always) public func signal() { pthread_cond_signal(condition) }

    /// Wakes every waiter.
    @inline(__always) public func broadcast() { pthread_cond_broadcast(condition) }
}

extension PThreadMutex {
    /// Takes the lock and, while `isReady` is false, waits on `condition` (the lock released meanwhile) until it is
    /// signalled or `timeoutNs` has passed; then runs `body` with the lock held, ready or timed out. The value is
    /// not borrowed across a wait, so producers change it freely in their own `withLock`.
    @inline(__always)
    public func withLock<Result>(
        waitingOn condition: PThreadCondition, timeoutNs: Int64, until isReady: (inout Value) -> Bool,
        _ body: (inout Value) -> Result
    ) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if !isReady(&value) {
            var deadline = timespec()
            clock_gettime(CLOCK_MONOTONIC, &deadline)
            let ns = Int64(deadline.tv_nsec) + max(0, timeoutNs) % 1_000_000_000
            deadline.tv_sec += time_t(max(0, timeoutNs) / 1_000_000_000 + ns / 1_000_000_000)
            deadline.tv_nsec = Int(ns % 1_000_000_000)
            repeat {
                if pthread_cond_timedwait(condition.condition, mutex, &deadline) == ETIMEDOUT { break }
            } while !isReady(&value)
        }
        return body(&value)
    }
}
