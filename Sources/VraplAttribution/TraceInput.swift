import VraplCore
import VraplTrace

extension OfflineInputs {
    /// Host rows from a vrapl trace (HDF5 from `vrapl-collect` or `vrapl simulate`): package power from
    /// the RAPL counters (wrap handled by `DerivedSeries`), binned into `binSeconds` windows so that
    /// 16 ms samples line up with 1 s cgroup logs. Labelled segments become phases; a bin never spans
    /// two phases. Traces have no GPU columns.
    public static func hostRows(trace: TraceData, binSeconds: Double, source: String) throws -> [HostRow] {
        let derived = DerivedSeries(trace)
        guard let watts = derived.packageWatts else { throw VraplError("\(source): the trace has no RAPL package zone") }
        if let first = derived.implausiblePowerIntervals.first {
            throw VraplError("\(source): \(derived.implausiblePowerIntervals.count) intervals have an implausible RAPL reading "
                             + "(a counter above its range or over 5 kW; first between samples \(first) and \(first + 1)): energy cannot be attributed across them")
        }
        func phase(ofSample s: Int) -> String {
            trace.segments.first { $0.firstSample <= s && s <= $0.lastSample }?.name ?? ""
        }
        var rows: [HostRow] = []
        var energy = 0.0, seconds = 0.0
        var current: String?
        func flush(endTime: Double) {
            if seconds > 0, let p = current { rows.append(HostRow(time: endTime, phase: p, cpuW: energy / seconds, gpuW: [], gpuUtilPct: [])) }
            energy = 0; seconds = 0
        }
        var lastEnd = 0.0
        for k in 0..<derived.intervalCount {
            let p = phase(ofSample: k + 1)
            if let c = current, c != p { flush(endTime: lastEnd) }
            current = p
            energy += watts[k] * derived.intervalSeconds[k]
            seconds += derived.intervalSeconds[k]
            lastEnd = derived.endTimeUnix[k]
            if seconds >= binSeconds - 1e-9 { flush(endTime: lastEnd) }
        }
        flush(endTime: lastEnd)
        return rows
    }
}
