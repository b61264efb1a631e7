import VraplCore

/// What a trace holds, without its per-sample data (cheap: attributes and dataset sizes only).
public struct TraceHeader: Sendable {
    public var metadata: TraceMetadata
    /// Samples readable in every per-sample dataset (after a crash, the shortest one).
    public var sampleCount: Int
    public var vmstatNames: [String]
    /// RAPL zones with empty `energyUj`.
    public var raplZones: [RaplDomainSeries]
    public var hasSimHiddenWatts: Bool
    public var segments: [TraceSegment]
    /// The guest view's host, rule and range (no per-sample data), for guest-view traces.
    public var guestView: GuestViewSeries? = nil
    /// The CPUs whose per-CPU lines are recorded (`/percpu@cpus`); nil when the trace has none.
    public var perCPUIDs: [Int]? = nil
    /// Where the trace's busy time (`/cpu_usage@source`) was read; nil when it has none.
    public var cpuUsageSource: String? = nil
}

/// Reads vrapl traces (layout: docs/trace-format.md). Accepts every `format_version` up to
/// `TraceMetadata.currentFormatVersion` and refuses newer ones with an error that says so.
public enum TraceReader {
    /// How far the per-sample datasets may differ in length (the rows of one flush interrupted by a
    /// crash, at most one HDF5 chunk): the trace is read to the shortest. More is refused as damage.
    public static let crashToleranceRows = 4096

    /// Reads a whole trace into memory.
    public static func read(_ path: String) throws -> TraceData {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let opened = try OpenTrace(file: file)
        let n = opened.header.sampleCount
        var data = TraceData(metadata: opened.header.metadata)
        let root = file.root
        data.monotonicNs = try root.openDataset(TraceLayout.monotonic).read(UInt64.self, count: n)
        // Monotonic time never runs backwards in a recording: a trace where it does is damaged.
        if n > 1, let k = (1..<n).first(where: { data.monotonicNs[$0] < data.monotonicNs[$0 - 1] }) {
            throw TraceError(path: path, object: "/" + TraceLayout.monotonic,
                             message: "runs backwards at sample \(k) (\(data.monotonicNs[k - 1]) → \(data.monotonicNs[k]) ns): the trace is damaged")
        }
        data.wallClockNs = try root.openDataset(TraceLayout.wallClock).read(Int64.self, count: n)
        var stat: [[UInt64]] = []
        for name in TraceLayout.statDatasets {
            stat.append(try root.openDataset(name).read(UInt64.self, count: n))
        }
        data.cpuFields = Array(stat[0..<10])
        data.contextSwitches = stat[10]
        data.interrupts = stat[11]
        data.processesCreated = stat[12]
        data.procsRunning = stat[13]
        data.procsBlocked = stat[14]
        if let group = opened.vmstatGroup {
            for name in opened.header.vmstatNames {
                data.vmstat.append(NamedCounterSeries(name: name, values: try group.openDataset(name).read(UInt64.self, count: n)))
            }
        }
        for (zone, group) in zip(opened.header.raplZones, opened.raplGroups) {
            var series = zone
            series.energyUj = try group.openDataset(TraceLayout.energyDataset).read(UInt64.self, count: n)
            data.rapl.append(series)
        }
        if opened.header.hasSimHiddenWatts {
            data.simHiddenWatts = try root.openDataset(TraceLayout.simHidden).read(Float.self, count: n)
        }
        if var view = opened.header.guestView, let group = opened.guestViewGroup {
            view.vcpus = try group.openDataset(TraceLayout.guestViewVcpus).read(UInt64.self, count: n)
            view.energyUj = try group.openDataset(TraceLayout.energyDataset).read(UInt64.self, count: n)
            if let bad = view.vcpus.firstIndex(where: { $0 < 1 || $0 > UInt64(view.host.threads) }) {
                throw TraceError(path: path, object: "/guest_view/vcpus",
                                 message: "sample \(bad) has \(view.vcpus[bad]) vCPUs, outside 1…\(view.host.threads) (the host's threads)")
            }
            data.guestView = view
        }
        if let ids = opened.header.perCPUIDs, let group = opened.perCPUGroup {
            var per = PerCPUSeries(cpuIDs: ids, fields: [])
            for name in TraceLayout.cpuDatasets {
                per.fields.append(try group.openDataset(name, twoDimensional: true).read(UInt64.self, count: n))
            }
            data.perCPU = per
        }
        if let source = opened.header.cpuUsageSource, let group = opened.cpuUsageGroup {
            data.cpuUsage = CPUUsageSeries(source: source,
                                           userUsec: try group.openDataset(TraceLayout.cpuUsageUser).read(UInt64.self, count: n),
                                           systemUsec: try group.openDataset(TraceLayout.cpuUsageSystem).read(UInt64.self, count: n))
        }
        data.segments = opened.header.segments
        return data
    }

    /// Reads only the root attributes.
    public static func readMetadata(_ path: String) throws -> TraceMetadata {
        let file = try H5File.open(path)
        defer { try? file.close() }
        return try readMetadata(root: file.root)
    }

    /// Reads the metadata, columns, sample count and segments, but no per-sample data.
    public static func readHeader(_ path: String) throws -> TraceHeader {
        let file = try H5File.open(path)
        defer { try? file.close() }
        return try OpenTrace(file: file).header
    }

    static func readMetadata(root: H5Group) throws -> TraceMetadata {
        let path = root.path
        guard let format = try root.stringAttribute("format") else {
            throw TraceError(path: path, object: "/@format", message: "not a vrapl trace: the root has no `format` attribute")
        }
        guard format == TraceMetadata.formatName else {
            throw TraceError(path: path, object: "/@format", message: "not a vrapl trace: format is \"\(format)\", expected \"\(TraceMetadata.formatName)\"")
        }
        guard let version = try root.int64Attribute("format_version") else {
            throw TraceError(path: path, object: "/@format_version", message: "missing format_version")
        }
        if version > Int64(TraceMetadata.currentFormatVersion) {
            throw TraceError(path: path, object: "/@format_version",
                             message: "written by a newer vrapl: format_version \(version), this vrapl (\(VraplVersion.string)) reads up to \(TraceMetadata.currentFormatVersion); upgrade vrapl to read it")
        }
        if version < 1 {
            throw TraceError(path: path, object: "/@format_version", message: "invalid format_version \(version)")
        }
        var metadata = TraceMetadata()
        metadata.formatVersion = Int(version)
        metadata.hostName = try root.stringAttribute("host_name") ?? ""
        metadata.cpuModel = try root.stringAttribute("cpu_model") ?? ""
        metadata.kernel = try root.stringAttribute("kernel") ?? ""
        metadata.coreCount = Int(try root.int64Attribute("core_count") ?? 0)
        if let interval = try root.int64Attribute("sample_interval_ns"), interval > 0 {
            metadata.sampleIntervalNs = UInt64(interval)
        }
        let sourceText = try root.stringAttribute("power_source") ?? ""
        guard let source = PowerSource(parsing: sourceText) else {
            throw TraceError(path: path, object: "/@power_source", message: "unknown power source \"\(sourceText)\" (expected rapl or sim:<profile>)")
        }
        metadata.powerSource = source
        metadata.startTimeNs = try root.int64Attribute("start_time_ns") ?? 0
        metadata.toolVersion = try root.stringAttribute("tool_version") ?? ""
        metadata.userHz = Int(try root.int64Attribute("user_hz") ?? 100)
        metadata.labels = try TraceLayout.parseJSONObject(try root.stringAttribute("labels") ?? "", path: path, object: "/@labels")
        if let text = try root.stringAttribute("topology") {
            guard let topology = TraceLayout.decode(CPUTopology.self, json: text), topology.logicalCPUs >= 1,
                  topology.logicalCPUs <= HostShape.maxThreads else {
                throw TraceError(path: path, object: "/@topology", message: "not a CPU topology (JSON with logical_cpus, online, siblings)")
            }
            metadata.topology = topology
        }
        return metadata
    }
}

/// An open trace's header plus the groups the data reader needs.
private struct OpenTrace {
    var header: TraceHeader
    var vmstatGroup: H5Group?
    var raplGroups: [H5Group] = []
    var guestViewGroup: H5Group?
    var perCPUGroup: H5Group?
    var cpuUsageGroup: H5Group?

    init(file: H5File) throws {
        let root = file.root
        let path = file.path
        let metadata = try TraceReader.readMetadata(root: root)
        var lengths: [(object: String, length: Int)] = []
        for name in [TraceLayout.monotonic, TraceLayout.wallClock] + TraceLayout.statDatasets {
            lengths.append(("/" + name, try root.openDataset(name).length))
        }
        var vmstatNames: [String] = []
        if root.contains(TraceLayout.vmstatGroup) {
            let group = try root.openGroup(TraceLayout.vmstatGroup)
            vmstatNames = try group.memberNames()
            for name in vmstatNames { lengths.append(("/vmstat/" + name, try group.openDataset(name).length)) }
            vmstatGroup = group
        }
        var zones: [RaplDomainSeries] = []
        if root.contains(TraceLayout.raplGroup) {
            let rapl = try root.openGroup(TraceLayout.raplGroup)
            for member in try rapl.memberNames() {
                let group = try rapl.openGroup(member)
                let energy = try group.openDataset(TraceLayout.energyDataset)
                lengths.append(("/rapl/\(member)/energy_uj", energy.length))
                let key = try group.stringAttribute("key") ?? member
                let name = try group.stringAttribute("name") ?? member
                let range = try group.uint64Attribute("max_energy_range_uj") ?? energy.uint64Attribute("max_energy_range_uj") ?? 0
                zones.append(RaplDomainSeries(key: key, name: name, maxEnergyRangeUj: range))
                raplGroups.append(group)
            }
        }
        var guestView: GuestViewSeries?
        if root.contains(TraceLayout.guestViewGroup) {
            let group = try root.openGroup(TraceLayout.guestViewGroup)
            let object = "/" + TraceLayout.guestViewGroup
            guard let hostText = try group.stringAttribute("host"),
                  let host = TraceLayout.decode(HostShape.self, json: hostText) else {
                throw TraceError(path: path, object: object + "@host", message: "missing or not a host shape (JSON with threads, cpu_model, idle_watts)")
            }
            do { try host.validate() } catch let e as VraplError { throw TraceError(path: path, object: object + "@host", message: e.message) }
            let ruleText = try group.stringAttribute("rule") ?? ""
            guard let rule = ShareRule(rawValue: ruleText) else {
                throw TraceError(path: path, object: object + "@rule", message: "unknown share rule '\(ruleText)'")
            }
            let range = try group.uint64Attribute("max_energy_range_uj") ?? 0
            guard range > 0 else { throw TraceError(path: path, object: object + "@max_energy_range_uj", message: "missing or zero") }
            lengths.append((object + "/vcpus", try group.openDataset(TraceLayout.guestViewVcpus).length))
            lengths.append((object + "/energy_uj", try group.openDataset(TraceLayout.energyDataset).length))
            guestView = GuestViewSeries(host: host, rule: rule, maxEnergyRangeUj: range)
            guestViewGroup = group
        }
        var perCPUIDs: [Int]?
        if root.contains(TraceLayout.perCPUGroup) {
            let group = try root.openGroup(TraceLayout.perCPUGroup)
            let object = "/" + TraceLayout.perCPUGroup
            guard let text = try group.stringAttribute("cpus"), let ids = TraceLayout.decode([Int].self, json: text), !ids.isEmpty,
                  Set(ids).count == ids.count, ids.allSatisfy({ $0 >= 0 && $0 < HostShape.maxThreads }) else {
                throw TraceError(path: path, object: object + "@cpus", message: "missing or not a list of distinct CPU numbers")
            }
            for name in TraceLayout.cpuDatasets {
                let d = try group.openDataset(name, twoDimensional: true)
                guard d.columns == ids.count else {
                    throw TraceError(path: path, object: object + "/" + name, message: "has \(d.columns ?? 0) columns for the \(ids.count) CPUs of @cpus")
                }
                lengths.append((object + "/" + name, d.length))
            }
            perCPUIDs = ids
            perCPUGroup = group
        }
        var cpuUsageSource: String?
        if root.contains(TraceLayout.cpuUsageGroup) {
            let group = try root.openGroup(TraceLayout.cpuUsageGroup)
            let object = "/" + TraceLayout.cpuUsageGroup
            for name in [TraceLayout.cpuUsageUser, TraceLayout.cpuUsageSystem] {
                guard group.contains(name) else { throw TraceError(path: path, object: object, message: "has no \(name) dataset") }
                lengths.append((object + "/" + name, try group.openDataset(name).length))
            }
            cpuUsageSource = try group.stringAttribute("source") ?? "unknown"
            cpuUsageGroup = group
        }
        let hasHidden = root.contains(TraceLayout.simHidden)
        if hasHidden { lengths.append(("/" + TraceLayout.simHidden, try root.openDataset(TraceLayout.simHidden).length)) }
        // After a crash the per-sample datasets can differ by the rows of one unfinished flush; more
        // than that is damage, reported instead of silently cut to the shortest.
        let shortest = lengths.min { $0.length < $1.length }, longest = lengths.max { $0.length < $1.length }
        let sampleCount = shortest?.length ?? 0
        if let shortest, let longest, longest.length - shortest.length > TraceReader.crashToleranceRows {
            throw TraceError(path: path, object: shortest.object,
                             message: "has \(shortest.length) samples but \(longest.object) has \(longest.length): the per-sample datasets differ by more than one flush (\(TraceReader.crashToleranceRows) rows), the trace is damaged")
        }

        var segments: [TraceSegment] = []
        if root.contains(TraceLayout.segmentsGroup) {
            let group = try root.openGroup(TraceLayout.segmentsGroup)
            let names = try group.openDataset("name").readStrings()
            let first = try group.openDataset("first_sample").read(Int64.self)
            let last = try group.openDataset("last_sample").read(Int64.self)
            let parameters = group.contains("parameters") ? try group.openDataset("parameters").readStrings() : []
            let count = names.count
            guard first.count == count, last.count == count, parameters.isEmpty || parameters.count == count else {
                throw TraceError(path: path, object: "/segments",
                                 message: "the segment table is inconsistent: \(names.count) names, \(first.count) first_sample, \(last.count) last_sample, \(parameters.count) parameters")
            }
            for i in 0..<count {
                guard first[i] >= 0, first[i] <= last[i], last[i] < Int64(sampleCount + TraceReader.crashToleranceRows) else {
                    throw TraceError(path: path, object: "/segments",
                                     message: "segment \(i) '\(names[i])' spans samples \(first[i])…\(last[i]), outside the trace's 0…\(sampleCount - 1)")
                }
                let p = i < parameters.count
                    ? try TraceLayout.parseJSONObject(parameters[i], path: path, object: "/segments/parameters[\(i)]") : [:]
                segments.append(TraceSegment(name: names[i], firstSample: Int(first[i]), lastSample: Int(last[i]), parameters: p))
            }
            // Overlapping segments would count their shared windows twice.
            let ordered = segments.sorted { $0.firstSample < $1.firstSample }
            for (a, b) in zip(ordered, ordered.dropFirst()) where b.firstSample <= a.lastSample {
                throw TraceError(path: path, object: "/segments",
                                 message: "segments '\(a.name)' (\(a.firstSample)…\(a.lastSample)) and '\(b.name)' (\(b.firstSample)…\(b.lastSample)) overlap")
            }
        }
        header = TraceHeader(metadata: metadata, sampleCount: sampleCount, vmstatNames: vmstatNames, raplZones: zones,
                             hasSimHiddenWatts: hasHidden, segments: segments, guestView: guestView, perCPUIDs: perCPUIDs,
                             cpuUsageSource: cpuUsageSource)
    }
}
