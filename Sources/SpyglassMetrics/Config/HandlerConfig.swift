/// A validated metric: the handler name, its context options and its own options.
public struct HandlerConfig: Sendable, Equatable {
    public var name: String
    public var context: ContextOptions
    /// Lower-cased keys of the flag-style options that were given (`query`, `ignoreaaaa`, `any-drop`, `port`,
    /// `syn-only`).
    public var flags: Set<String>
    /// `exemplars=true` (http, httpV2).
    public var exemplars: Bool

    public init(name: String, context: ContextOptions = ContextOptions(), flags: Set<String> = [], exemplars: Bool = false) {
        self.name = name
        self.context = context
        self.flags = flags
        self.exemplars = exemplars
    }

    public func has(_ flag: String) -> Bool { flags.contains(flag.lowercased()) }
}
