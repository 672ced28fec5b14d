/// Builds a lab, runs `body` with it, and tears the lab down whatever happens (error or not).
@discardableResult
public func withLab<T>(
    prefix: String = NetworkLab.randomPrefix(), _ body: (NetworkLab) throws -> T
) throws -> T {
    let lab = try NetworkLab(prefix: prefix)
    defer { lab.teardown() }
    return try body(lab)
}

/// Async variant of `withLab`: the teardown runs on a dedicated thread, also after cancellation.
@discardableResult
public func withLab<T>(
    prefix: String = NetworkLab.randomPrefix(),
    isolation: isolated (any Actor)? = #isolation,
    _ body: (NetworkLab) async throws -> T
) async throws -> T {
    let lab = try NetworkLab(prefix: prefix)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(lab))
    } catch {
        result = .failure(error)
    }
    _ = try? await onDedicatedThread { lab.teardown() }
    return try result.get()
}
