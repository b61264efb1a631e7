import VraplCore

/// Conversion between vrapl traces and DECODE-RAPL's collector CSV
/// (`timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts`),
/// one row per sample interval.
public enum DecodeRaplCSVConversion {
    public static let header = "timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts"

    /// Synthetic USER_HZ of imported traces: CPU ticks per interval are Δt × userHz × cores, so that
    /// the percentages survive with a resolution of about 1e-5 % at 16 ms.
    public static let importedUserHz = 10_000_000

    // MARK: export

    /// The CSV text of a trace: one row per interval (n − 1 rows), timestamp = wall clock at the end
    /// of the interval. `package_power_watts` is empty when the trace has no package zone.
    public static func export(_ trace: TraceData) -> String {
        let d = DerivedSeries(trace)
        var out = header + "\n"
        out.reserveCapacity(d.intervalCount * 80 + 128)
        for k in 0..<d.intervalCount {
            out += String(cFormat: "%.6f,%.6f,%.6f,%.6f,%.3f,", d.endTimeUnix[k], d.userPercent[k], d.systemPercent[k],
                           d.iowaitPercent[k], d.contextSwitchesPerSecond[k])
            if let p = d.packageWatts { out += String(cFormat: "%.6f", p[k]) }
            out += "\n"
        }
        return out
    }

    /// Writes `export(trace)` to `path`.
    public static func export(_ trace: TraceData, to path: String) throws {
        do {
            try TextFile.writeAtomically(export(trace), to: path)
            try TextFile.writeAtomically(trace.metadata.powerSource.description + "\n",
                                         to: DecodeRaplCSVTable.powerSourceSidecar(forCSV: path))
        } catch {
            throw TraceError(path: path, message: "cannot write CSV: \(error)")
        }
    }

    // MARK: import

    /// Options for `importCSV`.
    public struct ImportOptions: Sendable {
        public var powerSource: PowerSource = .rapl
        /// Cores of the recording host (scales the synthetic CPU ticks; 1 if unknown).
        public var coreCount: Int = 1
        public var hostName: String = ""
        public var labels: [String: String] = [:]
        /// Interval assumed before the first row when the file has a single row, ns.
        public var fallbackIntervalNs: UInt64 = 16_000_000
        public init() {}
    }

    /// Reads DECODE-RAPL CSV from `path` and rebuilds a trace of raw cumulative counters.
    public static func importCSV(path: String, options: ImportOptions = ImportOptions()) throws -> TraceData {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw TraceError(path: path, message: "cannot read CSV: \(error)")
        }
        var options = options
        // Simulated stays simulated: a sidecar from `vrapl export` saying `sim:…` wins over `rapl`
        // (an explicit `sim:<profile>` option may still rename the profile).
        if let declared = try DecodeRaplCSVTable.declaredPowerSource(csvPath: path), declared.isSimulated,
           !options.powerSource.isSimulated {
            options.powerSource = declared
        }
        if options.labels["imported_from"] == nil { options.labels["imported_from"] = TextFile.lastComponent(path) }
        return try importCSV(text: text, name: path, options: options)
    }

    /// Rebuilds a trace from DECODE-RAPL CSV text.
    ///
    /// Row r (an interval ending at its `timestamp_unix`) becomes sample r + 1; sample 0 lies one
    /// interval (the median one) before the first row. CPU ticks consistent with the percentages are
    /// synthesised at `importedUserHz` × cores per second (idle gets the remainder), `ctxt` from
    /// rate × Δt, and a `package-0` energy counter from watts × Δt (64-bit, never wraps). Rounding to
    /// integers carries its error forward, so no drift accumulates. Other counters are zero.
    public static func importCSV(text: String, name: String, options: ImportOptions = ImportOptions()) throws -> TraceData {
        let table = try DecodeRaplCSVTable(text: text, name: name)
        let rows = table.rowCount
        let time = table.timestamps, user = table.userPercent, system = table.systemPercent
        let iowait = table.iowaitPercent, ctx = table.contextSwitchesPerSecond, power = table.packageWatts
        // Timestamps: seconds, or milliseconds / nanoseconds since the epoch for large values.
        let scale: Double = time[0] > 1e17 ? 1e-9 : (time[0] > 1e11 ? 1e-3 : 1)
        let wallNs = time.map { Int64(($0 * scale * 1e9).rounded()) }
        var deltas: [Int64] = []
        for r in 1..<max(1, rows) {
            let d = wallNs[r] - wallNs[r - 1]
            guard d > 0 else {
                throw TraceError(path: name, message: "line \(r + 2): timestamp_unix does not increase (\(time[r]) after \(time[r - 1]))")
            }
            deltas.append(d)
        }
        let firstInterval = deltas.isEmpty ? Int64(options.fallbackIntervalNs) : deltas.sorted()[deltas.count / 2]

        var metadata = TraceMetadata()
        metadata.hostName = options.hostName
        metadata.coreCount = options.coreCount
        metadata.sampleIntervalNs = UInt64(firstInterval)
        metadata.powerSource = options.powerSource
        metadata.startTimeNs = wallNs[0] - firstInterval
        metadata.userHz = importedUserHz
        metadata.labels = options.labels
        metadata.labels["synthetic_counters"] = "cpu ticks (user_hz \(importedUserHz) x cores), ctxt and package-0 energy rebuilt from DECODE-RAPL percentages, rates and watts"

        var trace = TraceData(metadata: metadata)
        let n = rows + 1
        trace.monotonicNs.reserveCapacity(n)
        trace.wallClockNs.reserveCapacity(n)
        // Sample 0, one interval before the first row; monotonic time starts at 1 s.
        trace.wallClockNs.append(metadata.startTimeNs)
        trace.monotonicNs.append(1_000_000_000)
        for r in 0..<rows {
            trace.wallClockNs.append(wallNs[r])
            trace.monotonicNs.append(1_000_000_000 + UInt64(wallNs[r] - metadata.startTimeNs))
        }
        var cpu = [[UInt64]](repeating: [UInt64](repeating: 0, count: n), count: 10)
        var contextSwitches = [UInt64](repeating: 0, count: n)
        var energy = [UInt64](repeating: 0, count: n)
        var exact = (user: 0.0, system: 0.0, idle: 0.0, iowait: 0.0, ctx: 0.0, energy: 0.0)
        let ticksPerSecond = Double(importedUserHz) * Double(max(1, options.coreCount))
        for r in 0..<rows {
            let seconds = Double(trace.monotonicNs[r + 1] - trace.monotonicNs[r]) / 1e9
            let ticks = seconds * ticksPerSecond
            let u = max(0, user[r]), s = max(0, system[r]), w = max(0, iowait[r])
            let busy = u + s + w
            let idle = max(0, 100 - busy)
            let norm = max(100, busy)  // percentages over 100 in total are scaled down together
            exact.user += ticks * u / norm
            exact.system += ticks * s / norm
            exact.iowait += ticks * w / norm
            exact.idle += ticks * idle / norm
            exact.ctx += max(0, ctx[r]) * seconds
            cpu[0][r + 1] = UInt64(exact.user.rounded())
            cpu[2][r + 1] = UInt64(exact.system.rounded())
            cpu[3][r + 1] = UInt64(exact.idle.rounded())
            cpu[4][r + 1] = UInt64(exact.iowait.rounded())
            contextSwitches[r + 1] = UInt64(exact.ctx.rounded())
            if let power {
                exact.energy += max(0, power[r]) * seconds * 1e6
                energy[r + 1] = UInt64(exact.energy.rounded())
            }
        }
        trace.cpuFields = cpu
        trace.contextSwitches = contextSwitches
        let zeros = [UInt64](repeating: 0, count: n)
        trace.interrupts = zeros
        trace.processesCreated = zeros
        trace.procsRunning = zeros
        trace.procsBlocked = zeros
        if power != nil {
            trace.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 0, energyUj: energy)]
        }
        return trace
    }
}
