import SpyglassFlow
import SpyglassSupport
import Yams

extension Node {
    /// `int`, without Yams' trap on large base-60 integers (see `YAMLBase60`).
    var checkedInt: Int? {
        guard case .scalar(let s) = self, s.string.contains(":") else { return int }
        return YAMLBase60.checkedInt(s.string)
    }
}
