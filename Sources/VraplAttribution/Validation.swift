import Foundation
import VraplCore

/// The paper's check: each workload's attribution in a concurrent phase against its independently
/// measured solo power (solo minus baseline), as percent error.
///
/// Phase files live in one directory: `<phase>_host.csv` (host logger shape), `<phase>_cgroup.csv`
/// (cgroup logger shape) and, optionally, `<phase>_wall.csv` or one `wall.csv` for the whole run.
public enum Validation {
    /// One concurrent phase and, for each of its workloads, the phase in which it ran alone.
    public struct Case: Sendable, Equatable {
        public var concurrent: String
        public var solos: [String: String]
        public init(concurrent: String, solos: [String: String]) { self.concurrent = concurrent; self.solos = solos }

        /// `CONCURRENT:workload=SOLO,workload=SOLO`.
        public init(parsing text: String) throws {
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty else { throw VraplError("validation case '\(text)': expected CONCURRENT:workload=SOLO,…") }
            concurrent = String(parts[0])
            solos = [:]
            for pair in parts[1].split(separator: ",") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                guard kv.count == 2 else { throw VraplError("validation case '\(text)': '\(pair)' is not workload=SOLO") }
                solos[String(kv[0])] = String(kv[1])
            }
        }
    }

    public struct Row: Sendable, Equatable {
        public var concurrent: String
        public var workload: String
        public var solo: String
        /// Mean power attributed to the workload in the concurrent phase, W.
        public var attributedW: Double
        /// Solo minus baseline (CPU and GPU measured; memory and storage by allocation), W.
        public var referenceW: Double
        public var errorPct: Double { referenceW != 0 ? 100 * abs(attributedW - referenceW) / abs(referenceW) : .infinity }
    }

    struct PhaseData {
        var host: [HostRow]
        var cgroups: [CGroupRow]
        var wall: [(time: Double, watts: Double)]?
        var meanCPU: Double
        var meanGPU: [Double]
        var meanWall: Double?
    }

    static func load(_ dir: String, _ phase: String, trim: TrimSpec) throws -> PhaseData {
        let hostPath = "\(dir)/\(phase)_host.csv"
        let host = OfflineInputs.trim(try OfflineInputs.hostRows(try DelimitedTable.load(hostPath)), trim)
        guard !host.isEmpty else { throw VraplError("\(hostPath): no rows left after trimming") }
        let cgPath = "\(dir)/\(phase)_cgroup.csv"
        let cg = FileManager.default.fileExists(atPath: cgPath) ? try OfflineInputs.cgroupRows(try DelimitedTable.load(cgPath)) : []
        var wall: [(time: Double, watts: Double)]?
        for p in ["\(dir)/\(phase)_wall.csv", "\(dir)/wall.csv"] where wall == nil && FileManager.default.fileExists(atPath: p) {
            wall = try OfflineInputs.wallRows(try DelimitedTable.load(p))
        }
        let n = Double(host.count)
        let gpuCount = host.map(\.gpuW.count).max() ?? 0
        let meanGPU = (0..<gpuCount).map { g in host.reduce(0.0) { $0 + (g < $1.gpuW.count ? $1.gpuW[g] : 0) } / n }
        var meanWall: Double?
        if let wall, let t0 = host.first?.time, let t1 = host.last?.time {
            let inside = wall.filter { $0.time >= t0 && $0.time <= t1 }
            if !inside.isEmpty { meanWall = inside.reduce(0.0) { $0 + $1.watts } / Double(inside.count) }
        }
        return PhaseData(host: host, cgroups: cg, wall: wall, meanCPU: host.reduce(0.0) { $0 + $1.cpuW } / n, meanGPU: meanGPU, meanWall: meanWall)
    }

    /// The configuration with its baseline replaced by the measured baseline phase.
    static func withBaseline(_ config: AttributionConfig, _ b: PhaseData) -> AttributionConfig {
        var c = config
        c.baseline = BaselineSpec(cpuW: b.meanCPU, gpuW: b.meanGPU, wallW: b.meanWall)
        return c
    }

    /// Attribution of every stable interval of a phase.
    public static func attributePhase(config: AttributionConfig, dataDirectory dir: String, phase: String) throws -> [IntervalAttribution] {
        let d = try load(dir, phase, trim: config.trim)
        let attributor = Attributor(config: config)
        let memory = config.memoryTotalGB.map { $0 * bytesPerGB }
        var host = d.host
        for i in host.indices { host[i].phase = phase }
        return OfflineInputs.intervals(config: config, host: host, cgroups: d.cgroups, wall: d.wall).map {
            attributor.attribute(system: $0.0, usage: $0.1, memoryTotalBytes: memory)
        }
    }

    static func meanPower(_ intervals: [IntervalAttribution], workload: String) -> ComponentEnergy {
        var e = ComponentEnergy()
        var t = 0.0
        for i in intervals {
            t += i.duration.value
            if let w = i.workloads.first(where: { $0.name == workload }) { e += w.energy }
        }
        return e.scaled(by: t > 0 ? 1 / t : 0)
    }

    /// Runs every case. The baseline phase's mean powers become the idle powers of the model.
    public static func run(config: AttributionConfig, dataDirectory dir: String, baselinePhase: String, cases: [Case])
        throws -> (rows: [Row], baseline: BaselineSpec, concurrent: [String: [IntervalAttribution]]) {
        let base = try load(dir, baselinePhase, trim: config.trim)
        let cfg = withBaseline(config, base)
        var rows: [Row] = []
        var concurrent: [String: [IntervalAttribution]] = [:]
        for c in cases {
            let attributed = try attributePhase(config: cfg, dataDirectory: dir, phase: c.concurrent)
            concurrent[c.concurrent] = attributed
            let present = Set(attributed.flatMap { $0.workloads.map(\.name) })
            for (workload, soloPhase) in c.solos.sorted(by: { $0.key < $1.key }) {
                guard present.contains(workload) else {
                    throw VraplError("validation: workload '\(workload)' has no cgroup rows in phase '\(c.concurrent)'")
                }
                let solo = try load(dir, soloPhase, trim: config.trim)
                // Measured: solo minus baseline for the CPU and every GPU.
                var reference = solo.meanCPU - base.meanCPU
                for g in solo.meanGPU.indices { reference += solo.meanGPU[g] - (g < base.meanGPU.count ? base.meanGPU[g] : 0) }
                // Allocation-based terms are not measurable as a difference: memory, storage, and GPU idle
                // when it is charged by allocation, computed for the workload as it ran solo.
                let soloAttributed = meanPower(try attributePhase(config: cfg, dataDirectory: dir, phase: soloPhase), workload: workload)
                reference += soloAttributed.memory.value + soloAttributed.storage.value
                if cfg.gpuIdle == .allocation, let spec = cfg.workloads.first(where: { $0.name == workload }) {
                    for g in spec.gpus {
                        let sharers = cfg.workloads.filter { $0.gpus.contains(g) && present.contains($0.name) }.count
                        reference += cfg.baseline.gpuIdle(g) / Double(max(sharers, 1))
                    }
                }
                let attributedW = meanPower(attributed, workload: workload).total.value
                rows.append(Row(concurrent: c.concurrent, workload: workload, solo: soloPhase, attributedW: attributedW, referenceW: reference))
            }
        }
        return (rows, cfg.baseline, concurrent)
    }

    public static func tsv(_ rows: [Row]) -> String {
        var s = "concurrent\tworkload\tsolo\tattributed_W\tsolo_minus_baseline_W\terror_pct\n"
        for r in rows {
            s += "\(r.concurrent)\t\(r.workload)\t\(r.solo)\t\(String(format: "%.3f", r.attributedW))\t\(String(format: "%.3f", r.referenceW))\t\(String(format: "%.2f", r.errorPct))\n"
        }
        return s
    }
}
