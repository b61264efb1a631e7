import ArgumentParser
import VraplCore

/// `vrapl-collect`: the 16 ms bare-metal sampling loop (RAPL + guest-visible OS signals → HDF5).
struct CollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrapl-collect",
        abstract: "Record RAPL energy counters and guest-visible OS signals into an HDF5 trace.",
        version: VraplVersion.string
    )
    func run() throws {
        print(CollectCommand.helpMessage())
    }
}

CollectCommand.main()
