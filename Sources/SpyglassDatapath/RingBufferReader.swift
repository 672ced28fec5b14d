import CLibBPF
import Foundation
import Glibc
import Synchronization

/// Reads the BPF ring buffer on its own thread and hands events on in batches through an `EventQueue`.
///
/// The kernel batches wakeups (only every `wakeupBytes`), so the loop also drains on every poll timeout: a
/// trickle of events waits at most `pollTimeoutMs`.
public final class RingBufferReader: @unchecked Sendable {
    // @unchecked: `ring` and `context` are created in init and used only by the reader thread until `stop`,
    // which joins it before freeing them.
    private let ring: OpaquePointer
    private let context: Context
    private let queue: EventQueue
    private let pollTimeoutMs: Int32
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    final class Context {
        let queue: EventQueue
        var batch: EventBatch
        let running = Atomic<Bool>(false)
        init(queue: EventQueue) {
            self.queue = queue
            self.batch = queue.takeEmpty()
        }
        @inline(__always) func flush() {
            guard batch.count > 0 else { return }
            queue.push(batch)
            batch = queue.takeEmpty()
        }
        /// After a poll: hand the batch over only when the consumer has nothing queued. While it is busy the batch
        /// keeps filling (a full one is pushed by the sample callback), so the queue's capacity is spent on full
        /// batches, not on the many small ones a poll returns, and nothing is refused while the queue holds little.
        @inline(__always) func flushWhenConsumerIdle() {
            guard batch.count > 0, queue.depth == 0 else { return }
            flush()
        }
    }

    public init(programs: TCPrograms, queue: EventQueue, pollTimeoutMs: Int32 = 100) throws {
        self.queue = queue
        self.pollTimeoutMs = pollTimeoutMs
        self.context = Context(queue: queue)
        let ctx = Unmanaged.passUnretained(context).toOpaque()
        guard let rb = ring_buffer__new(programs.eventsMapFD, ringBufferSample, ctx, nil) else {
            throw libbpfError("creating the ring buffer reader", Int32(-errno))
        }
        self.ring = rb
    }

    deinit { ring_buffer__free(ring) }

    public func start() {
        context.running.store(true, ordering: .relaxed)
        let t = Thread { [self] in
            while context.running.load(ordering: .relaxed) {
                let n = ring_buffer__poll(ring, pollTimeoutMs)
                if n == 0 { _ = ring_buffer__consume(ring) }
                context.flushWhenConsumerIdle()
            }
            _ = ring_buffer__consume(ring)
            context.flush()
            done.signal()
        }
        t.name = "spyglass-ringbuf"
        thread = t
        t.start()
    }

    /// Stops the loop after a final drain; returns when the thread has finished.
    public func stop() {
        guard thread != nil else { return }
        context.running.store(false, ordering: .relaxed)
        done.wait()
        thread = nil
    }
}

/// The libbpf sample callback: copies the record into the current batch (flushing a full batch first).
private func ringBufferSample(_ ctx: UnsafeMutableRawPointer?, _ data: UnsafeMutableRawPointer?, _ size: Int) -> Int32 {
    guard let ctx, let data else { return 0 }
    let context = Unmanaged<RingBufferReader.Context>.fromOpaque(ctx).takeUnretainedValue()
    if !context.batch.append(data, length: size) {
        context.flush()
        _ = context.batch.append(data, length: size)
    }
    return 0
}
