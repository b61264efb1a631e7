import Foundation
import VraplCore
import VraplConfigFile

/// A campaign matrix (configs/campaigns/*.yaml): which stress-ng stressors run, at which worker
/// levels (fractions of the core count), combined how, for how long. `vrapl campaign` runs it on a
/// real machine; `vrapl simulate` synthesises it. Shared here because the campaign module depends
/// on the simulator, not the other way round.
public struct CampaignMatrix: Sendable, Equatable {
    /// How the stressors' levels are combined.
    public enum Combine: String, Sendable, Codable {
        /// One stressor at a time, at each of its levels.
        case single
        /// Every combination of every stressor's levels (0 included): the full DECODE-RAPL-style matrix.
        case cartesian
    }

    /// Synthetic-mode extras, ignored by `vrapl campaign`.
    public struct Synthetic: Sendable, Equatable {
        /// Number of extra idle segments, each `idleDuration` long.
        public var idleSegments: Int = 0
        public var idleDuration: Double = 30
        /// Short bursts after idle (the live pattern DECODE-RAPL's models over-react to).
        public var burstCount: Int = 0
        public var burstDuration: ClosedRange<Double> = 0.3...2.0
        public var idleBeforeBurst: ClosedRange<Double> = 2...6
        /// Randomise the order of combinations (by seed).
        public var shuffle: Bool = true
        public init() {}
    }

    public var name: String
    public var description: String = ""
    /// Stressor names in matrix order (stress-ng stressor names: cpu, syscall, io, pipe, vm, cache, …).
    public var stressors: [String]
    /// Worker levels per stressor as fractions of the core count (no zeros; 0 is implied for cartesian).
    public var levels: [String: [Double]]
    public var combine: Combine = .single
    /// Include the all-idle combination.
    public var includeIdle: Bool = true
    public var repeats: Int = 1
    /// Per-combination run time and the idle pause after it, seconds.
    public var duration: Double
    public var cooldown: Double
    /// Extra stress-ng arguments per stressor (e.g. `io: ["--hdd-bytes", "64M"]`).
    public var extraArguments: [String: [String]] = [:]
    public var synthetic = Synthetic()
    /// Guest views (`tenancy:`): every combination runs confined to k vCPUs, with a neighbour load on
    /// the other threads; nil runs on the whole host.
    public var tenancy: Tenancy?

    public init(name: String, stressors: [String], levels: [String: [Double]], duration: Double, cooldown: Double) {
        self.name = name; self.stressors = stressors; self.levels = levels
        self.duration = duration; self.cooldown = cooldown
    }

    /// Loads and validates a matrix file.
    public static func load(path: String) throws -> CampaignMatrix {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw VraplError("cannot read campaign matrix \(path)")
        }
        do {
            return try parse(yaml: text, defaultName: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent)
        } catch let e as VraplError {
            throw VraplError("\(path): \(e.message)")
        }
    }

    /// Parses matrix YAML (see configs/campaigns/*.yaml for the keys).
    public static func parse(yaml text: String, defaultName: String = "matrix") throws -> CampaignMatrix {
        let map = try YAMLMapping.parse(text, what: "a campaign matrix")
        try map.rejectUnknown(["combine", "cooldown", "description", "duration", "idle", "levels", "levels_per_stressor", "name",
                               "repeats", "stress_ng_options", "stressors", "synthetic", "tenancy"])
        guard let stressors = try? map.strings("stressors"), !stressors.isEmpty else {
            throw VraplError("'stressors' must be a non-empty list of stress-ng stressor names")
        }
        if Set(stressors).count != stressors.count { throw VraplError("'stressors' lists a stressor twice") }
        let defaultLevels = try map.doubles("levels") ?? [1.0]
        var levels: [String: [Double]] = [:]
        let perStressor = try map.mapping("levels_per_stressor") ?? YAMLMapping([:], path: "levels_per_stressor")
        if let bad = perStressor.keys.first(where: { !stressors.contains($0) }) {
            throw VraplError("levels_per_stressor names '\(bad)', which is not in 'stressors'")
        }
        for s in stressors {
            let l = try perStressor.doubles(s) ?? defaultLevels
            if l.isEmpty || l.contains(where: { $0 <= 0 || $0 > 8 }) {
                throw VraplError("levels for \(s) must be fractions of the core count in (0, 8]: \(l)")
            }
            levels[s] = l
        }
        let duration = try map.duration("duration") ?? 60
        let cooldown = try map.duration("cooldown") ?? 0
        if duration <= 0 { throw VraplError("'duration' must be positive") }
        var m = CampaignMatrix(name: try map.string("name") ?? defaultName, stressors: stressors, levels: levels,
                               duration: duration, cooldown: cooldown)
        m.description = try map.string("description") ?? ""
        if let cs = try map.string("combine") {
            guard let combine = Combine(rawValue: cs) else { throw VraplError("'combine' must be 'single' or 'cartesian'") }
            m.combine = combine
        }
        if let b = try map.bool("idle") { m.includeIdle = b }
        if let r = try map.int("repeats") {
            guard r >= 1 else { throw VraplError("'repeats' must be a positive integer") }
            m.repeats = r
        }
        if let o = try map.mapping("stress_ng_options") {
            for k in o.keys { m.extraArguments[k] = try o.strings(k) ?? [] }
        }
        if let syn = try map.mapping("synthetic") {
            try syn.rejectUnknown(["bursts", "burst_duration", "idle_before_burst", "idle_duration", "idle_segments", "shuffle"])
            if let v = try syn.int("idle_segments") { m.synthetic.idleSegments = max(0, v) }
            if let v = try syn.duration("idle_duration") { m.synthetic.idleDuration = v }
            if let v = try syn.int("bursts") { m.synthetic.burstCount = max(0, v) }
            if let r = try durationRange(syn, "burst_duration") { m.synthetic.burstDuration = r }
            if let r = try durationRange(syn, "idle_before_burst") { m.synthetic.idleBeforeBurst = r }
            if let v = try syn.bool("shuffle") { m.synthetic.shuffle = v }
        }
        if let t = try map.mapping("tenancy") {
            m.tenancy = try Tenancy.parse(t, stressors: stressors)
        }
        return m
    }

    /// The combinations to run, in matrix order, for a machine with `coreCount` logical CPUs.
    /// Workers = max(1, round(level × coreCount)). Repeats follow one another.
    public func combinations(coreCount: Int) -> [Combination] {
        var sets: [[Combination.Stressor]] = []
        func workers(_ level: Double) -> Int { max(1, Int((level * Double(coreCount)).rounded())) }
        switch combine {
        case .single:
            if includeIdle { sets.append([]) }
            for s in stressors {
                for l in levels[s] ?? [] { sets.append([.init(name: s, level: l, workers: workers(l))]) }
            }
        case .cartesian:
            var acc: [[Combination.Stressor]] = [[]]
            for s in stressors {
                var next: [[Combination.Stressor]] = []
                for prefix in acc {
                    next.append(prefix)
                    for l in levels[s] ?? [] { next.append(prefix + [.init(name: s, level: l, workers: workers(l))]) }
                }
                acc = next
            }
            sets = acc.filter { !$0.isEmpty || includeIdle }
            // The all-zero combination first, as in `single`.
            sets.sort { ($0.isEmpty ? 0 : 1) < ($1.isEmpty ? 0 : 1) }
        }
        var out: [Combination] = []
        for set in sets {
            for r in 1...repeats {
                out.append(Combination(stressors: set, repeatIndex: r, repeats: repeats, duration: duration, cooldown: cooldown))
            }
        }
        return out
    }

    /// The combinations a real campaign runs: with `tenancy:`, every combination once per placement
    /// (CPU set × neighbour load; workers a fraction of the set's size); otherwise `combinations(coreCount:)`.
    public func placedCombinations(coreCount: Int, online: [Int]) throws -> [Combination] {
        guard let tenancy else { return combinations(coreCount: coreCount) }
        var out: [Combination] = []
        for placement in try tenancy.placements(online: online) {
            for var c in combinations(coreCount: placement.cpus.count) {
                c.placement = placement
                out.append(c)
            }
        }
        return out
    }

    /// Total wall time of a campaign: Σ (duration + cooldown).
    public func totalSeconds(coreCount: Int) -> Double {
        combinations(coreCount: coreCount).reduce(0) { $0 + $1.duration + $1.cooldown }
    }

    /// `[min, max]` durations (numbers are seconds, text like `2s`).
    private static func durationRange(_ map: YAMLMapping, _ key: String) throws -> ClosedRange<Double>? {
        guard let list = try map.list(key) else { return nil }
        guard list.count == 2 else { throw VraplError("'\(map.fullKey(key))' must be [min, max] durations") }
        let pair = YAMLMapping(["min": list[0], "max": list[1]], path: map.fullKey(key))
        guard let a = try pair.duration("min"), let b = try pair.duration("max"), a <= b else {
            throw VraplError("'\(map.fullKey(key))' must be [min, max] durations")
        }
        return a...b
    }
}

/// The `tenancy:` section of a matrix: which guest sizes k each combination runs at, and what the
/// rest of the host does meanwhile. Levels become fractions of k (workers = max(1, round(level·k))).
///
///     tenancy:
///       vcpus: [1, 2, 4, 8, 16, 20]      # k values (each ≤ the host's threads)
///       neighbour_load: [0, 0.5, 1.0]    # busy fraction of the other T − k threads
///       neighbour_stressors: [cpu, vm]   # what neighbours run (default: the matrix's stressors)
///       rule: idle-by-allocation         # or active-only
public struct Tenancy: Sendable, Equatable {
    public var vcpus: [Int]
    /// Explicit CPU sets (`cpus: ["0-1", "2-5"]`, cpulists) instead of the first k online CPUs;
    /// `vcpus` is then their sizes.
    public var cpuSets: [[Int]]? = nil
    public var neighbourLoads: [Double]
    public var neighbourStressors: [String]
    public var rule: ShareRule

    public init(vcpus: [Int], neighbourLoads: [Double] = [0], neighbourStressors: [String], rule: ShareRule = .idleByAllocation) {
        self.vcpus = vcpus; self.neighbourLoads = neighbourLoads; self.neighbourStressors = neighbourStressors; self.rule = rule
    }

    /// Mean neighbour load over the listed levels (what a guest, who cannot see its neighbours, expects).
    public var meanNeighbourLoad: Double { neighbourLoads.isEmpty ? 0 : neighbourLoads.reduce(0, +) / Double(neighbourLoads.count) }

    /// Refuses a guest larger than the host.
    public func validate(hostThreads: Int) throws {
        if let big = vcpus.first(where: { $0 > hostThreads }) {
            throw VraplError("tenancy.vcpus \(big) exceeds the host's \(hostThreads) threads")
        }
    }

    static func parse(_ map: YAMLMapping, stressors: [String]) throws -> Tenancy {
        try map.rejectUnknown(["cpus", "neighbour_load", "neighbour_stressors", "rule", "vcpus"])
        var cpuSets: [[Int]]?
        if let texts = try? map.strings("cpus") {
            guard !texts.isEmpty else { throw VraplError("'tenancy.cpus' must be a non-empty list of cpulists such as \"0-1\"") }
            cpuSets = try texts.map { item in
                guard let list = CPUList.parse(item), !list.isEmpty else { throw VraplError("'tenancy.cpus' entry '\(item)' is not a cpulist such as 0-1 or 0,2") }
                return list
            }
            if map.contains("vcpus") { throw VraplError("give 'tenancy.vcpus' or 'tenancy.cpus', not both") }
        } else if map.contains("cpus") {
            throw VraplError("'tenancy.cpus' must be a non-empty list of cpulists such as \"0-1\"")
        }
        let vcpus: [Int]
        if let cpuSets {
            vcpus = cpuSets.map(\.count)
        } else {
            guard let list = try? map.list("vcpus"), !list.isEmpty else {
                throw VraplError("'tenancy.vcpus' must be a non-empty list of vCPU counts (or give 'tenancy.cpus')")
            }
            vcpus = try list.map { item -> Int in
                guard let k = item as? Int, k >= 1 else { throw VraplError("'tenancy.vcpus' must hold positive integers, found '\(item)'") }
                return k
            }
        }
        var loads: [Double] = [0]
        if map.contains("neighbour_load") {
            guard let items = try? map.doubles("neighbour_load"), !items.isEmpty, items.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw VraplError("'tenancy.neighbour_load' values are busy fractions in [0, 1], found '\(map.values["neighbour_load"] ?? "")'")
            }
            loads = items
        }
        var neighbours = stressors
        if map.contains("neighbour_stressors") {
            guard let names = try? map.strings("neighbour_stressors"), !names.isEmpty else {
                throw VraplError("'tenancy.neighbour_stressors' must be a list of stressor names")
            }
            neighbours = names
        }
        var rule = ShareRule.idleByAllocation
        if let text = try map.string("rule") { rule = try ShareRule(parsing: text) }
        var t = Tenancy(vcpus: vcpus, neighbourLoads: loads, neighbourStressors: neighbours, rule: rule)
        t.cpuSets = cpuSets
        return t
    }

    /// Where each guest size runs on a real machine with `online` CPUs: the explicit sets, or the
    /// first k online CPUs; neighbours on the rest. A set naming a CPU that is not online is refused.
    public func placements(online: [Int]) throws -> [CPUPlacement] {
        let sets = cpuSets ?? vcpus.map { Array(online.prefix($0)) }
        var out: [CPUPlacement] = []
        for (i, set) in sets.enumerated() {
            if cpuSets == nil, vcpus[i] > online.count {
                throw VraplError("tenancy.vcpus \(vcpus[i]) exceeds this machine's \(online.count) online CPUs (\(CPUList.format(online)))")
            }
            if let bad = set.first(where: { !online.contains($0) }) {
                throw VraplError("tenancy CPU set \(CPUList.format(set)) names CPU \(bad), which is not online on this machine (online: \(CPUList.format(online)))")
            }
            let others = online.filter { !set.contains($0) }
            for load in neighbourLoads {
                // A set that fills the machine has no neighbours: one placement, not one per load.
                let p = CPUPlacement(cpus: set, neighbourLoad: others.isEmpty ? 0 : load, neighbourCPUs: load > 0 ? others : [])
                if !out.contains(p) { out.append(p) }
            }
        }
        return out
    }
}

/// Where a combination runs on a real machine (`tenancy:` matrices): its CPU set (stress-ng's own
/// affinity, `--taskset`), and a neighbour load on the other CPUs (`stress-ng --cpu N --cpu-load L`).
public struct CPUPlacement: Sendable, Equatable {
    public var cpus: [Int]
    public var neighbourLoad: Double
    public var neighbourCPUs: [Int]
    public init(cpus: [Int], neighbourLoad: Double = 0, neighbourCPUs: [Int] = []) {
        self.cpus = cpus; self.neighbourLoad = neighbourLoad; self.neighbourCPUs = neighbourCPUs
    }

    /// Segment parameters: vcpus, cpus (cpulist), neighbour_load, neighbour_cpus.
    public var parameters: [String: String] {
        var p = ["vcpus": String(cpus.count), "cpus": CPUList.format(cpus), "neighbour_load": String(format: "%g", neighbourLoad)]
        if !neighbourCPUs.isEmpty { p["neighbour_cpus"] = CPUList.format(neighbourCPUs) }
        return p
    }

    /// `on0-1` or `on0-1-n0.5`.
    public var suffix: String { "on\(CPUList.format(cpus))" + (neighbourLoad > 0 ? "-n\(String(format: "%g", neighbourLoad))" : "") }
}

/// One cell of the matrix: a set of stressors (empty = idle) and their worker counts.
public struct Combination: Sendable, Equatable {
    public struct Stressor: Sendable, Equatable {
        public var name: String
        /// Level as a fraction of the core count.
        public var level: Double
        public var workers: Int
        public init(name: String, level: Double, workers: Int) { self.name = name; self.level = level; self.workers = workers }
    }
    public var stressors: [Stressor]
    public var repeatIndex: Int
    public var repeats: Int
    public var duration: Double
    public var cooldown: Double
    /// Where it runs (`tenancy:` matrices on a real machine); nil: the whole machine.
    public var placement: CPUPlacement? = nil

    public init(stressors: [Stressor], repeatIndex: Int = 1, repeats: Int = 1, duration: Double, cooldown: Double) {
        self.stressors = stressors; self.repeatIndex = repeatIndex; self.repeats = repeats
        self.duration = duration; self.cooldown = cooldown
    }

    public var isIdle: Bool { stressors.isEmpty }

    /// `idle`, `cpu-2`, `cpu-2+vm-1`, with `-r2` for the second repeat.
    public var name: String {
        let base = isIdle ? "idle" : stressors.map { "\($0.name)-\($0.workers)" }.joined(separator: "+")
        let named = repeats > 1 ? "\(base)-r\(repeatIndex)" : base
        return placement.map { "\(named)-\($0.suffix)" } ?? named
    }

    /// The workload family used by splits: `idle`, or the stressor with the most workers (first in
    /// matrix order on a tie).
    public var family: String {
        guard var best = stressors.first else { return "idle" }
        for s in stressors.dropFirst() where s.workers > best.workers { best = s }
        return best.name
    }

    /// Segment parameters: family, stressor (`cpu+vm`), workers (`2+1`), levels, repeat.
    public var parameters: [String: String] {
        var p: [String: String] = ["family": family, "repeat": String(repeatIndex)]
        if isIdle {
            p["stressor"] = "idle"; p["workers"] = "0"; p["kind"] = "idle"
        } else {
            p["stressor"] = stressors.map(\.name).joined(separator: "+")
            p["workers"] = stressors.map { String($0.workers) }.joined(separator: "+")
            p["level"] = stressors.map { String(format: "%g", $0.level) }.joined(separator: "+")
            p["kind"] = "steady"
        }
        if let placement { p.merge(placement.parameters) { _, new in new } }
        return p
    }
}
