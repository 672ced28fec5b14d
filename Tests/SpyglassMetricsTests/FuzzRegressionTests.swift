import SpyglassMetrics
import Testing

/// Inputs found by the fuzzers (Fuzz/, scripts/fuzz.sh) that crashed the agent; each must now be handled.
@Suite("FuzzRegression: dynamic metrics file")
struct MetricsFuzzRegressionTests {
    /// FuzzDynamicMetricsYAML: a YAML 1.1 base-60 integer too large for Int (`1804674407370955161:5`) trapped in
    /// Yams' unchecked conversion. It now stays the string it is.
    @Test func hugeBase60IntegerInAFilterDoesNotCrash() throws {
        let yaml = "metrics:\n- name: drop\n  includeFilters:\n  - {source_identity: [24691, 1804674407370955161:5]}\n"
        let (config, _) = try DynamicMetricsConfig.parse(yaml, path: "/etc/dyn.yaml", predicates: nil)
        let json = config.handlers[0].includeFilters[0].jsonText
        #expect(json.contains("24691"))
        #expect(json.contains("\"1804674407370955161:5\""))
    }

    /// The fuzzer's input as found.
    @Test func foundInputDoesNotCrash() {
        let yaml =
            "metrics:\n- name: drop\n  includeFilters:\n  - {source_identity: [24691, 1804674407370955161:5], reply: [false], httst\"q\"'}\n"
        // YAML reads `httst"q"'` as a plain key without a value: one drop handler whose filter keeps the huge
        // base-60 number as the string it is (the crash was Yams converting it), or an error naming the file.
        do {
            let (config, _) = try DynamicMetricsConfig.parse(yaml, path: "/etc/dyn.yaml", predicates: nil)
            #expect(config.handlers.count == 1)
            #expect(
                config.handlers.first?.includeFilters.first?.jsonText.contains("\"1804674407370955161:5\"") == true,
                "\(config.handlers.first?.includeFilters.map(\.jsonText) ?? [])")
        } catch {
            #expect("\(error)".contains("/etc/dyn.yaml"), "\(error)")
        }
    }

    /// The stack overflow FuzzEndpointsFile found, through the dynamic metrics file: an error naming the line.
    @Test func deeplyNestedYAMLIsAnError() {
        do {
            _ = try DynamicMetricsConfig.parse(
                "metrics:\n- name: drop\n  includeFilters:\n  - " + String(repeating: "[", count: 50_000),
                path: "/etc/dyn.yaml", predicates: nil)
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("line 4: YAML nested too deeply"), "\(error)")
        }
    }
}
