import VraplCore

/// Writes vrapl traces (layout: docs/trace-format.md).
///
/// Streaming use (the 16 ms collector): create one writer, then `append` every sample. Rows go into
/// preallocated column buffers (no allocation per sample); every `flushInterval` of sample time, or
/// when the buffers fill, they are appended to the datasets (`H5Dset_extent` + hyperslab write) and
/// the file is flushed (`H5Fflush`), so a crash loses at most the samples since the last flush.
/// The first sample is flushed at once.
/// Segments added with `addSegment` are written at the next flush.
///
/// Whole traces (the simulator): `TraceWriter.write(data, to:)` writes every column in one call each.
public final class TraceWriter {
    public struct Options: Sendable {
        /// Longest time, in sample (monotonic) time, that appended rows stay only in memory.
        public var flushIntervalNs: UInt64 = 1_000_000_000
        /// HDF5 chunk length in rows of each per-sample dataset.
        public var chunkRows: Int = 4096
        /// Rows buffered before a flush is forced (0: derived from the flush and sample intervals).
        public var bufferRows: Int = 0
        /// Disk space held back for the last flush (`DiskReserve`): nil derives it from the number of
        /// datasets and the chunk length (room for a new chunk of each, which is the most one flush
        /// can add, plus 256 KiB of metadata); 0 records without a reserve.
        public var reserveBytes: Int? = nil

        public init(flushIntervalNs: UInt64 = 1_000_000_000, chunkRows: Int = 4096, bufferRows: Int = 0,
                    reserveBytes: Int? = nil) {
            self.flushIntervalNs = flushIntervalNs
            self.chunkRows = chunkRows
            self.bufferRows = bufferRows
            self.reserveBytes = reserveBytes
        }

        /// Flush interval in seconds.
        public var flushIntervalSeconds: Double {
            get { Double(flushIntervalNs) / 1e9 }
            set { flushIntervalNs = UInt64(max(0, newValue) * 1e9) }
        }
    }

    public let path: String
    public let metadata: TraceMetadata
    public let vmstatNames: [String]
    public let raplZones: [RaplDomainSeries]
    public let recordsSimHiddenWatts: Bool
    /// CPU numbers whose per-CPU lines are recorded (`/percpu`), in column order; empty: none.
    public let perCPUIDs: [Int]
    /// Where the recorded busy time (`/cpu_usage`) is read; nil: not recorded.
    public let cpuUsageSource: String?
    public let options: Options

    /// Samples appended so far (flushed or not).
    public private(set) var sampleCount = 0
    /// Samples already written to the file.
    public private(set) var flushedSampleCount = 0
    /// Number of flushes done.
    public private(set) var flushCount = 0

    private let schema: TraceFileSchema
    private let capacity: Int
    private var buffered = 0
    private var lastFlushNs: UInt64? = nil
    private var lastSampleNs: UInt64? = nil
    private var pendingSegments: [TraceSegment] = []
    private var heldRow: [UInt64] = []
    private var heldRowValid = false
    private var closed = false
    /// The error of a failed flush: the file is valid up to the previous flush, and the writer refuses
    /// further appends (its datasets may differ in length after a partial flush).
    private var failure: Error? = nil
    /// Space for the last flush when the disk fills (nil: recording without a reserve).
    private let reserve: DiskReserve?

    private let monotonicBuffer: UnsafeMutablePointer<UInt64>
    private let wallBuffer: UnsafeMutablePointer<Int64>
    /// 15 stat columns, column c at `c * capacity`.
    private let statBuffer: UnsafeMutablePointer<UInt64>
    private let vmstatBuffer: UnsafeMutablePointer<UInt64>
    private let energyBuffer: UnsafeMutablePointer<UInt64>
    private let hiddenBuffer: UnsafeMutablePointer<Float>
    /// Per-CPU fields: field f, row r, column j at `(f * capacity + r) * cpus + j`.
    private let perCPUBuffer: UnsafeMutablePointer<UInt64>
    /// Busy time: user µs at `row`, system µs at `capacity + row`.
    private let cpuUsageBuffer: UnsafeMutablePointer<UInt64>
    private var lastCPUUsage = CPUUsage(userUsec: 0, systemUsec: 0)

    /// Creates (truncating) `path` with every dataset and the root attributes.
    /// - Parameters:
    ///   - vmstatNames: the /proc/vmstat counters, in the order `append` receives them.
    ///   - raplZones: the RAPL zones (their `energyUj` is ignored), in the order `append` receives them.
    ///   - recordsSimHiddenWatts: create `sim_hidden_w` (simulator traces only).
    ///   - perCPUIDs: record these CPUs' `cpuN` lines (`ProcStatSnapshot.perCPU[N]`) in `/percpu`.
    ///   - cpuUsageSource: record busy time (`/cpu_usage`, the `cpuUsage` of `append`), read from there.
    public init(path: String, metadata: TraceMetadata, vmstatNames: [String] = VmstatDefaults.counters,
                raplZones: [RaplDomainSeries], recordsSimHiddenWatts: Bool = false, perCPUIDs: [Int] = [],
                cpuUsageSource: String? = nil, options: Options = Options()) throws {
        self.path = path
        self.metadata = metadata
        self.vmstatNames = vmstatNames
        self.raplZones = raplZones
        self.recordsSimHiddenWatts = recordsSimHiddenWatts
        self.perCPUIDs = perCPUIDs
        self.cpuUsageSource = cpuUsageSource
        self.options = options
        var capacity = options.bufferRows
        if capacity <= 0 {
            let interval = max(metadata.sampleIntervalNs, 1)
            let perFlush = Int(min(options.flushIntervalNs / interval, 1 << 20))
            capacity = max(64, 2 * perFlush + 16)
        }
        self.capacity = capacity
        let perSampleDatasets = 2 + 15 + vmstatNames.count + raplZones.count + (recordsSimHiddenWatts ? 1 : 0) + (cpuUsageSource == nil ? 0 : 2)
        let perCPUChunkBytes = perCPUIDs.isEmpty ? 0 : 10 * 8192 * 8
        let reserveBytes = options.reserveBytes ?? (perSampleDatasets * max(1, options.chunkRows) * 8 + perCPUChunkBytes + (256 << 10))
        var directory = String(path.dropLast(TextFile.lastComponent(path).utf8.count))
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        reserve = reserveBytes > 0 ? try DiskReserve(directory: directory.isEmpty ? "." : directory, bytes: reserveBytes) : nil
        schema = try TraceFileSchema(path: path, metadata: metadata, vmstatNames: vmstatNames, raplZones: raplZones,
                                     recordsSimHiddenWatts: recordsSimHiddenWatts, perCPUIDs: perCPUIDs,
                                     cpuUsageSource: cpuUsageSource, chunkRows: options.chunkRows)
        monotonicBuffer = .allocate(capacity: capacity)
        wallBuffer = .allocate(capacity: capacity)
        statBuffer = .allocate(capacity: 15 * capacity)
        vmstatBuffer = .allocate(capacity: max(1, vmstatNames.count) * capacity)
        energyBuffer = .allocate(capacity: max(1, raplZones.count) * capacity)
        hiddenBuffer = .allocate(capacity: capacity)
        perCPUBuffer = .allocate(capacity: max(1, 10 * capacity * perCPUIDs.count))
        perCPUBuffer.initialize(repeating: 0, count: max(1, 10 * capacity * perCPUIDs.count))
        cpuUsageBuffer = .allocate(capacity: 2 * capacity)
        // Make the empty file (attributes, datasets) durable at once.
        try schema.flush()
    }

    deinit {
        if !closed { try? close() }
        monotonicBuffer.deallocate()
        wallBuffer.deallocate()
        statBuffer.deallocate()
        vmstatBuffer.deallocate()
        energyBuffer.deallocate()
        hiddenBuffer.deallocate()
        perCPUBuffer.deallocate()
        cpuUsageBuffer.deallocate()
    }

    /// Appends one sample. `vmstat` and `energyUj` must have one value per vmstat name / RAPL zone,
    /// in the writer's order. `simHiddenWatts` is required iff the writer records it (nil → NaN).
    /// `cpuUsage` is the busy time of a writer that records it (nil holds the previous reading).
    /// Allocates nothing except when a flush is due.
    public func append(monotonicNs: UInt64, wallClockNs: Int64, stat: ProcStatSnapshot,
                       vmstat: UnsafeBufferPointer<UInt64>, energyUj: UnsafeBufferPointer<UInt64>,
                       simHiddenWatts: Float? = nil, cpuUsage: CPUUsage? = nil) throws {
        guard !closed else { throw TraceError(path: path, message: "append after close") }
        if let failure { throw failure }
        guard vmstat.count == vmstatNames.count else {
            throw TraceError(path: path, object: "/vmstat", message: "append got \(vmstat.count) vmstat values for \(vmstatNames.count) counters")
        }
        guard energyUj.count == raplZones.count else {
            throw TraceError(path: path, object: "/rapl", message: "append got \(energyUj.count) energy values for \(raplZones.count) zones")
        }
        if simHiddenWatts != nil && !recordsSimHiddenWatts {
            throw TraceError(path: path, object: "/sim_hidden_w", message: "append got a hidden power value but the writer was created without sim_hidden_w")
        }
        let row = buffered
        monotonicBuffer[row] = monotonicNs
        wallBuffer[row] = wallClockNs
        let cpu = stat.cpu
        let c = capacity
        statBuffer[row] = cpu.user
        statBuffer[c + row] = cpu.nice
        statBuffer[2 * c + row] = cpu.system
        statBuffer[3 * c + row] = cpu.idle
        statBuffer[4 * c + row] = cpu.iowait
        statBuffer[5 * c + row] = cpu.irq
        statBuffer[6 * c + row] = cpu.softirq
        statBuffer[7 * c + row] = cpu.steal
        statBuffer[8 * c + row] = cpu.guest
        statBuffer[9 * c + row] = cpu.guestNice
        statBuffer[10 * c + row] = stat.contextSwitches
        statBuffer[11 * c + row] = stat.interrupts
        statBuffer[12 * c + row] = stat.processesCreated
        statBuffer[13 * c + row] = stat.procsRunning
        statBuffer[14 * c + row] = stat.procsBlocked
        for i in 0..<vmstat.count { vmstatBuffer[i * c + row] = vmstat[i] }
        for i in 0..<energyUj.count { energyBuffer[i * c + row] = energyUj[i] }
        hiddenBuffer[row] = simHiddenWatts ?? .nan
        if let u = cpuUsage { lastCPUUsage = u }
        cpuUsageBuffer[row] = lastCPUUsage.userUsec
        cpuUsageBuffer[c + row] = lastCPUUsage.systemUsec
        let cpus = perCPUIDs.count
        if cpus > 0 {
            // A CPU whose line is missing this time (offline) holds the values of the previous row.
            let previous = row > 0 ? row - 1 : (heldRowValid ? -1 : nil)
            for (j, id) in perCPUIDs.enumerated() {
                if id < stat.perCPU.count {
                    let t = stat.perCPU[id]
                    for f in 0..<10 { perCPUBuffer[(f * c + row) * cpus + j] = t[f] }
                } else if let p = previous {
                    for f in 0..<10 { perCPUBuffer[(f * c + row) * cpus + j] = p >= 0 ? perCPUBuffer[(f * c + p) * cpus + j] : heldRow[f * cpus + j] }
                }
            }
        }
        buffered += 1
        sampleCount += 1
        lastSampleNs = monotonicNs
        if lastFlushNs == nil { lastFlushNs = monotonicNs }
        // The first sample is flushed at once, so that a crash at any moment after it keeps samples
        // (the probe lost 1.04 s to a SIGKILL just before the first 1 s flush).
        if flushCount == 0 || buffered == capacity || monotonicNs &- (lastFlushNs ?? monotonicNs) >= options.flushIntervalNs {
            try flush(at: monotonicNs)
        }
    }

    /// Appends one sample from arrays (reuse the arrays between calls: no allocation).
    public func append(monotonicNs: UInt64, wallClockNs: Int64, stat: ProcStatSnapshot,
                       vmstat: [UInt64], energyUj: [UInt64], simHiddenWatts: Float? = nil, cpuUsage: CPUUsage? = nil) throws {
        try vmstat.withUnsafeBufferPointer { vmstatValues in
            try energyUj.withUnsafeBufferPointer { energyValues in
                try append(monotonicNs: monotonicNs, wallClockNs: wallClockNs, stat: stat,
                           vmstat: vmstatValues, energyUj: energyValues, simHiddenWatts: simHiddenWatts, cpuUsage: cpuUsage)
            }
        }
    }

    /// Records a labelled segment; it reaches the file at the next flush.
    public func addSegment(_ segment: TraceSegment) {
        pendingSegments.append(segment)
    }

    /// Writes buffered rows and pending segments, then flushes the file.
    public func flush() throws {
        guard !closed else { return }
        try flush(at: lastSampleNs)
    }

    private func flush(at now: UInt64?) throws {
        if let failure { throw failure }
        // Less free space than the reserve: release it, write everything into that room, close the
        // file and stop, instead of letting HDF5 meet ENOSPC in the middle of a flush.
        let diskFull = reserve?.shouldRelease() ?? false
        do {
            try writeBuffered(at: now)
        } catch {
            failure = error
            throw error
        }
        if diskFull {
            let stop = TraceError(path: path, message: "the disk is full (less than \((reserve?.bytes ?? 0) / 1024) KiB free): "
                                  + "recording stopped; the trace is closed with all \(flushedSampleCount) samples")
            failure = stop
            try schema.close()
            closed = true
            throw stop
        }
    }

    private func writeBuffered(at now: UInt64?) throws {
        HDF5.prepare()  // the flush may run on another thread than the one that created the writer
        let n = buffered
        if n > 0 {
            let c = capacity
            try schema.monotonic.append(UnsafeBufferPointer(start: monotonicBuffer, count: n))
            try schema.wallClock.append(UnsafeBufferPointer(start: wallBuffer, count: n))
            for (i, dataset) in schema.stat.enumerated() {
                try dataset.append(UnsafeBufferPointer(start: statBuffer + i * c, count: n))
            }
            for (i, dataset) in schema.vmstat.enumerated() {
                try dataset.append(UnsafeBufferPointer(start: vmstatBuffer + i * c, count: n))
            }
            for (i, dataset) in schema.rapl.enumerated() {
                try dataset.append(UnsafeBufferPointer(start: energyBuffer + i * c, count: n))
            }
            if let hidden = schema.simHidden {
                try hidden.append(UnsafeBufferPointer(start: hiddenBuffer, count: n))
            }
            if let user = schema.cpuUsageUser, let system = schema.cpuUsageSystem {
                try user.append(UnsafeBufferPointer(start: cpuUsageBuffer, count: n))
                try system.append(UnsafeBufferPointer(start: cpuUsageBuffer + c, count: n))
            }
            let cpus = perCPUIDs.count
            for (f, dataset) in schema.perCPU.enumerated() {
                try dataset.append(UnsafeBufferPointer(start: perCPUBuffer + f * c * cpus, count: n * cpus))
            }
            if cpus > 0 {
                // Keep the last row for a CPU that goes missing right after the flush.
                if heldRow.count != 10 * cpus { heldRow = [UInt64](repeating: 0, count: 10 * cpus) }
                for f in 0..<10 { for j in 0..<cpus { heldRow[f * cpus + j] = perCPUBuffer[(f * c + n - 1) * cpus + j] } }
                heldRowValid = true
            }
            buffered = 0
            flushedSampleCount += n
        }
        if !pendingSegments.isEmpty {
            try schema.append(segments: pendingSegments)
            pendingSegments.removeAll(keepingCapacity: true)
        }
        try schema.flush()
        flushCount += 1
        if let now { lastFlushNs = now }
    }

    /// Flushes and closes the file. Further appends throw.
    public func close() throws {
        guard !closed else { return }
        defer { closed = true; reserve?.release() }
        do {
            try flush()
        } catch {
            try? schema.close()
            throw error
        }
        try schema.close()
    }

    // MARK: whole traces

    /// Writes a whole in-memory trace: one dataset write per column. Every column must hold
    /// `data.sampleCount` values (the simulator's millions of samples go out at disk speed).
    /// - Parameters:
    ///   - chunkRows: HDF5 chunk length (default: the trace length, between 1024 and 65536).
    ///   - deflateLevel: 1…9 compresses every per-sample dataset with shuffle + deflate (readable by
    ///     any HDF5 reader, h5py included): cumulative counters shrink several-fold, at the cost of
    ///     write and read time (docs/PERFORMANCE.md). nil (default) writes uncompressed.
    public static func write(_ data: TraceData, to path: String, chunkRows: Int? = nil, deflateLevel: Int?) throws {
        try write(data, to: path, chunkRows: chunkRows, compression: deflateLevel)
    }

    /// Writes a whole in-memory trace uncompressed (see `write(_:to:chunkRows:deflateLevel:)`).
    public static func write(_ data: TraceData, to path: String, chunkRows: Int? = nil) throws {
        try write(data, to: path, chunkRows: chunkRows, compression: nil)
    }

    private static func write(_ data: TraceData, to path: String, chunkRows: Int?, compression deflateLevel: Int?) throws {
        let n = data.sampleCount
        func require(_ count: Int, _ object: String) throws {
            if count != n {
                throw TraceError(path: path, object: object, message: "has \(count) values but the trace has \(n) samples")
            }
        }
        try require(data.wallClockNs.count, "/" + TraceLayout.wallClock)
        guard data.cpuFields.count == 10 else {
            throw TraceError(path: path, object: "/cpu_*", message: "expected 10 cpu fields, found \(data.cpuFields.count)")
        }
        let stat = data.cpuFields + [data.contextSwitches, data.interrupts, data.processesCreated, data.procsRunning, data.procsBlocked]
        for (column, name) in zip(stat, TraceLayout.statDatasets) { try require(column.count, "/" + name) }
        for series in data.vmstat { try require(series.values.count, "/vmstat/" + series.name) }
        for zone in data.rapl { try require(zone.energyUj.count, "/rapl/" + TraceLayout.raplGroupName(forKey: zone.key) + "/energy_uj") }
        if let hidden = data.simHiddenWatts { try require(hidden.count, "/" + TraceLayout.simHidden) }
        if let per = data.perCPU {
            for (f, column) in per.fields.enumerated() where column.count != n * per.cpuIDs.count {
                throw TraceError(path: path, object: "/percpu/" + TraceLayout.cpuDatasets[f],
                                 message: "has \(column.count) values, expected \(n) samples × \(per.cpuIDs.count) CPUs")
            }
        }
        if let view = data.guestView {
            try require(view.vcpus.count, "/guest_view/vcpus")
            try require(view.energyUj.count, "/guest_view/energy_uj")
            do { try view.host.validate() } catch let e as VraplError {
                throw TraceError(path: path, object: "/guest_view@host", message: e.message)
            }
        }

        if let usage = data.cpuUsage {
            try require(usage.userUsec.count, "/cpu_usage/user_usec")
            try require(usage.systemUsec.count, "/cpu_usage/system_usec")
        }
        let chunk = chunkRows ?? max(1024, min(n, 65536))
        let schema = try TraceFileSchema(path: path, metadata: data.metadata, vmstatNames: data.vmstat.map(\.name),
                                         raplZones: data.rapl, recordsSimHiddenWatts: data.simHiddenWatts != nil,
                                         guestView: data.guestView, perCPUIDs: data.perCPU?.cpuIDs,
                                         cpuUsageSource: data.cpuUsage?.source, chunkRows: chunk,
                                         deflateLevel: deflateLevel)
        do {
            try data.monotonicNs.withUnsafeBufferPointer { try schema.monotonic.append($0) }
            try data.wallClockNs.withUnsafeBufferPointer { try schema.wallClock.append($0) }
            for (column, dataset) in zip(stat, schema.stat) { try column.withUnsafeBufferPointer { try dataset.append($0) } }
            for (series, dataset) in zip(data.vmstat, schema.vmstat) { try series.values.withUnsafeBufferPointer { try dataset.append($0) } }
            for (zone, dataset) in zip(data.rapl, schema.rapl) { try zone.energyUj.withUnsafeBufferPointer { try dataset.append($0) } }
            if let hidden = data.simHiddenWatts, let dataset = schema.simHidden {
                try hidden.withUnsafeBufferPointer { try dataset.append($0) }
            }
            if let per = data.perCPU {
                for (column, dataset) in zip(per.fields, schema.perCPU) { try column.withUnsafeBufferPointer { try dataset.append($0) } }
            }
            if let view = data.guestView, let vcpus = schema.guestViewVcpus, let energy = schema.guestViewEnergy {
                try view.vcpus.withUnsafeBufferPointer { try vcpus.append($0) }
                try view.energyUj.withUnsafeBufferPointer { try energy.append($0) }
            }
            if let usage = data.cpuUsage, let user = schema.cpuUsageUser, let system = schema.cpuUsageSystem {
                try usage.userUsec.withUnsafeBufferPointer { try user.append($0) }
                try usage.systemUsec.withUnsafeBufferPointer { try system.append($0) }
            }
            try schema.append(segments: data.segments)
            try schema.close()
        } catch {
            try? schema.close()
            throw error
        }
    }
}
