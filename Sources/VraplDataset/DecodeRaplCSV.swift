import Foundation
import VraplCore
import VraplTrace

/// DECODE-RAPL's per-sample CSV: `timestamp_unix,user_percent,system_percent,iowait_percent,
/// ctx_switches_per_sec[,package_power_watts]` (columns found by header name, any order, extra
/// columns ignored). Its rows are already per-interval values, so every row has features
/// (`firstValid` 0); the `decode-rapl-4` set is user%, system%, iowait%, log1p(ctx_switches_per_sec).
public struct DecodeRaplCSV: Sendable {
    public var series: FeatureSeries
    /// `package_power_watts`, when the file has it.
    public var packageWatts: [Float]?

    public static let requiredColumns = DecodeRaplCSVTable.requiredColumns

    public init(url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw VraplError("cannot read CSV \(url.path): \(error.localizedDescription)")
        }
        try self.init(text: text, name: url.path)
    }

    public init(text: String, name: String = "CSV") throws {
        let table: DecodeRaplCSVTable
        do { table = try DecodeRaplCSVTable(text: text, name: name) } catch let error as TraceError {
            throw VraplError(error.description)
        }
        let n = table.rowCount
        var values = [Float](repeating: 0, count: 4 * n)
        for t in 0..<n {
            values[0 * n + t] = Float(table.userPercent[t])
            values[1 * n + t] = Float(table.systemPercent[t])
            values[2 * n + t] = Float(table.iowaitPercent[t])
            values[3 * n + t] = Float(log1p(max(0, table.contextSwitchesPerSecond[t])))
        }
        let times = table.timestamps
        let power = table.packageWatts.map { $0.map(Float.init) }
        series = FeatureSeries(featureNames: FeatureSet.decodeRapl4.featureNames, count: n, values: values,
                               firstValid: 0, timestampsUnix: times)
        packageWatts = power
    }
}
