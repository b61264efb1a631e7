import ArgumentParser
import Foundation
import VraplAttribution
import VraplCommandLine
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

/// `--trim-start` / `--trim-end`: what offline attribution and validation drop of each recorded phase.
struct PhaseTrim: ParsableArguments {
    @Option(name: .long, help: "Dropped at the start of each phase (15s, …; default: the config's trim.start_s, 15).", transform: DurationArgument.parse)
    var trimStart: DurationArgument?
    @Option(name: .long, help: "Dropped at the end of each phase (default: the config's trim.end_s, 5).", transform: DurationArgument.parse)
    var trimEnd: DurationArgument?

    /// The attribution config at `path` with these trims applied.
    func load(_ path: String) throws -> AttributionConfig {
        var cfg = try AttributionConfig.load(path: path)
        if let trimStart { cfg.trim.startS = trimStart.seconds }
        if let trimEnd { cfg.trim.endS = trimEnd.seconds }
        return cfg
    }
}

struct AttributeRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Live (--live) or offline (--system S --usage U) attribution; writes TSV, JSON and Prometheus files to --out."
    )

    @Option(name: .long, help: "Attribution YAML (configs/attribution/*.yaml).") var config: String
    @Flag(name: .long, help: "Read cgroups, CPU power and GPUs live.") var live = false
    @Option(name: .long, help: "Live: how long to run (default 10s).", transform: DurationArgument.parse) var duration: DurationArgument = .seconds(10)
    @Option(name: .long, help: "Live: length of one interval (1s, 100ms, …; default: the config's interval_s).", transform: DurationArgument.parse) var interval: DurationArgument?
    @Option(name: .long, help: "Offline: host CSV (timestamp, rapl_package_w, gpuN_power_w, gpuN_util_pct[, phase]) or a vrapl trace (.h5).") var system: String?
    @Option(name: .long, help: "Offline: cgroup CSV (timestamp, cgroup, cpu_percent, memory…, io…).") var usage: String?
    @Option(name: .long, help: "Offline: wall-power CSV (timestamp, power_w).") var wall: String?
    @OptionGroup(title: "Host trees (live: cgroupfs, procfs, and sysfs for RAPL)") var roots: HostRoots
    @Option(name: .long, help: "Live CPU power: auto (RAPL if readable, else simulated), rapl, or sim.") var cpuSource: CPUSourceChoice = .auto
    @Flag(name: .long, help: "Live: do not look for GPUs.") var noGpu = false
    @Option(name: .long, help: "Live: intervals kept for the per-interval files (totals and metrics cover the whole run).") var history = 3600
    @OptionGroup(title: "Offline phases") var trim: PhaseTrim
    @Option(name: .long, help: "Output directory.") var out: String

    func run() throws {
        let cfg = try trim.load(config)
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

    func runLive(_ cfg: AttributionConfig) throws -> AttributionReport {
        guard let root = roots.cgroupfs ?? CGroupMount.unifiedRoot() else {
            throw VraplError("no cgroup v2 hierarchy mounted (give --cgroupfs)")
        }
        let warn = { (line: String) in FileHandle.standardError.write(Data("attribute: \(line)\n".utf8)) }
        let cpu = try cpuSource.open(sysfs: roots.sysfs, procfs: roots.procfs, simulated: cfg.simulatedCPU ?? SimulatedCPUSpec(), warn: warn)
        var gpu: GPUSource?
        if !noGpu {
            let (source, message) = openDefaultGPUSource()
            gpu = source
            warn(message)
        }
        let live = LiveAttributor(config: cfg, cgroups: CGroupReader(root: root), cpu: cpu, gpu: gpu, procfs: roots.procfs)
        live.historyLimit = history
        let run = try LiveAttributionRun(live: live, configName: cfg.name, step: Seconds(interval?.seconds ?? cfg.intervalS),
                                         duration: Seconds(duration.seconds), out: out)
        return try run.run { interval, t in print(LiveAttributionRun.line(interval, at: t)) }
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
    @OptionGroup(title: "Phases") var trim: PhaseTrim
    @Option(name: .long, help: "Output directory.") var out: String

    func run() throws {
        let cfg = try trim.load(config)
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

extension CPUSourceChoice: ExpressibleByArgument {}
