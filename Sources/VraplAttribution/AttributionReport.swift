import Foundation
import VraplCore

/// Totals over many intervals, and the files `vrapl attribute` writes: per-interval and total energy
/// per workload and component, baseline, unattributed and residual, as TSV (paper-shaped
/// `system_power.tsv` and `workload_usage.tsv` plus `intervals.tsv`), JSON and Prometheus text.
public struct AttributionReport: Sendable {
    public var configName: String
    /// Where the CPU energy came from; nil when an offline input does not say (a TSV file).
    public var cpuPower: PowerSource?
    /// Offline runs: the input file or directory the intervals were read from.
    public var input: String?
    public var intervals: [IntervalAttribution]
    /// Cgroups of each workload, for Kepler's `container_id` label.
    public var workloadCGroups: [String: [String]]

    public init(configName: String, cpuPower: PowerSource?, input: String? = nil, intervals: [IntervalAttribution],
                workloadCGroups: [String: [String]] = [:]) {
        self.configName = configName; self.cpuPower = cpuPower; self.input = input
        self.intervals = intervals; self.workloadCGroups = workloadCGroups
    }

    /// `rapl`, `sim:<profile>`, `model:<name>`, or `unknown`: the `cpu_power_source` of every output.
    public var cpuPowerLabel: String { cpuPower?.description ?? "unknown" }

    /// Workload names in first-seen order.
    public var workloadNames: [String] {
        var seen = Set<String>(), out: [String] = []
        for name in (prior?.workloads.keys).map(Array.init)?.sorted() ?? [] where seen.insert(name).inserted { out.append(name) }
        for i in intervals { for w in i.workloads where seen.insert(w.name).inserted { out.append(w.name) } }
        return out
    }
    public var phases: [String] {
        var seen = Set<String>(), out: [String] = []
        for i in intervals where seen.insert(i.phase).inserted { out.append(i.phase) }
        return out
    }

    public struct Totals: Sendable, Equatable {
        public var duration = 0.0
        public var system = 0.0
        public var systemCPU = 0.0, systemGPU = 0.0, systemMemory = 0.0, systemStorage = 0.0, systemOther = 0.0
        public var wall: Double?
        public var baseline = ComponentEnergy()
        public var unattributed = ComponentEnergy()
        public var otherUnattributed = 0.0
        public var residual = 0.0
        public var maxResidualFraction = 0.0
        public var workloads: [String: ComponentEnergy] = [:]
        public var gpuEnergy: [Int: Double] = [:]
        /// Workload usage sums for mean utilisations.
        public var cpuUsageUsec: [String: Double] = [:]
        public var gpuUtilTime: [String: Double] = [:]
        public var memoryByteSeconds: [String: Double] = [:]
        public var ioBytes: [String: Double] = [:]
        public var workloadDuration: [String: Double] = [:]
    }

    /// Totals of intervals no longer held (a long live run keeps a bounded history), added to
    /// `totals()` for all phases and for `priorPhase`.
    public var prior: Totals?
    public var priorPhase: String = "live"

    /// Sums over the intervals of one phase (nil: all).
    public func totals(phase: String? = nil) -> Totals {
        var t = (phase == nil || phase == priorPhase) ? (prior ?? Totals()) : Totals()
        for i in intervals where phase == nil || i.phase == phase { t.add(i) }
        return t
    }
}

extension AttributionReport.Totals {
    /// Adds one interval.
    public mutating func add(_ i: IntervalAttribution) {
        var t = self
        do {
            let dt = i.duration.value
            t.duration += dt
            t.system += i.system.total.value
            t.systemCPU += i.system.cpu.value
            t.systemGPU += i.system.gpu.value
            t.systemMemory += i.system.memory.value
            t.systemStorage += i.system.storage.value
            t.systemOther += i.system.other.value
            if let w = i.system.wall { t.wall = (t.wall ?? 0) + w.value }
            t.baseline += i.baseline
            t.unattributed += i.unattributed
            t.otherUnattributed += i.otherUnattributed.value
            t.residual += i.residual.value
            t.maxResidualFraction = max(t.maxResidualFraction, i.residualFraction)
            for (g, e) in i.gpuEnergies { t.gpuEnergy[g, default: 0] += e.value }
            for w in i.workloads {
                t.workloads[w.name, default: ComponentEnergy()] += w.energy
                t.cpuUsageUsec[w.name, default: 0] += w.usage.cpuUsageUsec
                t.gpuUtilTime[w.name, default: 0] += w.usage.gpuUtilizationPct.values.reduce(0, +) * dt
                t.memoryByteSeconds[w.name, default: 0] += w.usage.memoryBytes * dt
                t.ioBytes[w.name, default: 0] += w.usage.ioBytes
                t.workloadDuration[w.name, default: 0] += dt
            }
        }
        self = t
    }
}

extension AttributionReport {

    static func f(_ x: Double, _ digits: Int = 4) -> String { String(format: "%.\(digits)f", x) }

    /// Per interval: one row per workload plus `baseline`, `unattributed`, `other` rows (energies, J).
    public func intervalsTSV() -> String {
        var s = "phase\tstart_s\tduration_s\tentity\tkind\tcpu_j\tgpu_j\tmemory_j\tstorage_j\ttotal_j\n"
        for i in intervals {
            let prefix = "\(i.phase)\t\(Self.f(i.start, 3))\t\(Self.f(i.duration.value, 3))"
            func row(_ name: String, _ kind: String, _ e: ComponentEnergy) {
                s += "\(prefix)\t\(name)\t\(kind)\t\(Self.f(e.cpu.value))\t\(Self.f(e.gpu.value))\t\(Self.f(e.memory.value))\t\(Self.f(e.storage.value))\t\(Self.f(e.total.value))\n"
            }
            for w in i.workloads { row(w.name, "workload", w.energy) }
            row("baseline", "baseline", i.baseline)
            row("unattributed", "unattributed", i.unattributed)
            s += "\(prefix)\tother\tother\t0\t0\t0\t0\t\(Self.f(i.otherUnattributed.value))\n"
        }
        return s
    }

    /// Conservation per interval: E_sys = baseline + Σ workloads + unattributed + other + residual.
    public func conservationTSV() -> String {
        var s = "phase\tstart_s\tduration_s\te_sys_j\tbaseline_j\tworkloads_j\tunattributed_j\tother_j\tresidual_j\tresidual_pct\tnotes\n"
        for i in intervals {
            let w = i.workloads.reduce(0.0) { $0 + $1.energy.total.value }
            s += "\(i.phase)\t\(Self.f(i.start, 3))\t\(Self.f(i.duration.value, 3))\t\(Self.f(i.system.total.value))\t\(Self.f(i.baseline.total.value))\t"
            s += "\(Self.f(w))\t\(Self.f(i.unattributed.total.value))\t\(Self.f(i.otherUnattributed.value))\t\(String(format: "%.3e", i.residual.value))\t"
            s += "\(String(format: "%.6f", 100 * i.residualFraction))\t\(i.notes.joined(separator: "; ").replacingOccurrences(of: "\t", with: " "))\n"
        }
        return s
    }

    /// Shaped like the paper's `system_power.tsv`: one row per phase, mean power (W) of each part.
    public func systemPowerTSV() -> String {
        let gpuIndices = Set(intervals.flatMap { $0.gpuEnergies.keys }).sorted()
        var s = "phase\tduration_s\twall_W\tcpu_W\t" + gpuIndices.map { "gpu\($0)_W\t" }.joined()
        s += "mem_W\tstorage_W\tothers_W\tsystem_W\tbaseline_W\tunattributed_W\tresidual_W\n"
        for p in phases {
            let t = totals(phase: p)
            let d = max(t.duration, 1e-12)
            s += "\(p.isEmpty ? "all" : p)\t\(Self.f(t.duration, 1))\t\(t.wall.map { Self.f($0 / d, 3) } ?? "")\t\(Self.f(t.systemCPU / d, 3))\t"
            s += gpuIndices.map { Self.f((t.gpuEnergy[$0] ?? 0) / d, 3) + "\t" }.joined()
            s += "\(Self.f(t.systemMemory / d, 3))\t\(Self.f(t.systemStorage / d, 3))\t\(t.wall == nil ? "" : Self.f(t.systemOther / d, 3))\t"
            s += "\(Self.f(t.system / d, 3))\t\(Self.f(t.baseline.total.value / d, 3))\t\(Self.f(t.unattributed.total.value / d, 3))\t\(String(format: "%.3e", t.residual / d))\n"
        }
        return s
    }

    /// Shaped like the paper's `workload_usage.tsv`: per phase and workload, mean utilisation and
    /// mean attributed power by component.
    public func workloadUsageTSV() -> String {
        var s = "phase\tworkload\tcpu_util_pct\tgpu_util_pct\tmem_alloc_GB\tio_bytes\tcpu_W\tgpu_W\tmem_W\tstorage_W\ttotal_W\tenergy_J\n"
        for p in phases {
            let t = totals(phase: p)
            for name in workloadNames {
                guard let e = t.workloads[name], let d = t.workloadDuration[name], d > 0 else { continue }
                s += "\(p.isEmpty ? "all" : p)\t\(name)\t\(Self.f((t.cpuUsageUsec[name] ?? 0) / 1e6 / d * 100, 2))\t"
                s += "\(Self.f((t.gpuUtilTime[name] ?? 0) / d, 2))\t\(Self.f((t.memoryByteSeconds[name] ?? 0) / d / bytesPerGB, 3))\t"
                s += "\(Self.f(t.ioBytes[name] ?? 0, 0))\t\(Self.f(e.cpu.value / d, 3))\t\(Self.f(e.gpu.value / d, 3))\t"
                s += "\(Self.f(e.memory.value / d, 3))\t\(Self.f(e.storage.value / d, 3))\t\(Self.f(e.total.value / d, 3))\t\(Self.f(e.total.value, 3))\n"
            }
        }
        return s
    }

    static func components(_ e: ComponentEnergy) -> [String: Any] {
        ["cpu_j": e.cpu.value, "gpu_j": e.gpu.value, "memory_j": e.memory.value, "storage_j": e.storage.value, "total_j": e.total.value]
    }

    /// JSON with totals, per-phase totals and (optionally) every interval.
    public func json(includeIntervals: Bool = true) throws -> Data {
        func totalsObject(_ t: Totals) -> [String: Any] {
            var o: [String: Any] = [
                "duration_s": t.duration, "system_j": t.system,
                "system_components_j": ["cpu": t.systemCPU, "gpu": t.systemGPU, "memory": t.systemMemory, "storage": t.systemStorage, "other": t.systemOther],
                "baseline": Self.components(t.baseline), "unattributed": Self.components(t.unattributed),
                "other_unattributed_j": t.otherUnattributed, "residual_j": t.residual, "max_residual_fraction": t.maxResidualFraction,
                "workloads": t.workloads.mapValues { e -> [String: Any] in
                    var c = Self.components(e); c["mean_power_w"] = t.duration > 0 ? e.total.value / t.duration : 0; return c
                },
            ]
            if let w = t.wall { o["wall_j"] = w }
            return o
        }
        var root: [String: Any] = [
            "format": "vrapl-attribution", "format_version": 1, "config": configName, "cpu_power_source": cpuPowerLabel,
            "interval_count": intervals.count, "totals": totalsObject(totals()),
            "phases": Dictionary(phases.map { ($0.isEmpty ? "all" : $0, totalsObject(totals(phase: $0))) }, uniquingKeysWith: { a, _ in a }),
        ]
        if let input { root["input"] = input }
        if includeIntervals {
            root["intervals"] = intervals.map { i -> [String: Any] in
                [
                    "phase": i.phase, "start_s": i.start, "duration_s": i.duration.value, "system_j": i.system.total.value,
                    "baseline": Self.components(i.baseline), "unattributed": Self.components(i.unattributed),
                    "other_unattributed_j": i.otherUnattributed.value, "residual_j": i.residual.value, "notes": i.notes,
                    "workloads": Dictionary(i.workloads.map { ($0.name, Self.components($0.energy)) }, uniquingKeysWith: { a, _ in a }),
                ]
            }
        }
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }

    /// Prometheus text exposition (counters of joules since the start of the run).
    public func prometheus() -> String {
        let t = totals()
        var out = PrometheusExposition()
        out.family("vrapl_workload_joules_total", "counter", "Energy attributed to a workload, by component.")
        for name in workloadNames {
            let e = t.workloads[name] ?? ComponentEnergy()
            for (c, j) in e.byName { out.sample("vrapl_workload_joules_total", [("workload", name), ("component", c)], j.value) }
        }
        out.family("vrapl_baseline_joules_total", "counter", "Idle (baseline) energy, by component.")
        for (c, j) in t.baseline.byName { out.sample("vrapl_baseline_joules_total", [("component", c)], j.value) }
        out.family("vrapl_unattributed_joules_total", "counter", "Energy no workload could be charged with (vanished cgroups, unused CPU), by component.")
        for (c, j) in t.unattributed.byName { out.sample("vrapl_unattributed_joules_total", [("component", c)], j.value) }
        out.sample("vrapl_unattributed_joules_total", [("component", "other")], t.otherUnattributed)
        out.family("vrapl_system_joules_total", "counter", "Measured system energy, by component (total is E_sys).")
        for (c, v) in [("cpu", t.systemCPU), ("gpu", t.systemGPU), ("memory", t.systemMemory), ("storage", t.systemStorage), ("total", t.system)] {
            out.sample("vrapl_system_joules_total", [("component", c)], v)
        }
        out.family("vrapl_attribution_residual_joules", "gauge", "Sum of per-interval conservation residuals.")
        out.sample("vrapl_attribution_residual_joules", [], t.residual)
        out.family("vrapl_attribution_residual_ratio_max", "gauge", "Largest |residual| / E_sys of any interval.")
        out.sample("vrapl_attribution_residual_ratio_max", [], t.maxResidualFraction)
        out.family("vrapl_attribution_info", "gauge", "Attribution run information.")
        out.sample("vrapl_attribution_info", [("config", configName), ("cpu_power_source", cpuPowerLabel)], 1)
        out.family("kepler_container_cpu_joules_total", "counter", "Kepler-compatible: CPU (package) energy attributed to a container (workload).")
        for name in workloadNames {
            let e = t.workloads[name] ?? ComponentEnergy()
            let id = (workloadCGroups[name] ?? []).joined(separator: ",")
            out.sample("kepler_container_cpu_joules_total", [("container_id", id), ("container_name", name), ("zone", "package")], e.cpu.value)
        }
        return out.text
    }

    /// Writes every file into `directory` (created if needed); returns the paths written.
    @discardableResult
    public func write(to directory: String) throws -> [String] {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw VraplError("\(directory): cannot create output directory: \(error.localizedDescription)")
        }
        let files: [(String, Data)] = [
            ("intervals.tsv", Data(intervalsTSV().utf8)), ("conservation.tsv", Data(conservationTSV().utf8)),
            ("system_power.tsv", Data(systemPowerTSV().utf8)), ("workload_usage.tsv", Data(workloadUsageTSV().utf8)),
            ("attribution.json", try json()), ("metrics.prom", Data(prometheus().utf8)),
        ]
        var written: [String] = []
        for (name, data) in files {
            let path = directory + "/" + name
            do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw VraplError("\(path): cannot write: \(error.localizedDescription)")
            }
            written.append(path)
        }
        return written
    }
}
