import PackagePlugin

/// Compiles every `bpf/*.bpf.c` of the package into an embedded Swift constant for the target that uses it.
@main
struct BPFEmbedPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let packageDir = context.package.directoryURL
        let bpfDir = packageDir.appending(path: "bpf")
        let contractDir = packageDir.appending(path: "Sources/CSpyglassBPF/include")
        let fm = FileManagerShim()
        let sources = fm.files(in: bpfDir.path()).filter { $0.hasSuffix(".bpf.c") }.sorted()
        // Every header is an input: an edit to any of them rebuilds every program.
        let headers =
            (fm.files(in: bpfDir.path()) + fm.files(in: bpfDir.appending(path: "lib").path()).map { "lib/" + $0 })
            .filter { $0.hasSuffix(".h") }
            .map { bpfDir.appending(path: $0) }
            + fm.files(in: contractDir.path()).filter { $0.hasSuffix(".h") }.map { contractDir.appending(path: $0) }

        let clang = try context.tool(named: "clang").url
        let objcopy = try context.tool(named: "llvm-objcopy").url
        let tool = try context.tool(named: "BPFEmbedTool").url
        let work = context.pluginWorkDirectoryURL

        return sources.map { file in
            let src = bpfDir.appending(path: file)
            let stem = String(file.dropLast(".bpf.c".count))
            let symbol = "BPFObject_" + stem.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            let out = work.appending(path: symbol + ".swift")
            return .buildCommand(
                displayName: "Compiling BPF \(file)",
                executable: tool,
                arguments: [
                    clang.path(), objcopy.path(), src.path(), out.path(), symbol, work.appending(path: "obj").path(),
                    "-I" + bpfDir.path(), "-I" + contractDir.path()
                ],
                inputFiles: [src] + headers,
                outputFiles: [out]
            )
        }
    }
}

/// Directory listing without Foundation (plugins may not link it on every platform).
struct FileManagerShim {
    func files(in dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}

#if canImport(Glibc)
    import Glibc
#endif
