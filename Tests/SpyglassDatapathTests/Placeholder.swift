import Testing
@testable import SpyglassDatapath

@Test func smokeLoadAndRun() throws {
    var cfg = DatapathConfig()
    cfg.aggregation = .none
    let p = try TCPrograms(config: cfg)
    // Ethernet + IPv4 + UDP, hand-made.
    var f: [UInt8] = [0,1,2,3,4,5, 6,7,8,9,10,11, 0x08,0x00]
    f += [0x45,0,0,28, 0,1,0,0, 64,17,0,0, 10,0,0,1, 10,0,0,2]
    f += [0x30,0x39, 0x00,0x35, 0,8,0,0]
    let r = try p.testRun(.ingress, frame: f)
    print("ret", r.returnValue, "dur", r.durationNs, "same", r.dataOut == f)
    let ev = try p.drainEvents()
    print("events", ev.count, ev.first.map { Array($0.prefix(96)) } ?? [])
    print(p.stats())
}
