import ArgumentParser

/// `vrapl bench`: a group of benchmarks, one subcommand each (`vrapl bench train`, …).
/// Add a benchmark by defining its command in its own file and appending one line to `subcommands`.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (use release builds).",
        subcommands: [
            BenchTraceCommand.self,
            BenchTrainCommand.self,
            BenchGuestCommand.self,
        ]
    )
}
