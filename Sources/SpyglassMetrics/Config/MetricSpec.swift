/// One metric of the list before validation: its name and its options in the order given.
/// The static string parser produces these; a dynamic (YAML) configuration can build them directly.
public struct MetricSpec: Sendable, Equatable {
    public var name: String
    public var options: [MetricOption]
    public init(name: String, options: [MetricOption] = []) {
        self.name = name
        self.options = options
    }
}

/// `key[=v1|v2...]`. An option written without `=` has one empty value.
public struct MetricOption: Sendable, Equatable {
    public var key: String
    public var values: [String]
    public init(key: String, values: [String]) {
        self.key = key
        self.values = values
    }
}
