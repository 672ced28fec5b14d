/// The `labelsContext` allow-list, declared in canonical order (docs/hubble-compatibility.md §3.3). Names are
/// case-sensitive.
public enum LabelsContextLabel: String, Sendable, CaseIterable, Equatable, Hashable, Comparable {
    case sourceIP = "source_ip"
    case sourcePod = "source_pod"
    case sourceNamespace = "source_namespace"
    case sourceWorkload = "source_workload"
    case sourceWorkloadKind = "source_workload_kind"
    case sourceApp = "source_app"
    case destinationIP = "destination_ip"
    case destinationPod = "destination_pod"
    case destinationNamespace = "destination_namespace"
    case destinationWorkload = "destination_workload"
    case destinationWorkloadKind = "destination_workload_kind"
    case destinationApp = "destination_app"
    case trafficDirection = "traffic_direction"

    var canonicalIndex: Int { LabelsContextLabel.allCases.firstIndex(of: self)! }

    public static func < (a: LabelsContextLabel, b: LabelsContextLabel) -> Bool {
        a.canonicalIndex < b.canonicalIndex
    }
}
