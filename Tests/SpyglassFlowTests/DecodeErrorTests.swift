import SpyglassFlow
import SpyglassTesting
import Testing

@Suite("EventDecoder garbage and truncation")
struct DecodeErrorTests {
    let decoder = EventDecoder.testing()
    let valid = EventBuilder.trace(frame: Frames.v4().tcp(sport: 1, dport: 2, flags: [.syn]).build())

    func error(_ bytes: [UInt8]) -> DecodeError? {
        do {
            _ = try decoder.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func shortRecords() {
        let full = valid.build()
        for n in [0, 1, 7] {
            #expect(error(Array(full.prefix(n))) == .short(length: n))
        }
        for n in 8..<96 {
            #expect(error(Array(full.prefix(n))) == .short(length: n))
        }
        #expect(error([]).map(\.reason) == "short")
    }

    @Test func badVersion() {
        for v: UInt16 in [0, 2, 0x100, .max] {
            var e = valid
            e.version = v
            #expect(error(e.build()) == .version(v))
            // Version is checked before the length of the fixed part.
            #expect(error(Array(e.build().prefix(8)))?.reason == "version")
        }
    }

    @Test func badHeaderLen() {
        for h: UInt16 in [0, 8, 95] {
            var e = valid
            e.headerLen = h
            e.snapshot = []
            #expect(error(e.build())?.reason == "header_len")
        }
        var e = valid
        e.headerLen = 200
        var bytes = e.build()
        bytes = Array(bytes.prefix(150))  // header_len beyond the record
        #expect(error(bytes) == .headerLen(200, recordLength: 150))
    }

    @Test func badSnapLen() {
        var e = valid
        e.snapLen = UInt16(e.snapshot.count + 1)
        #expect(error(e.build()) == .snapLen(UInt16(e.snapshot.count + 1), available: e.snapshot.count))
        e.snapLen = .max
        #expect(error(e.build())?.reason == "snap_len")
        // A record cut inside the snapshot.
        let bytes = valid.build()
        #expect(error(Array(bytes.dropLast()))?.reason == "snap_len")
    }

    @Test func badKind() {
        for k: UInt16 in [0, 3, 0xffff] {
            var e = valid
            e.kind = k
            #expect(error(e.build()) == .kind(k))
        }
    }

    @Test func badIPVersion() {
        for v: UInt8 in [1, 5, 7, 0xff] {
            var e = valid
            e.ipVersion = v
            #expect(error(e.build()) == .ipVersion(v))
        }
    }

    @Test func reasonsAreStableAndDistinct() {
        let errors: [DecodeError] = [
            .short(length: 0), .version(2), .headerLen(0, recordLength: 96), .snapLen(1, available: 0), .kind(0),
            .ipVersion(5)
        ]
        #expect(errors.map(\.reason) == ["short", "version", "header_len", "snap_len", "kind", "ip_version"])
        #expect(errors.map(\.reason) == DecodeError.allReasons)
        #expect(Set(errors.map(\.description)).count == errors.count)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SeededRandom(seed: 0x5157_6c61_7373)
        var outcomes: [String: Int] = [:]
        for i in 0..<200_000 {
            let length = Int(rng.next() % 320)
            var bytes = rng.bytes(length)
            // Steer most inputs past the first checks so every branch sees garbage.
            if i % 4 != 0 && length >= 8 {
                bytes[0] = 1; bytes[1] = 0
                if i % 3 != 0 { bytes[2] = UInt8(1 + rng.next() % 2); bytes[3] = 0 }
                if i % 2 == 0 && length >= 96 {
                    bytes[4] = 96; bytes[5] = 0
                    let snap = UInt16(truncatingIfNeeded: rng.next() % UInt64(length - 95 + 4))
                    bytes[6] = UInt8(snap & 0xff); bytes[7] = UInt8(snap >> 8)
                    if rng.next() % 8 != 0 { bytes[66] = [0, 4, 6][Int(rng.next() % 3)] }
                }
            }
            do {
                let flow = try decoder.decode(bytes)
                _ = flow.summary
                _ = flow.ip?.source.description
                outcomes["ok", default: 0] += 1
            } catch {
                outcomes[error.reason, default: 0] += 1
            }
        }
        #expect(outcomes["ok", default: 0] > 1000)
        for reason in DecodeError.allReasons {
            #expect(outcomes[reason, default: 0] > 0, "\(reason) never seen: \(outcomes)")
        }
    }

    @Test func mutatedValidRecordsNeverCrash() {
        var rng = SeededRandom(seed: 42)
        var decoded = 0
        var reasons: Set<String> = []
        let base = valid.build()
        for _ in 0..<20_000 {
            var bytes = base
            for _ in 0..<(1 + rng.next() % 6) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            let cut = Int(rng.next() % UInt64(bytes.count + 1))
            for record in [Array(bytes.prefix(cut)), bytes] {
                do throws(DecodeError) {
                    let flow = try decoder.decode(record)
                    _ = flow.summary
                    decoded += 1
                } catch {
                    reasons.insert(error.reason)
                }
            }
        }
        // Both outcomes happen, and every rejection has a reason the decode-error metric lists.
        #expect(decoded > 0 && decoded < 40_000, "\(decoded) of 40000 decoded")
        #expect(reasons.count >= 2 && reasons.isSubset(of: Set(DecodeError.allReasons)), "\(reasons)")
    }
}
