import SpyglassExport
import Testing

/// Inputs that crashed the agent's YAML readers (found by fuzzing; see Fuzz/).
@Suite("FuzzRegression: flow-log config")
struct FlowLogFuzzRegressionTests {
    /// The same Yams base-60 overflow FuzzDynamicMetricsYAML found, reached through a numeric flow-log field: an
    /// error naming the field instead of a trap.
    @Test func hugeBase60IntegerIsAnError() {
        #expect(throws: ExportConfigError.self) {
            _ = try FlowLogsFile.parse("flowLogs:\n- {name: a, filePath: /x, fileMaxSizeMb: 1804674407370955161:5}\n")
        }
        do {
            _ = try FlowLogsFile.parse("flowLogs:\n- {name: a, filePath: /x, fileMaxSizeMb: 1804674407370955161:5}\n")
        } catch {
            #expect(error.description.contains("fileMaxSizeMb"))
        }
    }

    /// The stack overflow FuzzEndpointsFile found, through the flow-log config: an error naming the line.
    @Test func deeplyNestedYAMLIsAnError() {
        do {
            _ = try FlowLogsFile.parse("flowLogs:\n- " + String(repeating: "{a: ", count: 50_000))
            Issue.record("accepted")
        } catch {
            #expect(error.description.contains("line 2: YAML nested too deeply"), "\(error)")
        }
    }
}
