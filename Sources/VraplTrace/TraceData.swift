import VraplCore

/// In-memory form of one vrapl trace (the HDF5 layout is in docs/trace-format.md). Struct of arrays:
/// every per-sample column has `sampleCount` entries. Counters are raw and cumulative.
///
/// This is the contract between the collector and simulator (producers), the HDF5 store, and the
/// dataset pipeline (consumer). `TraceWriter` writes it (streaming or whole), `TraceReader` returns it.
public struct TraceData: Sendable {
    public var metadata: TraceMetadata
    /// Monotonic clock at each sample, ns (`timestamp_monotonic_ns`).
    public var monotonicNs: [UInt64] = []
    /// Wall clock at each sample, ns since the Unix epoch (`timestamp_wall_ns`).
    public var wallClockNs: [Int64] = []
    /// The ten aggregate-cpu fields of /proc/stat in kernel order (`cpu_<field>`), each `sampleCount` long.
    public var cpuFields: [[UInt64]] = Array(repeating: [], count: 10)
    /// `ctxt`, `intr` (total), `processes`, `procs_running`, `procs_blocked`.
    public var contextSwitches: [UInt64] = []
    public var interrupts: [UInt64] = []
    public var processesCreated: [UInt64] = []
    public var procsRunning: [UInt64] = []
    public var procsBlocked: [UInt64] = []
    /// Selected /proc/vmstat counters (`vmstat/<name>`), in recording order.
    public var vmstat: [NamedCounterSeries] = []
    /// RAPL domains (`rapl/<key>/energy_uj`), raw cumulative µJ with their wrap range.
    public var rapl: [RaplDomainSeries] = []
    /// Simulator only (`sim_hidden_w`): the part of power guest-visible history cannot determine.
    /// Never a feature. nil for real recordings.
    public var simHiddenWatts: [Float]? = nil
    /// Labelled campaign segments.
    public var segments: [TraceSegment] = []
    /// Guest-view traces only (`/guest_view`, format_version 2): the counters above are what a
    /// k-vCPU guest of `host` sees, and this holds k per sample and the guest's share of the
    /// package energy by `rule`, the target of a guest-shaped model. nil for whole-host traces.
    public var guestView: GuestViewSeries? = nil
    /// Every per-CPU line of /proc/stat (`/percpu`, format_version 2), when recorded: the raw
    /// counters a guest view of any CPU set is derived from (`GuestViewDerivation`).
    public var perCPU: PerCPUSeries? = nil
    /// Busy CPU time in µs from the cgroup v2 root `cpu.stat` (`/cpu_usage`), when recorded: the
    /// finer busy source of models with `busy_source: cgroup-cpu-stat`. Covers the same CPUs as the
    /// aggregate /proc/stat line (the whole machine, or the guest of a guest view).
    public var cpuUsage: CPUUsageSeries? = nil

    public init(metadata: TraceMetadata) { self.metadata = metadata }

    public var sampleCount: Int { monotonicNs.count }

    /// Appends one sample. `energyUj` and `vmstatValues` are in the order of `rapl` and `vmstat`.
    public mutating func append(monotonicNs t: UInt64, wallClockNs w: Int64, stat: ProcStatSnapshot,
                                vmstatValues: [UInt64] = [], energyUj: [UInt64] = [], simHiddenWatts hidden: Float? = nil) {
        monotonicNs.append(t)
        wallClockNs.append(w)
        for i in 0..<10 { cpuFields[i].append(stat.cpu[i]) }
        contextSwitches.append(stat.contextSwitches)
        interrupts.append(stat.interrupts)
        processesCreated.append(stat.processesCreated)
        procsRunning.append(stat.procsRunning)
        procsBlocked.append(stat.procsBlocked)
        for (i, v) in vmstatValues.enumerated() where i < vmstat.count { vmstat[i].values.append(v) }
        for (i, e) in energyUj.enumerated() where i < rapl.count { rapl[i].energyUj.append(e) }
        if let hidden {
            if simHiddenWatts == nil { simHiddenWatts = [] }
            simHiddenWatts?.append(hidden)  // in place: appending stays O(1) amortised
        }
    }
}

/// Root attributes of a trace.
public struct TraceMetadata: Sendable, Equatable {
    /// `format` attribute: always "vrapl-trace".
    public static let formatName = "vrapl-trace"
    /// Current `format_version`.
    public static let currentFormatVersion = 2

    public var formatVersion: Int = TraceMetadata.currentFormatVersion
    public var hostName: String = ""
    public var cpuModel: String = ""
    public var kernel: String = ""
    public var coreCount: Int = 0
    /// Nominal sample interval, ns (16 ms = 16_000_000).
    public var sampleIntervalNs: UInt64 = 16_000_000
    public var powerSource: PowerSource = .rapl
    /// Start time, ns since the Unix epoch.
    public var startTimeNs: Int64 = 0
    public var toolVersion: String = VraplVersion.string
    /// USER_HZ of the recorded /proc/stat (normally 100).
    public var userHz: Int = 100
    /// Free-form labels (`--label key=value`).
    public var labels: [String: String] = [:]
    /// The recording host's CPU topology (`topology`, JSON), when known.
    public var topology: CPUTopology? = nil

    public init() {}
}

/// A named raw counter column.
public struct NamedCounterSeries: Sendable, Equatable {
    public var name: String
    public var values: [UInt64]
    public init(name: String, values: [UInt64] = []) { self.name = name; self.values = values }
}

/// One RAPL domain's raw cumulative energy counter.
public struct RaplDomainSeries: Sendable, Equatable {
    /// Stable key from the powercap directory, e.g. `intel-rapl:0` or `intel-rapl:0:1` (HDF5 group name uses `_`).
    public var key: String
    /// The zone's `name` file, e.g. `package-0`, `core`, `uncore`, `dram`.
    public var name: String
    /// `max_energy_range_uj`: the counter wraps to 0 after this value.
    public var maxEnergyRangeUj: UInt64
    public var energyUj: [UInt64]
    public init(key: String, name: String, maxEnergyRangeUj: UInt64, energyUj: [UInt64] = []) {
        self.key = key; self.name = name; self.maxEnergyRangeUj = maxEnergyRangeUj; self.energyUj = energyUj
    }
    /// True for a package-level zone (`package-N`), the model's target.
    public var isPackage: Bool { name.hasPrefix("package") }
}

/// A labelled campaign segment: samples `firstSample...lastSample` (inclusive) ran one workload.
public struct TraceSegment: Sendable, Equatable {
    public var name: String
    public var firstSample: Int
    public var lastSample: Int
    /// Stressor parameters, e.g. `family=cpu`, `stressor=cpu`, `workers=2`. `family` groups segments for splits.
    public var parameters: [String: String]
    public init(name: String, firstSample: Int, lastSample: Int, parameters: [String: String] = [:]) {
        self.name = name; self.firstSample = firstSample; self.lastSample = lastSample; self.parameters = parameters
    }
    /// The workload family (`family` parameter, else the name up to the first `-` or `_`).
    public var family: String {
        if let f = parameters["family"] { return f }
        return String(name.split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? Substring(name))
    }
}

/// What makes a trace a guest's view of a host (`/guest_view`): the host's shape, the share rule, the
/// guest's vCPU count k per sample and its share of the package energy (cumulative µJ, wrapping after
/// `maxEnergyRangeUj` like a RAPL counter).
public struct GuestViewSeries: Sendable, Equatable {
    public var host: HostShape
    public var rule: ShareRule
    public var maxEnergyRangeUj: UInt64
    /// k: online vCPUs of the guest at each sample.
    public var vcpus: [UInt64]
    /// The guest's share of the package energy by `rule`, µJ, cumulative.
    public var energyUj: [UInt64]

    public init(host: HostShape, rule: ShareRule, maxEnergyRangeUj: UInt64, vcpus: [UInt64] = [], energyUj: [UInt64] = []) {
        self.host = host; self.rule = rule; self.maxEnergyRangeUj = maxEnergyRangeUj; self.vcpus = vcpus; self.energyUj = energyUj
    }

    /// The range of k over the trace.
    public var vcpuRange: ClosedRange<Int>? {
        guard let lo = vcpus.min(), let hi = vcpus.max() else { return nil }
        return Int(lo)...Int(hi)
    }
}

/// The host's CPU topology as sysfs describes it (`/sys/devices/system/cpu`): stored as the root
/// attribute `topology`, `{"logical_cpus": 20, "cores": 10, "sockets": 1, "online": [0, …],
/// "siblings": [[0, 10], …]}`.
public struct CPUTopology: Codable, Equatable, Sendable {
    /// T: logical CPUs (hardware threads) online when recording started.
    public var logicalCPUs: Int
    /// Physical cores and packages (distinct (package, core) ids and package ids), when sysfs has them.
    public var cores: Int?
    public var sockets: Int?
    /// Online CPU numbers.
    public var online: [Int]
    /// SMT sibling groups (`thread_siblings_list`), each sorted, in order of their first CPU.
    public var siblings: [[Int]]

    public init(logicalCPUs: Int, cores: Int? = nil, sockets: Int? = nil, online: [Int], siblings: [[Int]] = []) {
        self.logicalCPUs = logicalCPUs; self.cores = cores; self.sockets = sockets; self.online = online; self.siblings = siblings
    }

    enum CodingKeys: String, CodingKey {
        case cores, sockets, online, siblings
        case logicalCPUs = "logical_cpus"
    }
}

/// Cumulative busy CPU time per sample, µs (`CPUUsage` per sample, struct of arrays), and where it
/// was read (`cgroup2:/sys/fs/cgroup/cpu.stat`, `sim:…`).
public struct CPUUsageSeries: Sendable, Equatable {
    public var source: String
    public var userUsec: [UInt64]
    public var systemUsec: [UInt64]
    public init(source: String, userUsec: [UInt64] = [], systemUsec: [UInt64] = []) {
        self.source = source; self.userUsec = userUsec; self.systemUsec = systemUsec
    }
    /// The reading at sample `s`.
    @inline(__always) public func usage(at s: Int) -> CPUUsage { CPUUsage(userUsec: userUsec[s], systemUsec: systemUsec[s]) }
}

/// Every per-CPU line of /proc/stat per sample: `fields[f][s * cpuIDs.count + j]` is field f
/// (kernel order, `CPUTimes.fieldNames`) of CPU `cpuIDs[j]` at sample s, raw cumulative USER_HZ ticks.
/// A CPU whose line vanished (offline) holds its last values.
public struct PerCPUSeries: Sendable, Equatable {
    public var cpuIDs: [Int]
    public var fields: [[UInt64]]

    public init(cpuIDs: [Int], fields: [[UInt64]] = Array(repeating: [], count: 10)) {
        self.cpuIDs = cpuIDs; self.fields = fields
    }

    public var sampleCount: Int { cpuIDs.isEmpty ? 0 : (fields.first?.count ?? 0) / cpuIDs.count }

    /// Field `f` of column `j` at sample `s`.
    @inline(__always) public func value(field f: Int, sample s: Int, column j: Int) -> UInt64 { fields[f][s * cpuIDs.count + j] }
}
