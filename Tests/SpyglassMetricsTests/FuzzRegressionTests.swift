import SpyglassMetrics
import Testing

@testable import SpyglassMetrics

/// Inputs found by the fuzzers (Fuzz/, scripts/fuzz.sh) that crashed the agent; each must now be handled.
@Suite("FuzzRegression: dynamic metrics file")
struct MetricsFuzzRegressionTests {
    /// FuzzDynamicMetricsYAML: a YAML 1.1 base-60 integer too large for Int (`1804674407370955161:5`) trapped in
    /// Yams' unchecked conversion. It now stays the string it is, which `source_identity` then refuses.
    @Test func hugeBase60IntegerInAFilterDoesNotCrash() throws {
        let yaml = "metrics:\n- name: drop\n  includeFilters:\n  - {source_identity: [24691, 1804674407370955161:5]}\n"
        var p = FileParser(path: "/etc/dyn.yaml")
        let json = try p.entries(yaml)[0].include[0].jsonText
        #expect(json.contains("24691"))
        #expect(json.contains("\"1804674407370955161:5\""))
        #expect(throws: DynamicMetricsConfigError.self) { try DynamicMetricsConfig.parse(yaml, path: "/etc/dyn.yaml") }
    }

    /// The fuzzer's input as found.
    @Test func foundInputDoesNotCrash() {
        let yaml =
            "metrics:\n- name: drop\n  includeFilters:\n  - {source_identity: [24691, 1804674407370955161:5], reply: [false], httst\"q\"'}\n"
        // YAML reads `httst"q"'` as a plain key without a value; the huge base-60 number stays a string (the crash was
        // Yams converting it), which the FlowFilter reader refuses: an error naming the file.
        do {
            _ = try DynamicMetricsConfig.parse(yaml, path: "/etc/dyn.yaml")
            Issue.record("accepted a source_identity that is not a number")
        } catch {
            #expect("\(error)".contains("/etc/dyn.yaml"), "\(error)")
        }
    }

    /// The stack overflow FuzzEndpointsFile found, through the dynamic metrics file: an error naming the line.
    @Test func deeplyNestedYAMLIsAnError() {
        do {
            _ = try DynamicMetricsConfig.parse(
                "metrics:\n- name: drop\n  includeFilters:\n  - " + String(repeating: "[", count: 50_000),
                path: "/etc/dyn.yaml")
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("line 4: YAML nested too deeply"), "\(error)")
        }
    }
}
