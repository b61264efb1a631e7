import ArgumentParser
import Foundation
import VraplCommandLine
import VraplCore
import VraplCampaign
import VraplSim
import VraplTrace

/// `vrapl simulate`: the hidden-state power simulator (docs/simulator.md), in three modes.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "The hidden-state power simulator: synthesise labelled traces, keep a live powercap tree, or print the profile's fit.",
        discussion: """
        vrapl simulate [synthetic] --matrix configs/campaigns/demo.yaml --profile xeon-silver-4210r --out DIR [--seed S] [--samples N | --scale X]
        vrapl simulate live --powercap-dir DIR [--procfs /proc] [--profile P] [--interval 16ms] [--duration 60s]
            then: vrapl-collect --sysfs DIR ...   (reads DIR/class/powercap/intel-rapl:0/energy_uj)
        vrapl simulate fit --profile xeon-silver-4210r
        Everything it writes is labelled power_source = sim:<profile>.
        """,
        subcommands: [SimulateSynthetic.self, SimulateLive.self, SimulateFit.self],
        defaultSubcommand: SimulateSynthetic.self
    )
}

/// Options every mode of the simulator takes.
struct SimulatorOptions: ParsableArguments {
    @Option(help: "Simulator profile: a name under configs/sim/ or a YAML path.") var profile: String = "xeon-silver-4210r"
    @Option(help: "Seed: the same seed gives the same trace.") var seed: UInt64 = 1
    @Option(help: "Sample interval (default 16ms).", transform: DurationArgument.parse) var interval: DurationArgument = .milliseconds(16)

    func validate() throws {
        guard interval.nanoseconds > 0 else { throw ValidationError("--interval must be positive") }
    }
}

/// `vrapl simulate [synthetic]`: labelled traces from a campaign matrix.
struct SimulateSynthetic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthetic",
        abstract: "Synthesise labelled traces (HDF5) from a campaign matrix; one trace per co-tenant with --co-tenants."
    )

    @OptionGroup var common: SimulatorOptions
    @Option(help: "Campaign matrix YAML.") var matrix: String
    @Option(help: "Output directory.") var out: String
    @Option(help: "Target number of samples (scales every non-burst duration).") var samples: Int?
    @Option(help: "Multiply every non-burst duration by this factor.") var scale: Double?
    @Option(help: "Guests of these vCPU counts share one host time line (e.g. 2,4,6,8); one trace per tenant, each its own schedule of the matrix.") var coTenants: String?

    var seed: UInt64 { common.seed }

    func validate() throws {
        if samples != nil && scale != nil { throw ValidationError("give --samples or --scale, not both") }
    }

    func run() throws {
        try runSynthetic(try SimProfile.load(common.profile), dt: common.interval.seconds)
    }

    func runCoTenants(_ prof: SimProfile, dt: Double, matrix m: CampaignMatrix, spec: String, outDir: String) throws {
        let sizes = try CoTenancy.parseSizes(spec)
        let tenants = CoTenancy.tenants(matrix: m, vcpus: sizes, threads: prof.threads, seed: seed, sampleInterval: dt,
                                        scale: scale ?? 1, targetSamples: samples)
        let length = tenants.first?.schedule.totalSamples ?? 0
        let traces = try CoTenancy.generate(profile: prof, tenants: tenants, rule: m.tenancy?.rule ?? .idleByAllocation, seed: seed,
                                            labels: ["sim_matrix": m.name])
        try TextFile.createDirectories(outDir)
        for (i, trace) in traces.enumerated() {
            let path = outDir + "/\(m.name)-s\(seed)-tenant\(i + 1)-k\(sizes[i]).h5"
            try TraceWriter.write(trace, to: path)
            print("wrote \(path)")
        }
        print("  power source  sim:\(prof.name) (simulated, not measured)")
        print("  co-tenancy    vCPUs \(sizes.map(String.init).joined(separator: "+")) of \(prof.threads) threads, \(length) samples (\(DurationText.render(Double(length) * dt))) on one host time line")
    }

    func runSynthetic(_ prof: SimProfile, dt: Double) throws {
        let matrixPath = matrix, outDir = out
        let m = try CampaignMatrix.load(path: matrixPath)
        if let spec = coTenants { try runCoTenants(prof, dt: dt, matrix: m, spec: spec, outDir: outDir); return }
        do { try m.tenancy?.validate(hostThreads: prof.threads) } catch let e as VraplError {
            throw VraplError("\(matrixPath): \(e.message) of profile \(prof.name)")
        }
        let schedule = SimSchedule.build(matrix: m, threads: prof.threads, seed: seed, sampleInterval: dt,
                                         scale: scale ?? 1, targetSamples: samples)
        try TextFile.createDirectories(outDir)
        let path = outDir + "/\(m.name)-s\(seed).h5"
        let total = schedule.totalSamples
        let progress = ProgressReporter(label: "simulate", total: Double(total), unit: "samples")
        let t0 = Date()
        let cpu0 = ProcessCPUTime.ofSelf().total
        let trace = try SyntheticGenerator(profile: prof, seed: seed).generate(
            schedule: schedule, labels: ["sim_matrix": m.name], tenancy: m.tenancy,
            progress: { progress.update(done: Double($0)) })
        let genSeconds = Date().timeIntervalSince(t0)
        let genCPU = ProcessCPUTime.ofSelf().total - cpu0
        try TraceWriter.write(trace, to: path)
        progress.finish()
        let allSeconds = Date().timeIntervalSince(t0)
        var families: [String: Int] = [:]
        for s in trace.segments { families[s.family, default: 0] += s.lastSample - s.firstSample + 1 }
        print("wrote \(path)")
        print("  power source  sim:\(prof.name) (simulated, not measured)")
        print("  samples       \(total) (\(DurationText.render(Double(total) * dt)) at \(DurationText.render(dt))), \(trace.segments.count) segments")
        print("  families      " + families.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        if let h = trace.simHiddenWatts, h.count > 1 {
            let rmse = (h.dropFirst().reduce(0.0) { $0 + Double($1) * Double($1) } / Double(h.count - 1)).squareRoot()
            print("  sim_hidden_w  RMSE \(String(format: "%.3f", rmse)) W (irreducible error of any guest-visible predictor)")
        }
        if let view = trace.guestView, let range = view.vcpuRange {
            let loads = Set(trace.segments.compactMap { $0.parameters["neighbour_load"] }).sorted()
            print("  guest view    k = \(range.lowerBound)…\(range.upperBound) of \(view.host.threads) threads, neighbour load \(loads.joined(separator: ", ")); "
                  + "target: the guest's share by \(view.rule.rawValue) (P_idle \(String(format: "%.2f", view.host.idleWatts)) W)")
        }
        print("  speed         \(Int(Double(total) / max(genSeconds, 1e-9))) samples/s generated (\(Int(Double(total) / max(genCPU, 1e-9))) per CPU-second), \(Int(Double(total) / max(allSeconds, 1e-9))) samples/s incl. HDF5 write")
    }
}

/// `vrapl simulate live`: a powercap tree driven by this machine's /proc/stat.
struct SimulateLive: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Keep a powercap tree (DIR/class/powercap/intel-rapl:0/energy_uj) up to date from this machine's /proc/stat."
    )

    @OptionGroup var common: SimulatorOptions
    @OptionGroup(title: "Host trees (this command reads procfs)") var roots: HostRoots
    @Option(help: "Root of the powercap tree to maintain (the collector's --sysfs).") var powercapDir: String
    @Option(help: "Stop after this long (default: run until killed).", transform: DurationArgument.parse) var duration: DurationArgument?
    @Option(help: "How often energy_uj advances (default 2ms; RAPL itself updates about every 1 ms).", transform: DurationArgument.parse)
    var updateInterval: DurationArgument = .milliseconds(2)
    @Option(help: "The campaign's current-stressor file.") var stateFile: String = CampaignCurrent.defaultPath
    @Flag(help: "Stop when the parent process (a campaign) goes away.") var exitWithParent = false

    func run() throws {
        let prof = try SimProfile.load(common.profile)
        let dt = common.interval.seconds, dir = powercapDir, seed = common.seed
        let d = duration?.seconds
        let sim = try LiveSimulator(profile: prof, powercapDir: dir, procfs: roots.procfs, interval: dt,
                                    stateFile: stateFile, seed: seed)
        FileHandle.standardError.write(Data("vrapl simulate live: sim:\(prof.name) → \(dir)/class/powercap/intel-rapl:0/energy_uj every \(DurationText.render(dt)); label file \(stateFile)\n".utf8))
        let terminal = isatty(STDERR_FILENO) != 0
        try sim.run(duration: d, updateInterval: updateInterval.seconds, exitWithParent: exitWithParent) { elapsed, watts, label in
            let line = String(format: "%6.0fs  %6.2f W  %@", elapsed, watts, label)
            FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[2K" : "") + line + (terminal ? "" : "\n")).utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// `vrapl simulate fit`: the profile against its published ranges.
struct SimulateFit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Print the profile's fit against the published ranges (docs/simulator.md)."
    )

    @Option(help: "Simulator profile: a name under configs/sim/ or a YAML path.") var profile: String = "xeon-silver-4210r"

    func run() throws {
        let prof = try SimProfile.load(profile)
        let fitted = try ProfileFit.fit(prof)
        print("profile \(prof.name): \(prof.threads) threads, workers = threads")
        print("fitted: idle_w \(String(format: "%.3f", fitted.idleWatts)); class_w " +
              InstructionClass.allCases.map { "\($0.rawValue) \(String(format: "%.4f", fitted.classWatts[$0] ?? 0))" }.joined(separator: ", "))
        print("")
        print("| stressor | published W | midpoint | model E[P] (shipped) | simulated segment means, 24 hidden draws |")
        print("| --- | --- | --- | --- | --- |")
        let order = ["idle", "cpu", "cache", "vm", "pipe", "io", "syscall"]
        for name in order {
            guard let r = prof.published[name] else { continue }
            let e = ProfileFit.expectedPower(prof, stressor: name, workers: prof.threads)
            let means = try ProfileFit.simulatedSegmentMeans(prof, stressor: name)
            let avg = means.reduce(0, +) / Double(means.count)
            print(String(format: "| %@ | %.0f–%.0f | %.1f | %.2f | %.2f (%.2f–%.2f) |", name, r.lowerBound, r.upperBound,
                         (r.lowerBound + r.upperBound) / 2, e, avg, means.min() ?? 0, means.max() ?? 0))
        }
    }
}
