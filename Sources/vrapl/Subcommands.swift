import ArgumentParser

/// The registry of `vrapl` subcommands. Add yours here (one line), define it in its own file.
enum VraplSubcommands {
    static let all: [ParsableCommand.Type] = [
        BenchCommand.self,
        InspectCommand.self,
        ExportCommand.self,
        ImportCommand.self,
        ImportModelCommand.self,
        DebugCommand.self,
        AttributeCommand.self,
        TrainCommand.self,
        PredictCommand.self,
        SimulateCommand.self,
        CampaignCommand.self,
        EvaluateCommand.self,
    ]
}
