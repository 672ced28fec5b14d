import CSpyglassBPF
import Glibc

/// Result of running a program on one packet with BPF_PROG_TEST_RUN.
public struct TestRunResult: Sendable {
    public var returnValue: UInt32
    public var dataOut: [UInt8]
    public var durationNs: UInt32
}

extension TCPrograms {
    public enum Hook: Sendable { case ingress, egress }

    /// Runs the ingress or egress program on `frame` through the real kernel (BPF_PROG_TEST_RUN).
    public func testRun(_ hook: Hook, frame: [UInt8], repeat count: UInt32 = 1) throws -> TestRunResult {
        try runTest(programFD: hook == .ingress ? ingressFD : egressFD, frame: frame, repeat: count)
    }
}

/// A tc program that does nothing but return TC_ACT_OK: test-run figures of the real programs are printed next to
/// this one's, so the test-run loop's own cost is measured in the same run rather than assumed.
public final class EmptyTCProgram {
    let fd: Int32

    public init() throws {
        let rc = spy_load_empty_tc_prog()
        if rc < 0 { throw libbpfError("loading the empty tc program", rc) }
        fd = rc
    }

    deinit { close(fd) }

    public func testRun(frame: [UInt8], repeat count: UInt32 = 1) throws -> TestRunResult {
        try runTest(programFD: fd, frame: frame, repeat: count)
    }
}

private func runTest(programFD fd: Int32, frame: [UInt8], repeat count: UInt32) throws -> TestRunResult {
    var out = [UInt8](repeating: 0, count: frame.count + 256)
    var outSize = UInt32(out.count)
    var ret: UInt32 = 0
    var duration: UInt32 = 0
    let rc = frame.withUnsafeBytes { input in
        out.withUnsafeMutableBytes { output in
            spy_prog_test_run(
                fd, input.baseAddress, UInt32(input.count), output.baseAddress, &outSize, &ret,
                count, &duration)
        }
    }
    if rc != 0 { throw libbpfError("BPF_PROG_TEST_RUN", rc) }
    return TestRunResult(returnValue: ret, dataOut: Array(out.prefix(Int(outSize))), durationNs: duration)
}
