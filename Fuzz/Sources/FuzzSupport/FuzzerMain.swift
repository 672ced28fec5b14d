import CFuzzerDriver

public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with `target` as LLVMFuzzerTestOneInput; call it from the target's `<Module>_main`.
public func runFuzzer(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ target: FuzzTarget
) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, target)
}

/// What a target gets for an empty input when libFuzzer passes no buffer at all.
nonisolated(unsafe) public let emptyInput = UnsafePointer(UnsafeMutablePointer<UInt8>.allocate(capacity: 1))
