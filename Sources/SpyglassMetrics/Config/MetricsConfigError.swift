/// A `--hubble-metrics` value that cannot be used. `description` is one precise line naming what failed and where;
/// where Hubble has a message for the same case, its wording is part of ours.
public enum MetricsConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    /// `http` and `httpV2` both enabled.
    case conflictingMetrics(String, String)
    /// The same metric name listed twice.
    case duplicateMetric(String)
    /// An option key the metric's handler does not know.
    case unknownOption(metric: String, option: String)
    /// A context identifier that does not exist (`unknown context 'x'`).
    case unknownContext(metric: String, option: String, value: String)
    /// A `labelsContext` name outside the allow-list (`invalid labelsContext value: x`).
    case invalidLabelsContext(metric: String, value: String)
    /// `exemplars` with a value other than `true` / `false`.
    case invalidExemplars(metric: String, value: String)
    /// includeFilters/excludeFilters that are not valid FlowFilters or do not compile (`message` is the error).
    case invalidFilters(metric: String, message: String)
    /// A family of the metric has the name of a family registered with `registerCollector`.
    case familyNameTaken(metric: String, family: String)
    /// Both `--hubble-metrics` and `--hubble-dynamic-metrics-config-path` were given.
    case staticAndDynamic

    public var description: String {
        switch self {
        case .conflictingMetrics(let a, let b):
            "plugin \(a) conflicts with plugin \(b): enable only one of '\(a)' and '\(b)'"
        case .duplicateMetric(let m):
            "duplicate metric '\(m)': each metric may be listed only once"
        case .unknownOption(let m, let o):
            "unknown option '\(o)' for metric '\(m)'"
        case .unknownContext(let m, let o, let v):
            "unknown context '\(v)' in option '\(o)' of metric '\(m)'"
        case .invalidLabelsContext(let m, let v):
            "invalid labelsContext value: \(v) (metric '\(m)')"
        case .invalidExemplars(let m, let v):
            "invalid exemplars value '\(v)' for metric '\(m)': must be exactly 'true'"
        case .invalidFilters(let m, let message):
            "invalid includeFilters/excludeFilters for metric '\(m)': \(message)"
        case .familyNameTaken(let m, let f):
            "metric '\(m)': family '\(f)' is already registered by another component"
        case .staticAndDynamic:
            "cannot configure both static and dynamic Hubble metrics "
                + "(--hubble-metrics and --hubble-dynamic-metrics-config-path): use one of them"
        }
    }
}
