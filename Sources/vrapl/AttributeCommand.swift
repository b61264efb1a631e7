import ArgumentParser
import Foundation
import VraplAttribution
import VraplCore
import VraplSources
import VraplTrace

/// `vrapl attribute`: split measured (or predicted, or simulated) energy across workloads by resource,
/// live from cgroup v2 or offline from recordings; `validate` runs the paper's check; `synth` writes a
/// synthetic paper-shaped experiment.
struct AttributeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attribute",
        abstract: "Attribute CPU/GPU/memory/storage energy to workloads (cgroups), with conservation checked every interval.",
        subcommands: [AttributeRun.self, AttributeValidate.self, AttributeSynth.self],
        defaultSubcommand: AttributeRun.self
    )
}

struct AttributeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Live (--live) or offline (--system S --usage U) attribution; writes TSV, JSON and Prometheus files to --out."
    )

    @Option(name: .long, help: "Attribution YAML (configs/attribution/*.yaml).") var config: String
    @Flag(name: .long, help: "Read cgroups, CPU power and GPUs live.") var live = false
    @Option(name: .long, help: "Live: seconds to run.") var duration: Double = 10
    @Option(name: .long, help: "Live: seconds per interval (default: the config's interval_s).") var interval: Double?
    @Option(name: .long, help: "Offline: host CSV (timestamp, rapl_package_w, gpuN_power_w, gpuN_util_pct[, phase]) or a vrapl trace (.h5).") var system: String?
    @Option(name: .long, help: "Offline: cgroup CSV (timestamp, cgroup, cpu_percent, memory…, io…).") var usage: String?
    @Option(name: .long, help: "Offline: wall-power CSV (timestamp, power_w).") var wall: String?
    @Option(name: .long, help: "cgroup v2 root (default: the host's cgroup2 mount).") var cgroupfs: String?
    @Option(name: .long, help: "procfs root.") var procfs = "/proc"
    @Option(name: .long, help: "sysfs root for RAPL (powercap).") var sysfs = "/sys"
    @Option(name: .long, help: "Live CPU power: auto (RAPL if readable, else simulated), rapl, or sim.") var cpuSource = "auto"
    @Flag(name: .long, help: "Live: do not look for GPUs.") var noGpu = false
    @Option(name: .long, help: "Live: intervals kept for the per-interval files (totals and metrics cover the whole run).") var history = 3600
    @Option(name: .long, help: "Offline: seconds dropped at the start of each phase (default: config trim.start_s, 15).") var trimStart: Double?
    @Option(name: .long, help: "Offline: seconds dropped at the end of each phase (default: config trim.end_s, 5).") var trimEnd: Double?
    @Option(name: .long, help: "Output directory.") var out: String

    func run() throws {
        var cfg = try AttributionConfig.load(path: config)
        if let trimStart { cfg.trim.startS = trimStart }
        if let trimEnd { cfg.trim.endS = trimEnd }
        let report: AttributionReport
        if live {
            guard system == nil, usage == nil else { throw ValidationError("--live cannot be combined with --system/--usage") }
            report = try runLive(cfg)
        } else {
            guard let system, let usage else { throw ValidationError("give --live, or --system S --usage U") }
            let intervals = try OfflineInputs.attribute(config: cfg, systemPath: system, usagePath: usage, wallPath: wall)
            let power = system.hasSuffix(".h5") || system.hasSuffix(".hdf5") ? (try? TraceReader.readMetadata(system))?.powerSource : nil
            report = AttributionReport(configName: cfg.name, cpuPower: power, input: system, intervals: intervals,
                                       workloadCGroups: Dictionary(cfg.workloads.map { ($0.name, $0.cgroups) }, uniquingKeysWith: { a, _ in a }))
        }
        try report.write(to: out)
        printSummary(report)
    }

    func cpuPowerSource(_ cfg: AttributionConfig) throws -> CPUPowerSource {
        let sim = cfg.simulatedCPU ?? SimulatedCPUSpec()
        func simulated() -> CPUPowerSource { SimulatedCPUPowerSource(idle: Watts(sim.idleW), max: Watts(sim.maxW), procfs: procfs) }
        func rapl() throws -> CPUPowerSource {
            let reader = try PowercapReader(sysfs: sysfs)
            let packages = reader.zones.enumerated().filter { $0.element.isPackage }
            guard !packages.isEmpty else { throw VraplError("\(sysfs): RAPL zones found but no package zone") }
            return EnergyCounterCPUPowerSource(powerSource: .rapl) {
                let values = try reader.read()
                return packages.map { (values[$0.offset], $0.element.maxEnergyRange) }
            }
        }
        switch cpuSource {
        case "sim": return simulated()
        case "rapl": return try rapl()
        case "auto":
            do { return try rapl() } catch {
                FileHandle.standardError.write(Data("attribute: no RAPL (\(error)); using simulated CPU power sim:cpu-linear (\(sim.idleW)–\(sim.maxW) W)\n".utf8))
                return simulated()
            }
        default: throw ValidationError("--cpu-source must be auto, rapl or sim")
        }
    }

    func runLive(_ cfg: AttributionConfig) throws -> AttributionReport {
        guard let root = cgroupfs ?? CGroupMount.unifiedRoot() else {
            throw VraplError("no cgroup v2 hierarchy mounted (give --cgroupfs)")
        }
        let cpu = try cpuPowerSource(cfg)
        var gpu: GPUSource?
        if !noGpu {
            let (source, message) = openDefaultGPUSource()
            gpu = source
            FileHandle.standardError.write(Data("attribute: \(message)\n".utf8))
        }
        let live = LiveAttributor(config: cfg, cgroups: CGroupReader(root: root), cpu: cpu, gpu: gpu, procfs: procfs)
        let step = interval ?? cfg.intervalS
        guard step > 0, duration > 0 else { throw ValidationError("--interval and --duration must be > 0") }
        live.historyLimit = history
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try live.prime()
        let start = SampleClock.monotonicNs()
        var k = 1
        while Double(k) * step <= duration + 1e-9 {
            // Absolute deadlines (VraplCore.SampleClock), so lateness does not accumulate into drift.
            let deadline = start + UInt64((Double(k) * step * 1e9).rounded())
            while !SampleClock.sleep(untilMonotonicNs: deadline) {}
            let r = try live.step()
            let parts = r.workloads.map { "\($0.name)=\(String(format: "%.2f", $0.energy.total.value))J" }.joined(separator: " ")
            print(String(format: "t=%.1fs E_sys=%.2fJ baseline=%.2fJ ", Double(k) * step, r.system.total.value, r.baseline.total.value)
                  + parts + String(format: " unattributed=%.2fJ residual=%.2e%%", r.unattributed.total.value, 100 * r.residualFraction))
            try? Data(live.totalsReport(configName: cfg.name).prometheus().utf8).write(to: URL(fileURLWithPath: out + "/metrics.prom"), options: .atomic)
            k += 1
        }
        return live.report(configName: cfg.name)
    }

    func printSummary(_ report: AttributionReport) {
        var t = report.totals()
        // Rounding leaves ±1e-15 J where nothing is unattributed; do not print it as "-0.00".
        if abs(t.unattributed.total.value) < 1e-9 * max(1, abs(t.system)) { t.unattributed = ComponentEnergy() }
        print("attribution '\(report.configName)' (cpu power: \(report.cpuPowerLabel)\(report.input.map { ", from \($0)" } ?? "")): \(report.intervals.count) intervals, \(String(format: "%.1f", t.duration)) s")
        print(String(format: "  E_sys %.2f J = baseline %.2f + workloads %.2f + unattributed %.2f + other %.2f; residual %.3e J (max %.2e %% per interval)",
                     t.system, t.baseline.total.value, t.workloads.values.reduce(0.0) { $0 + $1.total.value },
                     t.unattributed.total.value, t.otherUnattributed, t.residual, 100 * t.maxResidualFraction))
        for name in report.workloadNames {
            let e = t.workloads[name] ?? ComponentEnergy()
            print(String(format: "  %@: %.2f J (cpu %.2f, gpu %.2f, memory %.2f, storage %.4f)", name, e.total.value, e.cpu.value, e.gpu.value, e.memory.value, e.storage.value))
        }
        print("  wrote \(out)/{intervals,conservation,system_power,workload_usage}.tsv, attribution.json, metrics.prom")
    }
}

struct AttributeValidate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "The paper's check: attribution in concurrent phases vs solo minus baseline, percent error.",
        discussion: "Reads <data>/<phase>_host.csv, <phase>_cgroup.csv and <phase>_wall.csv or wall.csv."
    )
    @Option(name: .long, help: "Attribution YAML.") var config: String
    @Option(name: .long, help: "Directory of phase files.") var data: String
    @Option(name: .long, help: "Baseline (idle) phase name.") var baseline = "baseline"
    @Option(name: .long, help: "CONCURRENT:workload=SOLO,workload=SOLO (repeatable).") var `case`: [String] = []
    @Option(name: .long, help: "Fail when any error exceeds this percentage.") var maxErrorPct: Double = 5
    @Option(name: .long, help: "Seconds dropped at the start of each phase (default: config, 15).") var trimStart: Double?
    @Option(name: .long, help: "Seconds dropped at the end of each phase (default: config, 5).") var trimEnd: Double?
    @Option(name: .long, help: "Output directory.") var out: String

    func run() throws {
        var cfg = try AttributionConfig.load(path: config)
        if let trimStart { cfg.trim.startS = trimStart }
        if let trimEnd { cfg.trim.endS = trimEnd }
        let cases = try self.case.map(Validation.Case.init(parsing:))
        guard !cases.isEmpty else { throw ValidationError("give at least one --case") }
        let result = try Validation.run(config: cfg, dataDirectory: data, baselinePhase: baseline, cases: cases)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Validation.tsv(result.rows).write(toFile: out + "/validation.tsv", atomically: true, encoding: .utf8)
        let all = cases.flatMap { result.concurrent[$0.concurrent] ?? [] }
        try AttributionReport(configName: cfg.name, cpuPower: nil, input: data, intervals: all,
                              workloadCGroups: Dictionary(cfg.workloads.map { ($0.name, $0.cgroups) }, uniquingKeysWith: { a, _ in a })).write(to: out)
        print(String(format: "baseline: cpu %.2f W, gpu %@ W", result.baseline.cpuW, result.baseline.gpuW.map { String(format: "%.2f", $0) }.joined(separator: "/")))
        print(Validation.tsv(result.rows), terminator: "")
        let worst = result.rows.map(\.errorPct).max() ?? 0
        print(String(format: "worst error %.2f %% (limit %.1f %%); wrote %@/validation.tsv", worst, maxErrorPct, out))
        if worst > maxErrorPct { throw ExitCode(1) }
    }
}

struct AttributeSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic experiment shaped like the paper's (baseline, solos, concurrent pairs) from its published figures."
    )
    @Option(name: .long, help: "Output directory.") var out: String
    @Option(name: .long, help: "Random seed.") var seed: UInt64 = 42

    func run() throws {
        var synth = PaperSynth(seed: seed)
        try synth.generate(directory: out)
        print("wrote \(PaperSynth.phaseSlots.count) phases (synthetic, from the paper's figures) to \(out)")
        print("validation cases: " + PaperSynth.cases.map { c in
            "--case \(c.concurrent):" + c.solos.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        }.joined(separator: " "))
    }
}
