import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

@Suite("DECODE-RAPL CSV export and import")
struct DecodeRaplCSVConversionTests {
    static func rows(_ csv: String) -> [[Double]] {
        csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) ?? .nan } }
    }

    @Test("export writes DECODE-RAPL's header and one row per interval")
    func export() {
        let csv = DecodeRaplCSVConversion.export(DerivedSeriesTests.handTrace())
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts")
        let r = Self.rows(csv)
        #expect(r.count == 3)
        #expect(r[0] == [10.016, 30, 10, 20, 10_000, 0.13125])
    }

    @Test("a CSV exported from a simulated trace imports as simulated, and never as measured")
    func simulatedStaysSimulated() throws {
        let dir = try Scratch.directory()
        var trace = SyntheticTrace.make(samples: 200)
        trace.metadata.powerSource = .simulated(profile: "xeon-silver-4210r")
        let csvPath = dir.appendingPathComponent("sim.csv").path
        try DecodeRaplCSVConversion.export(trace, to: csvPath)
        #expect(try DecodeRaplCSVTable.declaredPowerSource(csvPath: csvPath) == .simulated(profile: "xeon-silver-4210r"))
        let imported = try DecodeRaplCSVConversion.importCSV(path: csvPath)   // options default to rapl
        #expect(imported.metadata.powerSource == .simulated(profile: "xeon-silver-4210r"))
        // A plain DECODE-RAPL CSV (no sidecar) keeps the caller's choice.
        let plain = dir.appendingPathComponent("plain.csv").path
        try DecodeRaplCSVConversion.export(trace).write(toFile: plain, atomically: true, encoding: .utf8)
        #expect(try DecodeRaplCSVTable.declaredPowerSource(csvPath: plain) == nil)
        #expect(try DecodeRaplCSVConversion.importCSV(path: plain).metadata.powerSource == .rapl)
    }

    @Test("export → import → export reproduces the CSV")
    func roundTrip() throws {
        let dir = try Scratch.directory()
        let original = SyntheticTrace.make(samples: 600)
        let csvPath = dir.appendingPathComponent("decode.csv").path
        try DecodeRaplCSVConversion.export(original, to: csvPath)
        var options = DecodeRaplCSVConversion.ImportOptions()
        options.coreCount = 8
        let imported = try DecodeRaplCSVConversion.importCSV(path: csvPath, options: options)
        #expect(imported.sampleCount == original.sampleCount)
        #expect(imported.metadata.labels["imported_from"] == "decode.csv")
        #expect(imported.metadata.powerSource == original.metadata.powerSource)  // sim stays sim (sidecar)
        #expect(imported.rapl.map(\.name) == ["package-0"])

        // Through the HDF5 file as `vrapl import` does.
        let tracePath = dir.appendingPathComponent("imported.h5").path
        try TraceWriter.write(imported, to: tracePath)
        let again = DecodeRaplCSVConversion.export(try TraceReader.read(tracePath))
        let a = Self.rows(try String(contentsOfFile: csvPath, encoding: .utf8)), b = Self.rows(again)
        try #require(a.count == b.count && a.count == 599)
        for (x, y) in zip(a, b) {
            #expect(abs(x[0] - y[0]) < 2e-6)               // timestamps (µs printed)
            for c in 1...3 { #expect(abs(x[c] - y[c]) < 1e-3) }  // percent, ticks at 1e7 Hz
            // ctxt is an integer count: rounding moves the rate by at most 1 / Δt (plus clock skew).
            #expect(abs(x[4] - y[4]) <= 1 / 0.016 + 1e-6 * x[4] + 1)
            #expect(abs(x[5] - y[5]) < 1e-3)                // 1 µJ / 16 ms = 6e-5 W
        }
    }

    @Test("import rebuilds counters consistent with the percentages")
    func importByHand() throws {
        let csv = """
        timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts
        100.016,50,25,5,1000,40
        100.032,10,0,0,2000,20

        """
        let trace = try DecodeRaplCSVConversion.importCSV(text: csv, name: "hand.csv")
        #expect(trace.sampleCount == 3)
        #expect(trace.wallClockNs == [100_000_000_000, 100_016_000_000, 100_032_000_000])
        // 16 ms × 1e7 ticks/s = 160 000 ticks per interval on one core.
        #expect(trace.cpuFields[0] == [0, 80_000, 96_000])
        #expect(trace.cpuFields[2] == [0, 40_000, 40_000])
        #expect(trace.cpuFields[4] == [0, 8_000, 8_000])
        #expect(trace.cpuFields[3] == [0, 32_000, 176_000])
        #expect(trace.contextSwitches == [0, 16, 48])
        #expect(trace.rapl.first?.energyUj == [0, 640_000, 960_000])
        let d = DerivedSeries(trace)
        #expect(DerivedSeriesTests.close(d.userPercent, [50, 10]))
        #expect(DerivedSeriesTests.close(d.packageWatts ?? [], [40, 20]))
    }

    @Test("import errors name the file, line and column", arguments: [
        ("timestamp_unix,user_percent\n1,2\n", "missing column"),
        ("timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec\n1,2,x,4,5\n", "line 2: column system_percent"),
        ("timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec\n2,1,1,1,1\n1,1,1,1,1\n", "line 3: timestamp_unix does not increase"),
        ("", "empty CSV"),
    ])
    func importErrors(csv: String, expected: String) {
        let error = #expect(throws: TraceError.self) { try DecodeRaplCSVConversion.importCSV(text: csv, name: "their.csv") }
        #expect(error?.path == "their.csv")
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }

    @Test("a CSV without package power imports without a RAPL zone")
    func noPower() throws {
        let csv = "timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec\n1.0,1,1,1,1\n1.016,2,2,2,2\n"
        let trace = try DecodeRaplCSVConversion.importCSV(text: csv, name: "p.csv")
        #expect(trace.rapl.isEmpty)
        #expect(DecodeRaplCSVConversion.export(trace).split(separator: "\n").last?.hasSuffix(",") == true)
    }

    @Test("--decode-rapl-layout names carry the power source, and DECODE-RAPL's glob matches them", arguments: [
        ("out/run_1_of_1.sim-xeon-silver-4210r.csv", PowerSource?.some(.simulated(profile: "xeon-silver-4210r"))),
        ("run_1_of_1.rapl.csv", .some(.rapl)), ("run_1_of_1.csv", nil), ("renamed.csv", nil),
    ])
    func fileNameMarker(_ name: String, _ source: PowerSource?) throws {
        #expect(DecodeRaplCSVTable.powerSource(inFileName: name) == source)
        if let source {
            #expect(name.hasSuffix("." + DecodeRaplCSVTable.fileNameMarker(source) + ".csv"))
            // prepare_training_data.py reads glob('run_*_of_*.csv').
            let (status, output) = try ChildProcess.python3("import fnmatch, sys; print(fnmatch.fnmatch(sys.argv[1].split('/')[-1], 'run_*_of_*.csv'))", [name])
            #expect(status == 0 && output.hasPrefix("True"), "\(output)")
        }
    }
}
