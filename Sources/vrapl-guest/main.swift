import ArgumentParser
import VraplCore

/// `vrapl-guest`: live package-power estimate inside a VM (filled by the guest issue).
struct VraplGuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrapl-guest",
        abstract: "Predict this VM's CPU package power and energy from guest-visible signals.",
        version: VraplVersion.string
    )
    func run() throws {
        print(VraplGuestCommand.helpMessage())
    }
}

VraplGuestCommand.main()
