import VraplCore

/// The columns of a DECODE-RAPL collector CSV (`timestamp_unix,user_percent,system_percent,
/// iowait_percent,ctx_switches_per_sec[,package_power_watts]`), found by header name in any order
/// (extra columns ignored), every value a finite number. The one parser behind `vrapl import`
/// (which rebuilds counters from it) and the dataset's CSV input (which takes the values as features).
public struct DecodeRaplCSVTable: Sendable {
    public static let requiredColumns = ["timestamp_unix", "user_percent", "system_percent", "iowait_percent", "ctx_switches_per_sec"]

    /// `timestamp_unix` as written (seconds, or ms / ns since the epoch in some exports).
    public var timestamps: [Double]
    public var userPercent: [Double]
    public var systemPercent: [Double]
    public var iowaitPercent: [Double]
    public var contextSwitchesPerSecond: [Double]
    /// `package_power_watts`, when the file has it.
    public var packageWatts: [Double]?

    public var rowCount: Int { timestamps.count }

    /// Parses CSV text; errors name `name`, the line and the column.
    public init(text: String, name: String) throws {
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
        lines.removeAll { $0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else { throw TraceError(path: name, message: "empty CSV") }
        let header = lines.removeFirst().split(separator: ",").map { String($0).trimmingWhitespace() }
        var index: [String: Int] = [:]
        for (i, column) in header.enumerated() { index[column] = i }
        let missing = Self.requiredColumns.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw TraceError(path: name, message: "not DECODE-RAPL CSV: missing column(s) \(missing.joined(separator: ", ")) (header: \(header.joined(separator: ",")))")
        }
        let columns = Self.requiredColumns.compactMap { index[$0] }
        let powerColumn = index["package_power_watts"]
        let rows = lines.count
        guard rows > 0 else { throw TraceError(path: name, message: "no data rows") }

        var time = [Double](repeating: 0, count: rows)
        var user = time, system = time, iowait = time, ctx = time
        var power: [Double]? = powerColumn == nil ? nil : time
        for (r, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            func number(_ c: Int) throws -> Double {
                let text = c < fields.count ? String(fields[c]).trimmingWhitespace() : ""
                guard let v = Double(text), v.isFinite else {
                    throw TraceError(path: name, message: "line \(r + 2): column \(header[c]) is not a number: \"\(text)\"")
                }
                return v
            }
            time[r] = try number(columns[0])
            user[r] = try number(columns[1])
            system[r] = try number(columns[2])
            iowait[r] = try number(columns[3])
            ctx[r] = try number(columns[4])
            if let pc = powerColumn { power?[r] = try number(pc) }
        }
        timestamps = time
        userPercent = user
        systemPercent = system
        iowaitPercent = iowait
        contextSwitchesPerSecond = ctx
        packageWatts = power
    }

    // MARK: power source sidecar

    /// DECODE-RAPL's CSV has no place for a power source, so `vrapl export` writes it beside the CSV in
    /// `<csv>.power_source` (one line: `rapl` or `sim:<profile>`): a CSV exported from a simulated
    /// trace is then never read back as RAPL.
    public static func powerSourceSidecar(forCSV path: String) -> String { path + ".power_source" }

    /// The power source a file name states, as `vrapl export --decode-rapl-layout` writes it:
    /// `run_1_of_1.sim-xeon-silver-4210r.csv` (simulated) or `….rapl.csv`; nil when the name says nothing.
    public static func powerSource(inFileName path: String) -> PowerSource? {
        let name = TextFile.lastComponent(path)
        guard name.hasSuffix(".csv") else { return nil }
        let parts = name.dropLast(4).split(separator: ".")
        guard parts.count >= 2, let marker = parts.last else { return nil }
        if marker == "rapl" { return .rapl }
        if marker.hasPrefix("sim-") { return PowerSource(parsing: "sim:" + marker.dropFirst(4)) }
        return nil
    }

    /// The file-name marker for `source` (`rapl`, `sim-<profile>`).
    public static func fileNameMarker(_ source: PowerSource) -> String {
        source.description.replacingColon()
    }

    /// The power source a sidecar declares for the CSV at `path`; nil when there is no sidecar.
    public static func declaredPowerSource(csvPath path: String) throws -> PowerSource? {
        let sidecar = powerSourceSidecar(forCSV: path)
        guard TextFile.exists(sidecar) else { return powerSource(inFileName: path) }
        let text = (try? TextFile.read(sidecar))?.trimmingWhitespace() ?? ""
        guard let source = PowerSource(parsing: text) else {
            throw TraceError(path: sidecar, message: "not a power source: \"\(text)\" (expected rapl or sim:<profile>)")
        }
        return source
    }
}

private extension String {
    func replacingColon() -> String { String(map { $0 == ":" ? "-" : $0 }) }
}
