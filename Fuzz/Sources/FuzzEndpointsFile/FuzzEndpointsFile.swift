import FuzzSupport
import SpyglassEndpoints

/// The endpoints file (`--endpoints-file`, YAML or JSON).
///
/// Invariants: an error names the file; every accepted entry has at least one address.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEndpointsFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = fuzzText(data, size)
    let path = "/fuzz/endpoints.yaml"
    do throws(EndpointsFileError) {
        let infos = try EndpointsFile.parse(text, path: path, clusterName: "fuzz")
        for info in infos {
            guard !info.prefixes.isEmpty else { invariantFailed("an entry without addresses was accepted") }
            _ = info.prefixes.map(\.description)
        }
    } catch {
        guard error.description.contains(path) else { invariantFailed("error does not name the file: \(error)") }
    }
    return 0
}

/// SwiftPM links `main` to this symbol: start libFuzzer on the function above.
@_cdecl("FuzzEndpointsFile_main")
public func FuzzEndpointsFileMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { data, size in fuzzEndpointsFile(data ?? emptyInput, size) }
}
