import ArgumentParser
import VraplCore
import VraplTrace

/// `vrapl import their.csv --out trace.h5`: brings a DECODE-RAPL recording in as a vrapl trace,
/// rebuilding raw cumulative counters from its percentages, rates and watts.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import DECODE-RAPL CSV as a vrapl trace (counters rebuilt from percentages, rates and watts)."
    )

    @Argument(help: "DECODE-RAPL CSV (timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec[,package_power_watts]).")
    var csv: String

    @Option(help: "Output trace (HDF5).")
    var out: String

    @Option(help: "Power source of the recording: rapl or sim:<profile> (default: what the CSV's .power_source sidecar from vrapl export says, else rapl).")
    var powerSource: PowerSource?

    @Option(help: "Core count of the recording host (scales the synthetic CPU ticks).")
    var cores: Int = 1

    @Option(help: "Host name of the recording host.")
    var host: String = ""

    @Option(name: .customLong("label"), help: "A label key=value (repeatable).")
    var labels: [String] = []

    func run() throws {
        let source = try powerSource ?? DecodeRaplCSVTable.declaredPowerSource(csvPath: csv) ?? .rapl
        var options = DecodeRaplCSVConversion.ImportOptions()
        options.powerSource = source
        options.coreCount = max(1, cores)
        options.hostName = host
        for label in labels {
            guard let eq = label.firstIndex(of: "="), eq != label.startIndex else {
                throw ValidationError("--label needs key=value, not \(label)")
            }
            options.labels[String(label[..<eq])] = String(label[label.index(after: eq)...])
        }
        let trace = try DecodeRaplCSVConversion.importCSV(path: csv, options: options)
        try TraceWriter.write(trace, to: out)
        print("imported \(trace.sampleCount - 1) rows from \(csv) into \(out) (\(trace.sampleCount) samples, power source \(source))")
    }
}
