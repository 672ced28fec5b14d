import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Which sanitizer this test binary was built with (`swift test --sanitize=address|thread`), found by its runtime's
/// entry point. Tests that count allocations through an interposed malloc cannot work under a sanitizer, which owns
/// the allocator.
public enum Sanitizers {
    public static let active: String? = {
        if dlsym(nil, "__asan_init") != nil { return "AddressSanitizer" }
        if dlsym(nil, "__tsan_init") != nil { return "ThreadSanitizer" }
        return nil
    }()

    public static var inactive: Bool { active == nil }
    public static var reason: Comment {
        "allocation counting needs the plain allocator; running under \(active ?? "none")"
    }
}
