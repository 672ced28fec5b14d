/// Reads a fuzzer's input front to back: small numbers that steer the harness, then the rest as payload.
/// Running out of bytes yields zeros, so every input is valid.
public struct FuzzBytes {
    public let bytes: [UInt8]
    public private(set) var position = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isAtEnd: Bool { position >= bytes.count }

    public mutating func byte() -> UInt8 {
        guard position < bytes.count else { return 0 }
        defer { position += 1 }
        return bytes[position]
    }

    /// The bytes not read yet.
    public var rest: ArraySlice<UInt8> { bytes[min(position, bytes.count)...] }
}

/// The whole input as text (invalid UTF-8 is repaired, as reading a file with `String(decoding:)` would).
public func fuzzText(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
}

/// Stops the fuzzer with a message: a broken invariant is a finding just like a crash.
public func invariantFailed(_ message: String) -> Never {
    fatalError("fuzz invariant: \(message)")
}
