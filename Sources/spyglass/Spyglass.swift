import ArgumentParser

@main
struct Spyglass: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spyglass",
        abstract: "eBPF-fed, Hubble-compatible network metrics and flow logs for any Linux node.",
        subcommands: [Run.self, Demo.self, Observe.self, Status.self],
        defaultSubcommand: nil
    )
}
