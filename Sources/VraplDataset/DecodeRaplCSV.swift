import Foundation
import VraplCore

/// DECODE-RAPL's per-sample CSV: `timestamp_unix,user_percent,system_percent,iowait_percent,
/// ctx_switches_per_sec[,package_power_watts]` (columns found by header name, any order, extra
/// columns ignored). Its rows are already per-interval values, so every row has features
/// (`firstValid` 0); the `decode-rapl-4` set is user%, system%, iowait%, log1p(ctx_switches_per_sec).
public struct DecodeRaplCSV: Sendable {
    public var series: FeatureSeries
    /// `package_power_watts`, when the file has it.
    public var packageWatts: [Float]?

    public static let requiredColumns = ["timestamp_unix", "user_percent", "system_percent", "iowait_percent", "ctx_switches_per_sec"]

    public init(url: URL) throws {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw VraplError("cannot read CSV \(url.path): \(error.localizedDescription)")
        }
        try self.init(text: text, name: url.path)
    }

    public init(text: String, name: String = "CSV") throws {
        var lines = text.split(whereSeparator: \.isNewline).map { String($0) }.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !lines.isEmpty else { throw VraplError("\(name): empty CSV") }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for (i, h) in header.enumerated() { index[h] = i }
        let missing = Self.requiredColumns.filter { index[$0] == nil }
        guard missing.isEmpty else { throw VraplError("\(name): missing column(s) \(missing.joined(separator: ", "))") }
        let cols = Self.requiredColumns.compactMap { index[$0] }
        let powerColumn = index["package_power_watts"]
        let n = lines.count
        var values = [Float](repeating: 0, count: 4 * n)
        var times = [Double](repeating: 0, count: n)
        var power: [Float]? = powerColumn == nil ? nil : [Float](repeating: 0, count: n)
        for (t, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            func number(_ c: Int) throws -> Double {
                guard c < fields.count, let v = Double(fields[c].trimmingCharacters(in: .whitespaces)) else {
                    throw VraplError("\(name): line \(t + 2): column \(header[c]) is not a number")
                }
                return v
            }
            times[t] = try number(cols[0])
            values[0 * n + t] = Float(try number(cols[1]))
            values[1 * n + t] = Float(try number(cols[2]))
            values[2 * n + t] = Float(try number(cols[3]))
            values[3 * n + t] = Float(log1p(max(0, try number(cols[4]))))
            if let pc = powerColumn { power?[t] = Float(try number(pc)) }
        }
        series = FeatureSeries(featureNames: FeatureSet.decodeRapl4.featureNames, count: n, values: values,
                               firstValid: 0, timestampsUnix: times)
        packageWatts = power
    }
}
