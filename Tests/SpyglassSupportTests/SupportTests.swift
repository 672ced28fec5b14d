import Foundation
import SpyglassSupport
import Testing

@Suite struct PThreadMutexTests {
    @Test func incrementsFromManyThreadsAreNotLost() {
        let counter = PThreadMutex(0)
        let lock = PThreadMutex<Void>()
        nonisolated(unsafe) var plain = 0
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<10_000 {
                counter.withLock { $0 += 1 }
                lock.withLock { plain += 1 }
            }
        }
        #expect(counter.withLock { $0 } == 80_000)
        #expect(lock.withLock { plain } == 80_000)
    }

    @Test func bodyErrorsPassThroughAndReleaseTheLock() {
        struct Boom: Error {}
        let m = PThreadMutex(1)
        #expect(throws: Boom.self) { try m.withLock { (_: inout Int) throws(Boom) in throw Boom() } }
        #expect(m.withLock { $0 } == 1)
    }
}

@Suite struct TimeTextTests {
    @Test func goDurations() {
        #expect(GoDuration.parse("1h2m3.5s") == .seconds(3723.5))
        #expect(GoDuration.parse("300ms") == .milliseconds(300))
        #expect(GoDuration.parse("-1µs") == .microseconds(-1))
        #expect(GoDuration.parse("0") == .zero)
        #expect(GoDuration.parse("5") == nil)
        #expect(GoDuration.parse("1d") == nil)
        #expect(GoDuration.nanoseconds("-1s") == nil)
        #expect(GoDuration.nanoseconds("2s") == 2_000_000_000)
    }

    @Test func rfc3339() {
        #expect(RFC3339.parse("2023-10-09T23:59:59-07:00")! == (1_696_921_199, 0))
        #expect(RFC3339.parse("1970-01-01T00:00:01.123456789123Z")! == (1, 123_456_789))
        #expect(RFC3339.parse(" 2000-02-29t00:00:00+01:30 ")! == (951_777_000, 0))
        for bad in [
            "2023-10-09", "2023-10-09T23:59:59", "2023-13-09T23:59:59Z", "2023-10-09T23:59:59.Z",
            "2023-10-09T23:59:59Zx"
        ] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func clocks() {
        let m1 = SystemClock.monotonicNs(), m2 = SystemClock.monotonicNs()
        #expect(m1 > 0 && m2 >= m1)
        #expect(SystemClock.coarseMonotonicNs() > 0)
        #expect(SystemClock.bootNs() >= m1)  // CLOCK_BOOTTIME also counts suspended time
        let wall = SystemClock.wall()
        let foundation = Date().timeIntervalSince1970
        #expect(abs(Double(wall.seconds) - foundation) < 5)
        #expect((0..<1_000_000_000).contains(wall.nanos))
        #expect(abs(Double(SystemClock.wallNs()) / 1e9 - foundation) < 5)
    }
}

@Suite struct DataTextTests {
    @Test func fnv1aKnownVectors() {
        #expect(FNV1a.hash64([UInt8]()) == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash64("a".utf8) == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash64("foobar".utf8) == 0x8594_4171_f739_67e8)
    }

    @Test func jsonTextEscapesAndReadsBack() throws {
        let v = JSONValue.object([
            JSONMember(key: "s", value: .string("a\"b\\c\n\u{1}é")),
            JSONMember(key: "n", value: .number("18446744073709551615")),
            JSONMember(key: "l", value: .array([.bool(true), .null]))
        ])
        #expect(v.jsonText == #"{"s":"a\"b\\c\n\u0001é","n":18446744073709551615,"l":[true,null]}"#)
        #expect(try JSONReader.value(v.jsonText) == v)
        #expect(v["n"] == .number("18446744073709551615"))
        #expect(v["missing"] == nil)
    }

    @Test func yamlDocumentGuardsAndErrors() throws {
        #expect(try YAMLDocument.load("") == nil)
        let root = try #require(try YAMLDocument.load("a: [1, 2]\nb: 1:30\n"))
        #expect(root["a"]?.array().count == 2)
        #expect(root["b"]?.checkedInt == 90)
        do {
            _ = try YAMLDocument.load(String(repeating: "[", count: 65))
            Issue.record("accepted")
        } catch {
            guard case .tooDeep(let problem) = error else { Issue.record("\(error)"); return }
            #expect(problem.hasPrefix("line 1: YAML nested too deeply"))
        }
        do {
            _ = try YAMLDocument.load("a: [\n")
            Issue.record("accepted")
        } catch {
            guard case .syntax = error else { Issue.record("\(error)"); return }
        }
        // Base-60 integers too large for Int: nil instead of Yams' overflow trap.
        #expect(try YAMLDocument.load("1804674407370955161:5")?.checkedInt == nil)
    }
}
