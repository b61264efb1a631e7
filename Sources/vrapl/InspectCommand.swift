import ArgumentParser
import VraplTrace

/// `vrapl inspect trace.h5`: duration, samples, interval statistics, power source, per-zone watts,
/// a feature summary and the segments of a trace.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a trace: timing, power source, watts per RAPL zone, features, segments."
    )

    @Argument(help: "The trace (HDF5) to inspect.")
    var trace: String

    func run() throws {
        let data = try TraceReader.read(trace)
        print(TraceSummary(trace: data, path: trace).render())
    }
}
