import CSpyglassBPF

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
        var out = [UInt8](repeating: 0, count: frame.count + 256)
        var outSize = UInt32(out.count)
        var ret: UInt32 = 0
        var duration: UInt32 = 0
        let fd = hook == .ingress ? ingressFD : egressFD
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
}
