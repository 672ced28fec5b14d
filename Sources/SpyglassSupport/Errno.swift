#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's words for an errno value, for error messages.
public enum Errno {
    /// `strerror(code)`, e.g. "No such file or directory".
    public static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }
}
