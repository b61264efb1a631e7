import Foundation
import VraplCore
import VraplSources
import VraplConfigFile
import Yams

/// One workload: a name and the cgroups (relative to `--cgroupfs`) whose usage is summed for it.
public struct WorkloadSpec: Sendable, Equatable, Codable {
    public var name: String
    /// cgroup paths relative to the cgroupfs root (`yolo.slice`, `system.slice/nginx.service`).
    public var cgroups: [String]
    /// GPU indices allocated to this workload (its share of each GPU's idle power).
    public var gpus: [Int]
    /// Memory allocation to charge, GB. Overrides `memory.max`; used when it is `max` or missing.
    public var memoryGB: Double?

    public init(name: String, cgroups: [String], gpus: [Int] = [], memoryGB: Double? = nil) {
        self.name = name; self.cgroups = cgroups; self.gpus = gpus; self.memoryGB = memoryGB
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, cgroups, cgroup, gpus, memoryGB = "memory_gb" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        var groups = try c.decodeIfPresent([String].self, forKey: .cgroups) ?? []
        if let one = try c.decodeIfPresent(String.self, forKey: .cgroup) { groups.append(one) }
        cgroups = groups.map(CGroupReader.normalise)
        gpus = try c.decodeIfPresent([Int].self, forKey: .gpus) ?? []
        memoryGB = try c.decodeIfPresent(Double.self, forKey: .memoryGB)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(cgroups, forKey: .cgroups)
        try c.encode(gpus, forKey: .gpus)
        try c.encodeIfPresent(memoryGB, forKey: .memoryGB)
    }
}

/// Workloads found at run time: every child cgroup of `parent` whose name matches `pattern`.
public struct DiscoverSpec: Sendable, Equatable, Codable {
    public var parent: String
    public var pattern: String?
    /// Strip this suffix from the child name to form the workload name (`.slice`).
    public var stripSuffix: Bool?
    public init(parent: String, pattern: String? = nil, stripSuffix: Bool? = true) {
        self.parent = parent; self.pattern = pattern; self.stripSuffix = stripSuffix
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case parent, pattern, stripSuffix = "strip_suffix" }
}

/// How the idle power of a GPU is charged.
public enum GPUIdlePolicy: String, Sendable, Codable {
    /// The paper's rule: idle power of each GPU split among the workloads it is allocated to
    /// (an unallocated GPU's idle power is baseline).
    case allocation
    /// All idle GPU power is baseline; workloads pay only for activity above idle.
    case baseline
}

/// What the CPU shares are relative to.
public enum CPUShareReference: String, Sendable, Codable {
    /// The paper's rule: U_i / Σ_j U_j over the configured workloads.
    case workloads
    /// U_i / total busy CPU time of the host: CPU used outside every workload stays `unattributed`.
    case system
}

/// Idle power per component, subtracted before splitting and reported as baseline.
public struct BaselineSpec: Sendable, Equatable, Codable {
    /// Package idle power, W (0: all CPU energy is split by usage, the paper's E_cpu · U_i / Σ U_j).
    public var cpuW: Double
    /// Idle power of each GPU by index, W.
    public var gpuW: [Double]
    /// Idle wall power, W (only used for reports).
    public var wallW: Double?
    public init(cpuW: Double = 0, gpuW: [Double] = [], wallW: Double? = nil) {
        self.cpuW = cpuW; self.gpuW = gpuW; self.wallW = wallW
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case cpuW = "cpu_w", gpuW = "gpu_w", wallW = "wall_w" }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpuW = try c.decodeIfPresent(Double.self, forKey: .cpuW) ?? 0
        gpuW = try c.decodeIfPresent([Double].self, forKey: .gpuW) ?? []
        wallW = try c.decodeIfPresent(Double.self, forKey: .wallW)
    }
    public func gpuIdle(_ index: Int) -> Double { index < gpuW.count ? gpuW[index] : 0 }
}

/// The paper's stable-window trimming: drop the first `startS` and the last `endS` seconds of a phase.
public struct TrimSpec: Sendable, Equatable, Codable {
    public var startS: Double
    public var endS: Double
    public init(startS: Double = 15, endS: Double = 5) { self.startS = startS; self.endS = endS }
    enum CodingKeys: String, CodingKey, CaseIterable { case startS = "start_s", endS = "end_s" }
}

/// A simulated CPU power source for tests and demos (never labelled as measured).
public struct SimulatedCPUSpec: Sendable, Equatable, Codable {
    public var idleW: Double
    public var maxW: Double
    public init(idleW: Double = 10, maxW: Double = 40) { self.idleW = idleW; self.maxW = maxW }
    enum CodingKeys: String, CodingKey, CaseIterable { case idleW = "idle_w", maxW = "max_w" }
}

/// An attribution setup, read from `configs/attribution/*.yaml`.
public struct AttributionConfig: Sendable, Equatable {
    public var name: String = "attribution"
    public var workloads: [WorkloadSpec] = []
    public var discover: DiscoverSpec?
    /// Memory power per allocated GB (DRAM refresh dominates): default 0.2 W/GB, the paper's LPDDR4 figure.
    public var memoryWattsPerGB: Double = 0.2
    /// Installed memory, GB; nil: /proc/meminfo live, Σ allocations offline.
    public var memoryTotalGB: Double?
    /// β: storage energy per byte read or written, J/B. Default 1e-8 J/B (10 nJ/B, an SSD-class figure; an assumption).
    public var storageJoulesPerByte: Double = 1e-8
    public var baseline = BaselineSpec()
    public var gpuIdle: GPUIdlePolicy = .allocation
    public var cpuShare: CPUShareReference = .workloads
    public var trim = TrimSpec()
    /// Live sampling interval, s.
    public var intervalS: Double = 1
    /// Number of GPUs in offline inputs (nil: from the CSV header).
    public var gpuCount: Int?
    /// Simulated CPU power (used when no RAPL/predicted source is given).
    public var simulatedCPU: SimulatedCPUSpec?

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, workloads, discover, memory, storage, baseline, policy, trim
        case intervalS = "interval_s", gpuCount = "gpu_count", simulatedCPU = "simulated_cpu"
    }
    struct MemorySection: Codable {
        var wattsPerGB: Double?; var totalGB: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case wattsPerGB = "watts_per_gb", totalGB = "total_gb" }
    }
    struct StorageSection: Codable {
        var joulesPerByte: Double?
        enum CodingKeys: String, CodingKey, CaseIterable { case joulesPerByte = "joules_per_byte" }
    }
    struct PolicySection: Codable {
        var gpuIdle: GPUIdlePolicy?; var cpuShare: CPUShareReference?
        enum CodingKeys: String, CodingKey, CaseIterable { case gpuIdle = "gpu_idle", cpuShare = "cpu_share" }
    }

    /// Parses YAML text; `source` names the file in errors.
    public static func parse(yaml: String, source: String) throws -> AttributionConfig {
        do {
            try checkKeys(YAMLMapping.parse(yaml, what: "an attribution config"))
            return try YAMLDecoder().decode(AttributionConfigFile.self, from: yaml).config.validated()
        } catch let error as VraplError {
            throw VraplError("attribution config \(source): \(error.message)")
        } catch let error as DecodingError {
            throw VraplError("attribution config \(source): \(describe(error))")
        } catch {
            throw VraplError("attribution config \(source): \(error)")
        }
    }

    /// The Codable decoding ignores keys it does not know; a typo must be an error naming the key, so
    /// every mapping is checked against the keys its type decodes (its `CodingKeys`).
    static func checkKeys(_ root: YAMLMapping) throws {
        func names<K: CodingKey & CaseIterable>(_: K.Type) -> [String] { K.allCases.map(\.stringValue) }
        try root.rejectUnknown(names(CodingKeys.self))
        let sections: [(String, [String])] = [
            ("discover", names(DiscoverSpec.CodingKeys.self)), ("memory", names(MemorySection.CodingKeys.self)),
            ("storage", names(StorageSection.CodingKeys.self)), ("baseline", names(BaselineSpec.CodingKeys.self)),
            ("policy", names(PolicySection.CodingKeys.self)), ("trim", names(TrimSpec.CodingKeys.self)),
            ("simulated_cpu", names(SimulatedCPUSpec.CodingKeys.self)),
        ]
        for (key, known) in sections { try root.mapping(key)?.rejectUnknown(known) }
        for (i, item) in (try root.list("workloads") ?? []).enumerated() {
            guard let w = item as? [String: Any] else { continue }
            try YAMLMapping(w, path: "workloads[\(i)]").rejectUnknown(names(WorkloadSpec.CodingKeys.self))
        }
    }

    /// Reads and parses a YAML file.
    public static func load(path: String) throws -> AttributionConfig {
        let bytes: [UInt8]
        do { bytes = try TextFile.readRegularFile(path) } catch let error as VraplError {
            throw VraplError("attribution config \(path): \(error.message)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw VraplError("attribution config \(path): not UTF-8 text")
        }
        return try parse(yaml: text, source: path)
    }

    /// Checks names and values; throws a message naming the offending entry.
    public func validated() throws -> AttributionConfig {
        var seen = Set<String>()
        for w in workloads {
            if w.name.isEmpty { throw VraplError("workload with an empty name") }
            if !seen.insert(w.name).inserted { throw VraplError("workload '\(w.name)' is declared twice") }
            if w.cgroups.isEmpty && discover == nil { throw VraplError("workload '\(w.name)' has no cgroups") }
            // Cgroup paths are relative to --cgroupfs; a `..` component would read outside the tree.
            if let escaping = w.cgroups.first(where: { $0.split(separator: "/").contains("..") }) {
                throw VraplError("workload '\(w.name)': cgroup '\(escaping)' leaves the cgroup tree ('..' is not allowed)")
            }
            if let m = w.memoryGB, !(m >= 0) { throw VraplError("workload '\(w.name)': memory_gb must be ≥ 0") }
            if w.gpus.contains(where: { $0 < 0 }) { throw VraplError("workload '\(w.name)': GPU indices must be ≥ 0") }
        }
        if workloads.isEmpty && discover == nil { throw VraplError("no workloads and no discover section") }
        if !(memoryWattsPerGB >= 0) { throw VraplError("memory.watts_per_gb must be ≥ 0") }
        if !(storageJoulesPerByte >= 0) { throw VraplError("storage.joules_per_byte must be ≥ 0") }
        if !(intervalS > 0) { throw VraplError("interval_s must be > 0") }
        if !(trim.startS >= 0 && trim.endS >= 0) { throw VraplError("trim values must be ≥ 0") }
        return self
    }

    static func describe(_ error: DecodingError) -> String {
        func where_(_ path: [CodingKey]) -> String {
            path.isEmpty ? "top level" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let c): return "\(where_(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(_, let c): return "\(where_(c.codingPath)): missing value"
        case .keyNotFound(let k, let c): return "\(where_(c.codingPath + [k])): required key missing"
        case .dataCorrupted(let c):
            let under = c.underlyingError.map { " (\($0))" } ?? ""
            return "\(where_(c.codingPath)): \(c.debugDescription)\(under)"
        @unknown default: return "\(error)"
        }
    }
}

/// The file shape of `AttributionConfig` (sections as in docs/attribution.md).
struct AttributionConfigFile: Decodable {
    var config: AttributionConfig
    init(from decoder: Decoder) throws {
        typealias K = AttributionConfig.CodingKeys
        let c = try decoder.container(keyedBy: K.self)
        var cfg = AttributionConfig()
        cfg.name = try c.decodeIfPresent(String.self, forKey: .name) ?? cfg.name
        cfg.workloads = try c.decodeIfPresent([WorkloadSpec].self, forKey: .workloads) ?? []
        cfg.discover = try c.decodeIfPresent(DiscoverSpec.self, forKey: .discover)
        if let m = try c.decodeIfPresent(AttributionConfig.MemorySection.self, forKey: .memory) {
            cfg.memoryWattsPerGB = m.wattsPerGB ?? cfg.memoryWattsPerGB
            cfg.memoryTotalGB = m.totalGB
        }
        if let s = try c.decodeIfPresent(AttributionConfig.StorageSection.self, forKey: .storage) {
            cfg.storageJoulesPerByte = s.joulesPerByte ?? cfg.storageJoulesPerByte
        }
        cfg.baseline = try c.decodeIfPresent(BaselineSpec.self, forKey: .baseline) ?? cfg.baseline
        if let p = try c.decodeIfPresent(AttributionConfig.PolicySection.self, forKey: .policy) {
            cfg.gpuIdle = p.gpuIdle ?? cfg.gpuIdle
            cfg.cpuShare = p.cpuShare ?? cfg.cpuShare
        }
        cfg.trim = try c.decodeIfPresent(TrimSpec.self, forKey: .trim) ?? cfg.trim
        cfg.intervalS = try c.decodeIfPresent(Double.self, forKey: .intervalS) ?? cfg.intervalS
        cfg.gpuCount = try c.decodeIfPresent(Int.self, forKey: .gpuCount)
        cfg.simulatedCPU = try c.decodeIfPresent(SimulatedCPUSpec.self, forKey: .simulatedCPU)
        config = cfg
    }
}
