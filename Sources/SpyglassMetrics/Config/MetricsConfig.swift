/// The parsed `--hubble-metrics` value, as current Cilium parses it (docs/hubble-compatibility.md §1).
///
/// ```
/// metric-list := metric-spec { WS metric-spec }     WS: any Unicode whitespace
/// metric-spec := name [ ":" option { ";" option } ] split at the first ':'; empty options skipped
/// option      := key [ "=" value ]                  split at the first '='; no '=' means one empty value
/// value       := items split on "|" when the value contains a "|", otherwise on ","  (every key); empty items dropped
/// ```
/// Keys and context identifiers are case-insensitive; labelsContext names are case-sensitive. Unknown metric names
/// and option keys a handler does not read are skipped with a warning (Cilium skips unknown keys silently); every
/// other problem is a `MetricsConfigError`.
public struct MetricsConfig: Sendable, Equatable {
    /// What Spyglass enables when the user passes nothing.
    public static let defaultSpec = "dns drop tcp flow port-distribution icmp httpV2"

    public var handlers: [HandlerConfig]

    public init(handlers: [HandlerConfig]) {
        self.handlers = handlers
    }

    /// Parses a `--hubble-metrics` value. Returns the configuration and warnings for skipped metrics.
    public static func parse(_ hubbleMetrics: String) throws -> (MetricsConfig, warnings: [String]) {
        try validate(splitSpecs(hubbleMetrics))
    }

    /// Start-up check (docs/hubble-compatibility.md §1): a non-blank `--hubble-metrics` together with
    /// `--hubble-dynamic-metrics-config-path` is an error. nil / blank values count as not given.
    public static func checkStaticAndDynamic(hubbleMetrics: String?, dynamicConfigPath: String?)
        throws(MetricsConfigError)
    {
        let hasStatic = hubbleMetrics.map { !$0.unicodeScalars.allSatisfy(\.properties.isWhitespace) } ?? false
        let hasDynamic = dynamicConfigPath.map { !$0.isEmpty } ?? false
        if hasStatic && hasDynamic { throw .staticAndDynamic }
    }

    /// Splits the string into specs without validating them (grammar only).
    public static func splitSpecs(_ text: String) -> [MetricSpec] {
        var specs: [MetricSpec] = []
        for field in text.unicodeScalars.split(whereSeparator: { $0.properties.isWhitespace }) {
            let s = String(String.UnicodeScalarView(field))
            let name: Substring
            var options: [MetricOption] = []
            if let colon = s.firstIndex(of: ":") {
                name = s[..<colon]
                for part in s[s.index(after: colon)...].split(separator: ";", omittingEmptySubsequences: true) {
                    if let eq = part.firstIndex(of: "=") {
                        let key = String(part[..<eq])
                        let value = part[part.index(after: eq)...]
                        let separator: Character = value.contains("|") ? "|" : ","
                        options.append(
                            MetricOption(key: key, values: value.split(separator: separator).map(String.init)))
                    } else {
                        options.append(MetricOption(key: String(part), values: [""]))
                    }
                }
            } else {
                name = s[...]
            }
            specs.append(MetricSpec(name: String(name), options: options))
        }
        return specs
    }

    static func contextKey(_ lowercasedKey: String) -> WritableKeyPath<ContextOptions, [ContextIdentifier]?>? {
        switch lowercasedKey {
        case "sourcecontext": \.sourceContext
        case "sourceegresscontext": \.sourceEgressContext
        case "sourceingresscontext": \.sourceIngressContext
        case "destinationcontext": \.destinationContext
        case "destinationegresscontext": \.destinationEgressContext
        case "destinationingresscontext": \.destinationIngressContext
        default: nil
        }
    }

    /// Validates specs against the handler catalogue.
    public static func validate(_ specs: [MetricSpec]) throws -> (MetricsConfig, warnings: [String]) {
        var handlers: [HandlerConfig] = []
        var warnings: [String] = []
        var seen: Set<String> = []
        for spec in specs {
            guard let kind = HandlerCatalog.kinds[spec.name] else {
                warnings.append("Skipping unknown hubble metric '\(spec.name)'")
                continue
            }
            guard seen.insert(spec.name).inserted else { throw MetricsConfigError.duplicateMetric(spec.name) }
            var config = HandlerConfig(name: spec.name)
            var context = ContextOptions()
            for option in spec.options {
                let key = option.key.lowercased()
                if let path = contextKey(key) {
                    var ids: [ContextIdentifier] = []
                    if option.values.isEmpty {
                        throw MetricsConfigError.unknownContext(metric: spec.name, option: option.key, value: "")
                    }
                    for v in option.values {
                        guard let id = ContextIdentifier(parsing: v) else {
                            throw MetricsConfigError.unknownContext(metric: spec.name, option: option.key, value: v)
                        }
                        ids.append(id)
                    }
                    context[keyPath: path] = ids
                } else if key == "labelscontext" {
                    var labels: [LabelsContextLabel] = []
                    for v in option.values {
                        guard let l = LabelsContextLabel(rawValue: v) else {
                            throw MetricsConfigError.invalidLabelsContext(metric: spec.name, value: v)
                        }
                        labels.append(l)
                    }
                    context.labelsContext = Array(Set(labels)).sorted()
                } else if key == "exemplars", kind.acceptsExemplars {
                    switch option.values {
                    case ["true"]: config.exemplars = true
                    case ["false"]: config.exemplars = false
                    default:
                        throw MetricsConfigError.invalidExemplars(
                            metric: spec.name, value: option.values.joined(separator: "|"))
                    }
                } else if kind.flags.contains(key) {
                    config.flags.insert(key)
                } else {
                    // Cilium's handlers ignore keys they do not read; a Cilium configuration must start unchanged.
                    warnings.append(
                        "Ignoring \(MetricsConfigError.unknownOption(metric: spec.name, option: option.key))")
                }
            }
            config.context = context
            handlers.append(config)
        }
        if seen.contains("http") && seen.contains("httpV2") {
            let order = specs.map(\.name).filter { $0 == "http" || $0 == "httpV2" }
            throw MetricsConfigError.conflictingMetrics(order[0], order[1])
        }
        return (MetricsConfig(handlers: handlers), warnings)
    }
}
