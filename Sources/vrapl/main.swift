import ArgumentParser
import VraplCore

/// `vrapl`: the operator and research CLI. Each subcommand lives in its own file.
struct Vrapl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrapl",
        abstract: "Virtual RAPL: record, simulate, train, evaluate and attribute CPU package power.",
        version: VraplVersion.string,
        subcommands: VraplSubcommands.all
    )
}

Vrapl.main()
