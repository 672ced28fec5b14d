import Foundation
import SpyglassSupport
import Testing

@Suite struct PThreadConditionTests {
    @Test func waitEndsAtTheTimeoutWhenNothingIsReady() {
        let queue = PThreadMutex<[Int]>([])
        let ready = PThreadCondition()
        let start = SystemClock.monotonicNs()
        let got = queue.withLock(waitingOn: ready, timeoutNs: 50_000_000, until: { !$0.isEmpty }) { $0.first }
        let waited = SystemClock.monotonicNs() - start
        #expect(got == nil)
        #expect(waited >= 50_000_000, "returned after \(waited) ns")
    }

    @Test func readyValueDoesNotWait() {
        let queue = PThreadMutex([7])
        let got = queue.withLock(waitingOn: PThreadCondition(), timeoutNs: 10_000_000_000, until: { !$0.isEmpty }) {
            $0.removeFirst()
        }
        #expect(got == 7)
    }

    @Test func signalWakesTheWaiterWithTheValue() {
        let queue = PThreadMutex<[Int]>([])
        let ready = PThreadCondition()
        let producer = Thread {
            Thread.sleep(forTimeInterval: 0.05)
            queue.withLock { q in
                q.append(42)
                ready.signal()
            }
        }
        producer.start()
        let start = SystemClock.monotonicNs()
        // A long timeout: only the signal can end this wait early.
        let got = queue.withLock(waitingOn: ready, timeoutNs: 30_000_000_000, until: { !$0.isEmpty }) {
            $0.isEmpty ? nil : $0.removeFirst()
        }
        #expect(got == 42)
        #expect(SystemClock.monotonicNs() - start < 20_000_000_000)
    }

    @Test func broadcastWakesEveryWaiter() {
        let state = PThreadMutex((open: false, woken: 0))
        let opened = PThreadCondition()
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            Thread {
                state.withLock(waitingOn: opened, timeoutNs: 30_000_000_000, until: { $0.open }) { $0.woken += 1 }
                group.leave()
            }.start()
        }
        Thread.sleep(forTimeInterval: 0.05)
        state.withLock { s in
            s.open = true
            opened.broadcast()
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(state.withLock { $0.woken } == 3)
    }
}

@Suite struct TrimmingTests {
    @Test func eachTrimSkipsOnlyItsCharacters() {
        #expect(" \tgzip\t ".trimmingSpacesAndTabs() == "gzip")
        #expect(" \tq=1 ".trimmingSpaces() == "\tq=1")
        #expect("\n 10.0.0.1/8 \r\n".trimmingWhitespace() == "10.0.0.1/8")
        #expect("   ".trimmingSpaces().isEmpty)
        #expect("".trimmingWhitespace().isEmpty)
        #expect("a b".trimming { $0 == "a" } == " b")
    }
}
