import CLibBPF
import CSpyglassBPF
import Foundation
import Testing

@testable import SpyglassDatapath

/// The build compiles every BPF program for x86_64 and arm64 (issue 17, part 6). Without an arm64 kernel here,
/// this checks what can be checked on x86_64: each arm64 object is a BPF ELF that libbpf opens — which parses its
/// sections, BTF and relocation records, and fails on any it cannot resolve — with the same programs, maps and
/// read-only settings as the x86_64 object the agent loads on this machine.
struct BPFObjectArchTests {
    struct Object: Sendable, CustomTestStringConvertible {
        var name: String
        var x86_64: String
        var arm64: String
        var programs: Set<String>
        var testDescription: String { name }
    }

    static let objects = [
        Object(
            name: "flow_tc", x86_64: BPFObject_flow_tc.x86_64, arm64: BPFObject_flow_tc.arm64,
            programs: ["spy_tc_ingress", "spy_tc_egress"]),
        Object(
            name: "drop_kfree_skb", x86_64: BPFObject_drop_kfree_skb.x86_64, arm64: BPFObject_drop_kfree_skb.arm64,
            programs: [])
    ]

    /// Program names, map names and program instruction counts as libbpf sees them after opening `base64`.
    static func open(_ base64: String, name: String) throws -> (programs: [String: Int], maps: Set<String>) {
        let bytes = try #require(Data(base64Encoded: base64), "\(name): embedded object is not base64")
        // ELF64, little-endian, e_machine EM_BPF (247).
        #expect(bytes.count > 64 && bytes.prefix(4) == Data([0x7F, 0x45, 0x4C, 0x46]) && bytes[4] == 2 && bytes[5] == 1)
        #expect(UInt16(bytes[18]) | UInt16(bytes[19]) << 8 == 247, "\(name): not a BPF ELF object")
        var err: Int32 = 0
        let obj = bytes.withUnsafeBytes { spy_object_open_mem($0.baseAddress, $0.count, name, &err) }
        let object = try #require(obj, "\(name): libbpf cannot open it (error \(err))")
        defer { bpf_object__close(object) }
        var programs: [String: Int] = [:]
        var p = bpf_object__next_program(object, nil)
        while let prog = p {
            programs[String(cString: bpf_program__name(prog))] = Int(bpf_program__insn_cnt(prog))
            p = bpf_object__next_program(object, prog)
        }
        var maps: Set<String> = []
        var m = bpf_object__next_map(object, nil)
        while let map = m {
            maps.insert(String(cString: bpf_map__name(map)))
            m = bpf_object__next_map(object, map)
        }
        return (programs, maps)
    }

    @Test(arguments: objects)
    func arm64ObjectOpensLikeTheX86Object(_ o: Object) throws {
        let arm = try Self.open(o.arm64, name: "\(o.name)_arm64")
        let x86 = try Self.open(o.x86_64, name: "\(o.name)_x86_64")
        #expect(!arm.programs.isEmpty && arm.programs.values.allSatisfy { $0 > 0 }, "\(arm.programs)")
        #expect(o.programs.isSubset(of: Set(arm.programs.keys)), "\(arm.programs.keys)")
        #expect(Set(arm.programs.keys) == Set(x86.programs.keys))
        #expect(arm.maps == x86.maps)
        #if arch(x86_64)
            #expect(
                BPFObject_flow_tc.base64 == BPFObject_flow_tc.x86_64,
                "the agent must load its own architecture's object")
        #endif
    }
}
