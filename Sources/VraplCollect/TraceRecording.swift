import VraplCore
import VraplTrace

extension TraceWriter: SampleSink {
    public func append(monotonicNs: UInt64, wallClockNs: Int64, stat: ProcStatSnapshot,
                       vmstat: UnsafeBufferPointer<UInt64>, energyUj: UnsafeBufferPointer<UInt64>, cpuUsage: CPUUsage?) throws {
        try append(monotonicNs: monotonicNs, wallClockNs: wallClockNs, stat: stat, vmstat: vmstat,
                   energyUj: energyUj, simHiddenWatts: nil, cpuUsage: cpuUsage)
    }
}

extension Collector {
    /// Records into the HDF5 trace at `configuration.outputPath` (created, or truncated), flushing
    /// every `flushIntervalNs` of sample time so a crash loses at most that much.
    public func record() throws -> CollectorSummary {
        setStartTime(SampleClock.wallNs())
        let writer = try TraceWriter(path: configuration.outputPath, metadata: metadata,
                                     vmstatNames: vmstat.counters, raplZones: raplZones, perCPUIDs: perCPUIDs,
                                     cpuUsageSource: cpuUsageSource,
                                     options: TraceWriter.Options(flushIntervalNs: configuration.flushIntervalNs))
        return try run(into: writer)
    }
}
