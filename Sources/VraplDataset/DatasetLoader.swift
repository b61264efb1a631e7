import Foundation
import VraplCore
import VraplTrace

/// Where one input of a dataset came from (for the model's provenance and card).
public struct TraceProvenance: Codable, Equatable, Sendable {
    public var path: String
    public var samples: Int
    public var windows: Int
    public var sha256: String
    public var host: String
    public var cpuModel: String
    public var powerSource: PowerSource
    public var segments: Int

    enum CodingKeys: String, CodingKey {
        case path, samples, windows, sha256, host, segments
        case cpuModel = "cpu_model"
        case powerSource = "power_source"
    }
}

/// Reads traces (HDF5, `.h5`) and DECODE-RAPL CSV files (`.csv`, with `package_power_watts`) into a
/// `WindowDataset`, one file at a time so that raw counters never all sit in memory together.
public enum DatasetLoader {
    /// Expands files, directories (every `.h5` and `.csv` inside, sorted, not recursive) and simple
    /// globs (`*`, `?` in the last path component) into a sorted, deduplicated file list.
    public static func expand(_ inputs: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: input, isDirectory: &isDir) {
                if isDir.boolValue {
                    let names = (try? fm.contentsOfDirectory(atPath: input)) ?? []
                    out += names.filter { $0.hasSuffix(".h5") || $0.hasSuffix(".csv") }.sorted()
                        .map { (input as NSString).appendingPathComponent($0) }
                } else {
                    out.append(input)
                }
            } else if input.contains("*") || input.contains("?") {
                let dir = (input as NSString).deletingLastPathComponent
                let pattern = (input as NSString).lastPathComponent
                let names = (try? fm.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
                let matched = names.filter { fnmatch(pattern, $0, 0) == 0 }.sorted()
                out += matched.map { dir.isEmpty ? $0 : (dir as NSString).appendingPathComponent($0) }
            } else {
                throw VraplError("\(input): no such file or directory")
            }
        }
        var seen = Set<String>()
        out = out.filter { seen.insert($0).inserted }
        guard !out.isEmpty else { throw VraplError("no .h5 or .csv data found in \(inputs.joined(separator: " "))") }
        return out
    }

    /// Loads every file into one dataset. `log` receives one line per file.
    /// CSV files carry no power-source label: `csvPowerSource` says what they hold (DECODE-RAPL's
    /// collector CSV is RAPL; pass `sim:<profile>` for CSV exported from a simulated trace), unless a
    /// `<csv>.power_source` sidecar written by `vrapl export` says otherwise.
    public static func load(paths: [String], featureSet: FeatureSet, options: WindowOptions,
                            csvPowerSource defaultCSVPowerSource: PowerSource = .rapl,
                            log: (String) -> Void = { _ in }) throws -> (dataset: WindowDataset, provenance: [TraceProvenance]) {
        var builder = WindowDatasetBuilder(featureNames: featureSet.featureNames, options: options)
        var provenance: [TraceProvenance] = []
        var windowsBefore = 0
        let pooledIdle = try GuestViewDerivation.pooledIdleWatts(paths: paths, featureSet: featureSet)
        for path in paths {
            let name = URL(fileURLWithPath: path).lastPathComponent
            var record: TraceProvenance
            var implausible = 0
            if path.hasSuffix(".csv") {
                guard featureSet == .decodeRapl4 else {
                    throw VraplError("\(path): CSV input carries only the decode-rapl-4 features, not '\(featureSet.name)'")
                }
                let csv = try DecodeRaplCSV(url: URL(fileURLWithPath: path))
                // A sidecar written by `vrapl export` overrides the default: simulated stays simulated.
                let csvPowerSource: PowerSource
                do { csvPowerSource = try DecodeRaplCSVTable.declaredPowerSource(csvPath: path) ?? defaultCSVPowerSource }
                catch { throw VraplError("\(error)") }
                guard let watts = csv.packageWatts else {
                    throw VraplError("\(path): no package_power_watts column to train on")
                }
                try builder.add(series: csv.series, targets: watts, segments: [], name: name, powerSource: csvPowerSource)
                record = TraceProvenance(path: path, samples: csv.series.count, windows: 0, sha256: "", host: "",
                                         cpuModel: "", powerSource: csvPowerSource, segments: 0)
            } else {
                // A guest-shaped feature set turns a host trace with per-CPU lines into its guest view.
                let trace = try GuestViewDerivation.viewIfNeeded(try TraceReader.read(path), featureSet: featureSet, name: path, idleWatts: pooledIdle)
                implausible = try builder.add(trace: trace, featureSet: featureSet, name: name)
                record = TraceProvenance(path: path, samples: trace.sampleCount, windows: 0, sha256: "",
                                         host: trace.metadata.hostName, cpuModel: trace.metadata.cpuModel,
                                         powerSource: trace.metadata.powerSource, segments: trace.segments.count)
            }
            record.sha256 = (try? sha256(ofFile: path)) ?? ""
            let windows = builder.windowCount
            record.windows = windows - windowsBefore
            windowsBefore = windows
            log("  \(name): \(record.samples) samples, \(record.windows) windows, power \(record.powerSource)"
                + (implausible > 0 ? "; \(implausible) intervals with an implausible RAPL reading (above the counter's range or over 5 kW) left out" : ""))
            provenance.append(record)
        }
        return (builder.build(), provenance)
    }

    /// SHA-256 of a file as lowercase hex, by `sha256sum` (coreutils).
    public static func sha256(ofFile path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let hex = String(decoding: data, as: UTF8.self).split(separator: " ").first else {
            throw VraplError("\(path): sha256sum failed")
        }
        return String(hex)
    }
}
