import ArgumentParser
import VraplCore
import VraplTrace

/// `vrapl export trace.h5 --csv out.csv`: DECODE-RAPL's collector CSV, one row per sample interval.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a trace as DECODE-RAPL CSV (timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts)."
    )

    @Argument(help: "The trace (HDF5) to export.")
    var trace: String

    @Option(name: .customLong("csv"), help: "Output CSV file (with a .power_source sidecar).")
    var csv: String?

    @Option(name: .customLong("decode-rapl-layout"), help: "Write DIR/run_1_of_1.<power source>.csv instead, a name DECODE-RAPL's prepare_training_data.py reads (run_*_of_*.csv) that also carries the power source.")
    var decodeRaplLayout: String?

    func run() throws {
        guard (csv == nil) != (decodeRaplLayout == nil) else { throw ValidationError("give --csv FILE or --decode-rapl-layout DIR") }
        let data = try TraceReader.read(trace)
        var out = csv ?? ""
        if let dir = decodeRaplLayout {
            try TextFile.createDirectories(dir)
            out = dir + "/run_1_of_1." + DecodeRaplCSVTable.fileNameMarker(data.metadata.powerSource) + ".csv"
        }
        try DecodeRaplCSVConversion.export(data, to: out)
        print("wrote \(max(0, data.sampleCount - 1)) rows to \(out)")
    }
}
