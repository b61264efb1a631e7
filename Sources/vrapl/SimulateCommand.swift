import ArgumentParser
import Foundation
import VraplCore
import VraplCampaign
import VraplSim
import VraplTrace

/// `vrapl simulate`: the hidden-state power simulator (docs/simulator.md).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Synthesise labelled traces from a campaign matrix, or keep a live powercap tree (--live).",
        discussion: """
        Synthetic:  vrapl simulate --matrix configs/campaigns/demo.yaml --profile xeon-silver-4210r --out DIR [--seed S] [--samples N | --scale X]
        Live:       vrapl simulate --live --powercap-dir DIR [--procfs /proc] [--profile P] [--interval 16ms] [--duration 60s]
                    then: vrapl-collect --sysfs DIR ...   (reads DIR/class/powercap/intel-rapl:0/energy_uj)
        Fit table:  vrapl simulate --fit --profile xeon-silver-4210r
        Everything it writes is labelled power_source = sim:<profile>.
        """
    )

    @Option(help: "Campaign matrix YAML (synthetic mode).") var matrix: String?
    @Option(help: "Simulator profile: a name under configs/sim/ or a YAML path.") var profile: String = "xeon-silver-4210r"
    @Option(help: "Output directory (synthetic mode).") var out: String?
    @Option(help: "Seed: the same seed gives the same trace.") var seed: UInt64 = 1
    @Option(help: "Target number of samples (scales every non-burst duration).") var samples: Int?
    @Option(help: "Multiply every non-burst duration by this factor.") var scale: Double?
    @Option(help: "Sample interval (16ms).") var interval: String = "16ms"
    @Flag(help: "Live mode: drive a powercap tree from this machine's /proc/stat.") var live = false
    @Option(help: "Live mode: root of the powercap tree to maintain (the collector's --sysfs).") var powercapDir: String?
    @Option(help: "Live mode: procfs root.") var procfs: String = "/proc"
    @Option(help: "Live mode: stop after this long (default: run until killed).") var duration: String?
    @Option(help: "Live mode: how often energy_uj advances (RAPL itself updates about every 1 ms).") var updateInterval: String = "2ms"
    @Option(help: "Live mode: the campaign's current-stressor file.") var stateFile: String = CampaignCurrent.defaultPath
    @Flag(help: "Live mode: stop when the parent process (a campaign) goes away.") var exitWithParent = false
    @Flag(help: "Print the profile's fit against the published ranges and exit.") var fit = false
    @Option(help: "Synthetic mode: guests of these vCPU counts share one host time line (e.g. 2,4,6,8); one trace per tenant, each its own schedule of the matrix.") var coTenants: String?

    func validate() throws {
        if fit { return }
        if live {
            guard powercapDir != nil else { throw ValidationError("--live needs --powercap-dir DIR") }
        } else {
            guard matrix != nil, out != nil else { throw ValidationError("synthetic mode needs --matrix and --out (or use --live / --fit)") }
            if samples != nil && scale != nil { throw ValidationError("give --samples or --scale, not both") }
        }
    }

    func run() throws {
        do {
            let prof = try SimProfile.load(profile)
            let dt = try DurationText.parse(interval, what: "--interval")
            guard dt > 0 else { throw VraplError("--interval must be positive") }
            if fit { try printFit(prof); return }
            if live { try runLive(prof, dt: dt); return }
            try runSynthetic(prof, dt: dt)
        } catch let e as VraplError {
            // A runtime error is one line ("Error: …"), not a usage screen.
            throw e
        }
    }

    func runCoTenants(_ prof: SimProfile, dt: Double, matrix m: CampaignMatrix, spec: String, outDir: String) throws {
        let sizes = try spec.split(separator: ",").map { item -> Int in
            guard let k = Int(item.trimmingCharacters(in: .whitespaces)), k >= 1 else {
                throw VraplError("--co-tenants must list positive vCPU counts such as 2,4,6,8 (got '\(item)')")
            }
            return k
        }
        var schedules: [SimSchedule] = []
        for (i, k) in sizes.enumerated() {
            var mk = m
            mk.tenancy = Tenancy(vcpus: [k], neighbourLoads: [0], neighbourStressors: [], rule: m.tenancy?.rule ?? .idleByAllocation)
            schedules.append(SimSchedule.build(matrix: mk, threads: prof.threads, seed: seed &+ UInt64(i), sampleInterval: dt,
                                               scale: scale ?? 1, targetSamples: samples))
        }
        // One time line: every schedule cut to the shortest (its last segments shortened).
        let length = schedules.map(\.totalSamples).min() ?? 0
        for i in schedules.indices {
            var excess = schedules[i].totalSamples - length
            while excess > 0, var last = schedules[i].segments.last {
                let cut = min(excess, last.samples)
                last.samples -= cut
                excess -= cut
                schedules[i].segments.removeLast()
                if last.samples > 0 { schedules[i].segments.append(last) }
            }
        }
        let tenants = sizes.enumerated().map { CoTenancy.Tenant(vcpus: $0.element, schedule: schedules[$0.offset], seed: seed &+ UInt64($0.offset)) }
        let traces = try CoTenancy.generate(profile: prof, tenants: tenants, rule: m.tenancy?.rule ?? .idleByAllocation, seed: seed,
                                            labels: ["sim_matrix": m.name])
        do {
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        } catch { throw VraplError("cannot create \(outDir): \(error.localizedDescription)") }
        for (i, trace) in traces.enumerated() {
            let path = outDir + "/\(m.name)-s\(seed)-tenant\(i + 1)-k\(sizes[i]).h5"
            try TraceWriter.write(trace, to: path)
            print("wrote \(path)")
        }
        print("  power source  sim:\(prof.name) (simulated, not measured)")
        print("  co-tenancy    vCPUs \(sizes.map(String.init).joined(separator: "+")) of \(prof.threads) threads, \(length) samples (\(DurationText.render(Double(length) * dt))) on one host time line")
    }

    func runSynthetic(_ prof: SimProfile, dt: Double) throws {
        guard let matrixPath = matrix, let outDir = out else { return }
        let m = try CampaignMatrix.load(path: matrixPath)
        if let spec = coTenants { try runCoTenants(prof, dt: dt, matrix: m, spec: spec, outDir: outDir); return }
        do { try m.tenancy?.validate(hostThreads: prof.threads) } catch let e as VraplError {
            throw VraplError("\(matrixPath): \(e.message) of profile \(prof.name)")
        }
        let schedule = SimSchedule.build(matrix: m, threads: prof.threads, seed: seed, sampleInterval: dt,
                                         scale: scale ?? 1, targetSamples: samples)
        do {
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        } catch { throw VraplError("cannot create \(outDir): \(error.localizedDescription)") }
        let path = outDir + "/\(m.name)-s\(seed).h5"
        let total = schedule.totalSamples
        let progress = ProgressReporter(label: "simulate", total: Double(total), unit: "samples")
        let t0 = Date()
        let cpu0 = SimulateCommand.cpuSeconds()
        let trace = try SyntheticGenerator(profile: prof, seed: seed).generate(
            schedule: schedule, labels: ["sim_matrix": m.name], tenancy: m.tenancy,
            progress: { progress.update(done: Double($0)) })
        let genSeconds = Date().timeIntervalSince(t0)
        let genCPU = SimulateCommand.cpuSeconds() - cpu0
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

    /// User + system CPU time of this process, seconds.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(0), &u)  // RUSAGE_SELF
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    func runLive(_ prof: SimProfile, dt: Double) throws {
        guard let dir = powercapDir else { return }
        let d = try duration.map { try DurationText.parse($0, what: "--duration") }
        let sim = try LiveSimulator(profile: prof, powercapDir: dir, procfs: procfs, interval: dt,
                                    stateFile: stateFile, seed: seed)
        FileHandle.standardError.write(Data("vrapl simulate --live: sim:\(prof.name) → \(dir)/class/powercap/intel-rapl:0/energy_uj every \(DurationText.render(dt)); label file \(stateFile)\n".utf8))
        let terminal = isatty(STDERR_FILENO) != 0
        let upd = try DurationText.parse(updateInterval, what: "--update-interval")
        try sim.run(duration: d, updateInterval: upd, exitWithParent: exitWithParent) { elapsed, watts, label in
            let line = String(format: "%6.0fs  %6.2f W  %@", elapsed, watts, label)
            FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[2K" : "") + line + (terminal ? "" : "\n")).utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func printFit(_ prof: SimProfile) throws {
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
            let means = try simulatedMeans(prof, stressor: name)
            let avg = means.reduce(0, +) / Double(means.count)
            print(String(format: "| %@ | %.0f–%.0f | %.1f | %.2f | %.2f (%.2f–%.2f) |", name, r.lowerBound, r.upperBound,
                         (r.lowerBound + r.upperBound) / 2, e, avg, means.min() ?? 0, means.max() ?? 0))
        }
    }

    /// Segment means (after 1 s) of 24 steady segments of `stressor` at `threads` workers, seed 42.
    func simulatedMeans(_ prof: SimProfile, stressor: String) throws -> [Double] {
        var segs: [ScheduledSegment] = []
        for i in 0..<24 {
            let st = stressor == "idle" ? [] : [Combination.Stressor(name: stressor, level: 1, workers: prof.threads)]
            segs.append(ScheduledSegment(name: "s\(i)", kind: st.isEmpty ? .idle : .steady, stressors: st, samples: 625, parameters: [:]))
        }
        let t = try SyntheticGenerator(profile: prof, seed: 42).generate(schedule: SimSchedule(segments: segs, sampleInterval: 0.016))
        let z = t.rapl[0]
        var out: [Double] = []
        var first = 0
        for s in segs {
            var sum = 0.0, n = 0.0
            for i in (first + 63)..<(first + s.samples) {
                let uj = energyDelta(previous: Microjoules(z.energyUj[i - 1]), current: Microjoules(z.energyUj[i]), maxRange: Microjoules(z.maxEnergyRangeUj)).value
                sum += Double(uj) / 1e6 / (Double(t.monotonicNs[i] - t.monotonicNs[i - 1]) / 1e9); n += 1
            }
            out.append(sum / n)
            first += s.samples
        }
        return out
    }
}
