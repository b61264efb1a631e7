import CHDF5
import VraplCore

/// A new trace file with every dataset created (empty, extendible, chunked) and the root attributes
/// written. Both the streaming `TraceWriter` and the whole-trace `TraceWriter.write` append through it.
final class TraceFileSchema {
    let file: H5File
    let monotonic: H5Dataset
    let wallClock: H5Dataset
    /// The 15 /proc/stat columns in `TraceLayout.statDatasets` order.
    let stat: [H5Dataset]
    let vmstat: [H5Dataset]
    let rapl: [H5Dataset]
    let simHidden: H5Dataset?
    /// `/guest_view/vcpus` and `/guest_view/energy_uj` (guest-view traces only).
    let guestViewVcpus: H5Dataset?
    let guestViewEnergy: H5Dataset?
    /// `/percpu/cpu_<field>`, 10 datasets of samples × CPUs (empty when per-CPU lines are not recorded).
    let perCPU: [H5Dataset]
    /// `/cpu_usage/user_usec` and `/cpu_usage/system_usec` (when busy time is recorded).
    let cpuUsageUser: H5Dataset?
    let cpuUsageSystem: H5Dataset?
    private let segmentName: H5Dataset
    private let segmentFirst: H5Dataset
    private let segmentLast: H5Dataset
    private let segmentParameters: H5Dataset
    private var groups: [H5Group] = []
    private var closed = false

    init(path: String, metadata: TraceMetadata, vmstatNames: [String], raplZones: [RaplDomainSeries],
         recordsSimHiddenWatts: Bool, guestView: GuestViewSeries? = nil, perCPUIDs: [Int]? = nil,
         cpuUsageSource: String? = nil, chunkRows: Int, deflateLevel: Int? = nil) throws {
        let file = try H5File.create(path)
        self.file = file
        let root = file.root
        try Self.writeMetadata(metadata, to: root)

        func counter(_ group: H5Group, _ name: String, units: String) throws -> H5Dataset {
            let dataset = try group.createDataset(name, of: UInt64.self, chunkRows: chunkRows, deflateLevel: deflateLevel)
            try dataset.setAttribute("units", string: units)
            return dataset
        }
        monotonic = try counter(root, TraceLayout.monotonic, units: "ns (CLOCK_MONOTONIC)")
        wallClock = try root.createDataset(TraceLayout.wallClock, of: Int64.self, chunkRows: chunkRows, deflateLevel: deflateLevel)
        try wallClock.setAttribute("units", string: "ns since the Unix epoch (CLOCK_REALTIME)")
        var stat: [H5Dataset] = []
        for name in TraceLayout.cpuDatasets { stat.append(try counter(root, name, units: "USER_HZ ticks, cumulative")) }
        stat.append(try counter(root, TraceLayout.contextSwitches, units: "count, cumulative"))
        stat.append(try counter(root, TraceLayout.interrupts, units: "count, cumulative"))
        stat.append(try counter(root, TraceLayout.processes, units: "count, cumulative"))
        stat.append(try counter(root, TraceLayout.procsRunning, units: "tasks (gauge)"))
        stat.append(try counter(root, TraceLayout.procsBlocked, units: "tasks (gauge)"))
        self.stat = stat

        let vmstatGroup = try root.createGroup(TraceLayout.vmstatGroup)
        groups.append(vmstatGroup)
        var vmstat: [H5Dataset] = []
        for name in vmstatNames { vmstat.append(try counter(vmstatGroup, name, units: "count, cumulative")) }
        self.vmstat = vmstat

        let raplGroup = try root.createGroup(TraceLayout.raplGroup)
        groups.append(raplGroup)
        var rapl: [H5Dataset] = []
        for zone in raplZones {
            let group = try raplGroup.createGroup(TraceLayout.raplGroupName(forKey: zone.key))
            groups.append(group)
            try group.setAttribute("name", string: zone.name)
            try group.setAttribute("key", string: zone.key)
            try group.setAttribute("max_energy_range_uj", uint64: zone.maxEnergyRangeUj)
            let energy = try counter(group, TraceLayout.energyDataset, units: "uJ, cumulative, wraps after max_energy_range_uj")
            try energy.setAttribute("max_energy_range_uj", uint64: zone.maxEnergyRangeUj)
            rapl.append(energy)
        }
        self.rapl = rapl

        if recordsSimHiddenWatts {
            let hidden = try root.createDataset(TraceLayout.simHidden, of: Float.self, chunkRows: chunkRows, deflateLevel: deflateLevel)
            try hidden.setAttribute("simulator_only", int64: 1)
            try hidden.setAttribute("units", string: "W")
            simHidden = hidden
        } else {
            simHidden = nil
        }

        if let view = guestView {
            let group = try root.createGroup(TraceLayout.guestViewGroup)
            groups.append(group)
            try group.setAttribute("host", string: TraceLayout.json(encodable: view.host))
            try group.setAttribute("rule", string: view.rule.rawValue)
            try group.setAttribute("max_energy_range_uj", uint64: view.maxEnergyRangeUj)
            guestViewVcpus = try counter(group, TraceLayout.guestViewVcpus, units: "online vCPUs of the guest (gauge)")
            let energy = try counter(group, TraceLayout.energyDataset,
                                     units: "uJ, cumulative, the guest's share of the package energy by @rule; wraps after max_energy_range_uj")
            try energy.setAttribute("max_energy_range_uj", uint64: view.maxEnergyRangeUj)
            guestViewEnergy = energy
        } else {
            guestViewVcpus = nil
            guestViewEnergy = nil
        }

        if let ids = perCPUIDs, !ids.isEmpty {
            let group = try root.createGroup(TraceLayout.perCPUGroup)
            groups.append(group)
            try group.setAttribute("cpus", string: try TraceLayout.json(encodable: ids))
            // Chunks of about 64 KiB whatever the CPU count, so 128 threads do not make 4 MiB chunks.
            let rows = max(16, min(chunkRows, 8192 / ids.count))
            perCPU = try TraceLayout.cpuDatasets.map { name in
                let d = try group.createDataset(name, of: UInt64.self, columns: ids.count, chunkRows: rows, deflateLevel: deflateLevel)
                try d.setAttribute("units", string: "USER_HZ ticks, cumulative; rows are samples, columns the CPUs of @cpus")
                return d
            }
        } else {
            perCPU = []
        }

        if let source = cpuUsageSource {
            let group = try root.createGroup(TraceLayout.cpuUsageGroup)
            groups.append(group)
            try group.setAttribute("source", string: source)
            cpuUsageUser = try counter(group, TraceLayout.cpuUsageUser, units: "µs, cumulative (user + nice, cgroup v2 cpu.stat user_usec)")
            cpuUsageSystem = try counter(group, TraceLayout.cpuUsageSystem, units: "µs, cumulative (system + irq + softirq, cgroup v2 cpu.stat system_usec)")
        } else {
            cpuUsageUser = nil
            cpuUsageSystem = nil
        }

        let segments = try root.createGroup(TraceLayout.segmentsGroup)
        groups.append(segments)
        segmentName = try segments.createStringDataset("name", chunkRows: 64)
        segmentFirst = try segments.createDataset("first_sample", of: Int64.self, chunkRows: 64)
        segmentLast = try segments.createDataset("last_sample", of: Int64.self, chunkRows: 64)
        segmentParameters = try segments.createStringDataset("parameters", chunkRows: 64)
    }

    static func writeMetadata(_ metadata: TraceMetadata, to root: H5Group) throws {
        try root.setAttribute("format", string: TraceMetadata.formatName)
        try root.setAttribute("format_version", int64: Int64(metadata.formatVersion))
        try root.setAttribute("host_name", string: metadata.hostName)
        try root.setAttribute("cpu_model", string: metadata.cpuModel)
        try root.setAttribute("kernel", string: metadata.kernel)
        try root.setAttribute("core_count", int64: Int64(metadata.coreCount))
        try root.setAttribute("sample_interval_ns", int64: Int64(clamping: metadata.sampleIntervalNs))
        try root.setAttribute("power_source", string: metadata.powerSource.description)
        try root.setAttribute("start_time_ns", int64: metadata.startTimeNs)
        try root.setAttribute("tool_version", string: metadata.toolVersion)
        try root.setAttribute("user_hz", int64: Int64(metadata.userHz))
        try root.setAttribute("labels", string: TraceLayout.json(metadata.labels))
        if let topology = metadata.topology { try root.setAttribute("topology", string: try TraceLayout.json(encodable: topology)) }
    }

    /// Appends segments to the four `segments/*` datasets.
    func append(segments: [TraceSegment]) throws {
        guard !segments.isEmpty else { return }
        try segmentName.append(strings: segments.map(\.name))
        let first = segments.map { Int64($0.firstSample) }
        let last = segments.map { Int64($0.lastSample) }
        try first.withUnsafeBufferPointer { try segmentFirst.append($0) }
        try last.withUnsafeBufferPointer { try segmentLast.append($0) }
        try segmentParameters.append(strings: segments.map { TraceLayout.json($0.parameters) })
    }

    func flush() throws { try file.flush() }

    func close() throws {
        guard !closed else { return }
        closed = true
        var all = [monotonic, wallClock] + stat + vmstat + rapl + [segmentName, segmentFirst, segmentLast, segmentParameters]
        if let simHidden { all.append(simHidden) }
        if let guestViewVcpus { all.append(guestViewVcpus) }
        if let guestViewEnergy { all.append(guestViewEnergy) }
        all += perCPU
        if let cpuUsageUser { all.append(cpuUsageUser) }
        if let cpuUsageSystem { all.append(cpuUsageSystem) }
        for dataset in all { dataset.close() }
        for group in groups.reversed() { group.close() }
        try file.close()
    }
}
