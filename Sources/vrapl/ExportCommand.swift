import ArgumentParser
import VraplTrace

/// `vrapl export trace.h5 --csv out.csv`: DECODE-RAPL's collector CSV, one row per sample interval.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trace as DECODE-RAPL CSV (timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts)."
    )

    @Argument(help: "The trace (HDF5) to export.")
    var trace: String

    @Option(name: .customLong("csv"), help: "Output CSV file.")
    var csv: String

    func run() throws {
        let data = try TraceReader.read(trace)
        try DecodeRaplCSVConversion.export(data, to: csv)
        print("wrote \(max(0, data.sampleCount - 1)) rows to \(csv)")
    }
}
