#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore
import VraplSources
import VraplTrace

/// Runs a campaign matrix on this machine: for each combination, `vrapl-collect` records while
/// stress-ng runs, and the trace gets labelled segments (lead-in idle, the stressor, the cooldown
/// tail). Progress lives in `campaign.json`, so `--resume` skips finished combinations.
public final class CampaignRunner {
    public struct Options {
        public var outDir: String
        public var coreCount: Int = ProcessInfo.processInfo.activeProcessorCount
        /// stress-ng executable (name looked up in PATH, or a path).
        public var stressNG: String = "stress-ng"
        /// vrapl-collect executable.
        public var collector: String = CampaignRunner.defaultCollectorPath()
        /// Sample interval of every recording, ns.
        public var intervalNs: UInt64 = 16_000_000
        /// `16ms`: the interval as the collector and the simulator are told it.
        public var intervalText: String { DurationText.format(nanoseconds: intervalNs) }
        /// Idle recorded before stress-ng starts, seconds.
        public var leadIn: Double = 1
        public var resume = false
        /// Extra arguments for every collector run (e.g. `--power-source sim`).
        public var collectorArguments: [String] = []
        /// The current-stressor label file (read by `vrapl simulate live`).
        public var stateFile: String = CampaignCurrent.defaultPath
        /// `--sim-live`: run `vrapl simulate live` for the whole campaign and point the collector at it.
        public var simLive = false
        public var simProfile = "xeon-silver-4210r"
        /// The `vrapl` executable used for `--sim-live`.
        public var vrapl: String = CampaignRunner.selfPath()
        public var skipVersionCheck = false
        /// sysfs root: the online CPUs (`devices/system/cpu/online`) a `tenancy:` matrix is placed on.
        public var sysfs = "/sys"
        /// How placed stressors are held on their CPU set (`--confine`).
        public var confine: ConfinementChoice = .auto
        /// The cgroup v2 mount for the campaign's cpuset (`--cgroupfs`; nil: this host's, from
        /// /proc/self/mounts).
        public var cgroupfs: String? = nil
        public init(outDir: String) { self.outDir = outDir }
    }

    public let matrix: CampaignMatrix
    public let matrixFile: String
    public var options: Options
    /// Waiting, injectable so tests run instantly.
    public var sleep: (Double) -> Void = { s in if s > 0 { Thread.sleep(forTimeInterval: s) } }
    /// Log lines (progress), injectable.
    public var log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }

    public init(matrix: CampaignMatrix, matrixFile: String, options: Options) {
        self.matrix = matrix; self.matrixFile = matrixFile; self.options = options
    }

    /// The running executable's path (for `--sim-live` and to find vrapl-collect beside it).
    public static func selfPath() -> String {
        if let p = Bundle.main.executablePath { return p }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "vrapl").resolvingSymlinksInPath().path
    }

    /// `vrapl-collect` in the directory of the running `vrapl` binary.
    public static func defaultCollectorPath() -> String {
        URL(fileURLWithPath: selfPath()).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("vrapl-collect").path
    }

    /// This machine's online CPUs (sysfs), else 0 ..< coreCount.
    public var onlineCPUs: [Int] {
        if let text = try? TextFile.read(options.sysfs + "/devices/system/cpu/online"), let list = CPUList.parse(text), !list.isEmpty { return list }
        return Array(0..<options.coreCount)
    }

    /// The combinations to run: with `tenancy:`, placed on CPU sets of this machine (a set naming a CPU
    /// that is not online is refused).
    public func combinations() throws -> [Combination] {
        try matrix.placedCombinations(coreCount: options.coreCount, online: onlineCPUs)
    }

    /// The dry-run text: every combination, its stress-ng command, and the total time.
    public func dryRun() throws -> String {
        let combos = try combinations()
        var lines = ["campaign \(matrix.name): \(combos.count) combinations on \(options.coreCount) CPUs (\(matrix.combine.rawValue)), \(DurationText.render(matrix.duration)) each + \(DurationText.render(options.leadIn)) lead-in + \(DurationText.render(matrix.cooldown)) cooldown"]
        let width = String(combos.count).count
        for (i, c) in combos.enumerated() {
            let cmd = StressNG.arguments(for: c, extra: matrix.extraArguments, pinned: pinsWithTaskset).map { "stress-ng " + $0.joined(separator: " ") } ?? "(idle: no stress-ng)"
            let idx = String(repeating: " ", count: width - String(i + 1).count) + String(i + 1)
            lines.append("  \(idx). \(c.name)  family=\(c.family)  \(cmd)")
            if let n = StressNG.neighbourArguments(for: c, pinned: pinsWithTaskset) { lines.append("      neighbours: stress-ng " + n.joined(separator: " ")) }
        }
        if let t = matrix.tenancy {
            let plain = matrix.combinations(coreCount: options.coreCount).reduce(0.0) { $0 + options.leadIn + $1.duration + $1.cooldown }
            let placements = (try? t.placements(online: onlineCPUs).count) ?? 0
            lines.append("tenancy: \(placements) placements (CPU sets \((t.cpuSets ?? t.vcpus.map { Array(onlineCPUs.prefix($0)) }).map(CPUList.format).joined(separator: " ")) × neighbour loads \(t.neighbourLoads.map { String(format: "%g", $0) }.joined(separator: ", "))), \(confinementPlan()); the whole-machine matrix alone would take \(DurationText.render(plain))")
        }
        let total = combos.reduce(0.0) { $0 + options.leadIn + $1.duration + $1.cooldown }
        let samples = Int(total / (Double(options.intervalNs) / 1e9))
        lines.append("total: \(DurationText.render(total)) (\(Int(total.rounded())) s), about \(samples) samples at \(options.intervalText)")
        return lines.joined(separator: "\n")
    }

    /// The cgroup v2 mount a cpuset would go under.
    var cgroupRoot: String? { options.cgroupfs ?? CGroupMount.unifiedRoot() }

    /// Whether a dry run shows `--taskset` (no cpuset will be used).
    var pinsWithTaskset: Bool {
        options.confine == .affinity || cgroupRoot.map { CPUSetCGroup.unavailableReason(root: $0) != nil } ?? true
    }

    /// What `run()` will do to confine placed stressors, in words (for `--dry-run`).
    public func confinementPlan() -> String {
        if options.confine == .affinity { return "stressors pinned with stress-ng --taskset (--confine affinity)" }
        guard let root = cgroupRoot else {
            return options.confine == .cpuset ? "--confine cpuset: no cgroup v2 hierarchy on this host (the campaign will refuse to start)"
                : "stressors pinned with stress-ng --taskset (no cgroup v2 hierarchy on this host)"
        }
        if let reason = CPUSetCGroup.unavailableReason(root: root) {
            return options.confine == .cpuset ? "--confine cpuset: \(reason) (the campaign will refuse to start)"
                : "stressors pinned with stress-ng --taskset (\(reason))"
        }
        return "stressors confined in a cgroup v2 cpuset of the campaign's own under \(root)/vrapl-campaign-<pid>/{guest,neighbours}"
    }

    /// Sets up how placed stressors are confined: a cpuset of the campaign's own where `--confine`
    /// allows and the host offers one, else affinity. nil when no combination is placed.
    func makeConfinement(combinations combos: [Combination]) throws -> Confinement? {
        guard combos.contains(where: { $0.placement != nil }) else { return nil }
        if options.confine == .affinity { return .affinity(reason: "--confine affinity") }
        let fallback: (String) throws -> Confinement = { reason in
            if self.options.confine == .cpuset { throw VraplError("--confine cpuset: \(reason)") }
            self.log("confinement: stress-ng --taskset (\(reason))")
            return .affinity(reason: reason)
        }
        guard let root = cgroupRoot else { return try fallback("no cgroup v2 hierarchy on this host") }
        if let reason = CPUSetCGroup.unavailableReason(root: root) { return try fallback(reason) }
        do {
            let g = try CPUSetCGroup.create(root: root, group: "vrapl-campaign-\(getpid())")
            log("confinement: cgroup v2 cpuset \(g.directory)/{guest,neighbours}")
            return .cpuset(g)
        } catch let e as VraplError {
            return try fallback(e.message)
        }
    }

    /// Checks stress-ng for the stressors the matrix uses; throws one message listing every problem.
    public func checkStressNG() throws {
        var used = Array(Set(try combinations().flatMap { $0.stressors.map(\.name) })).sorted()
        if try combinations().contains(where: { StressNG.neighbourArguments(for: $0) != nil }), !used.contains("cpu") { used.append("cpu") }
        guard !used.isEmpty else { return }
        let probe = StressNG.probe(executable: options.stressNG)
        let problems = StressNG.problems(installed: probe.version, stressors: used, available: probe.stressors, executable: options.stressNG)
        if !problems.isEmpty { throw VraplError(problems.joined(separator: "\n")) }
    }

    /// Trace file name of a combination.
    public static func traceName(_ c: Combination, index: Int) -> String { String(format: "%04d-", index + 1) + c.name + ".h5" }

    /// Runs (or resumes) the campaign. Returns the manifest at the end.
    @discardableResult
    public func run() throws -> CampaignManifest {
        let fm = FileManager.default
        let dir = options.outDir
        // The state file's directory must be ours alone before anything runs (a root campaign writing
        // into a directory another user controls could be made to overwrite any file).
        try PrivateDirectory.ensure(URL(fileURLWithPath: options.stateFile).deletingLastPathComponent().path)
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw VraplError("cannot create \(dir): \(error.localizedDescription)")
        }
        let combos = try combinations()
        var manifest: CampaignManifest
        if let existing = try CampaignManifest.load(dir: dir) {
            guard options.resume else {
                throw VraplError("\(dir) already holds a campaign (\(existing.doneCount)/\(existing.entries.count) done): use --resume to continue it, or another --out")
            }
            guard existing.entries.map(\.name) == combos.map(\.name) else {
                throw VraplError("\(dir)/campaign.json was made from a different matrix or core count (\(existing.matrix), \(existing.coreCount) CPUs): cannot resume it with this one")
            }
            manifest = existing
            log("resuming \(matrix.name): \(manifest.doneCount)/\(combos.count) combinations already done")
        } else {
            manifest = CampaignManifest(matrix: matrix.name, matrixFile: matrixFile, coreCount: options.coreCount,
                                        powerSource: options.simLive ? .simulated(profile: options.simProfile) : .rapl,
                                        entries: combos.enumerated().map { i, c in
                                            .init(name: c.name, family: c.family, parameters: c.parameters, status: .pending,
                                                  trace: CampaignRunner.traceName(c, index: i))
                                        })
            try manifest.save(dir: dir)
        }
        if !options.skipVersionCheck { try checkStressNG() }
        guard fm.isExecutableFile(atPath: options.collector) else {
            throw VraplError("vrapl-collect not found at \(options.collector): build it (swift build -c release) or pass --collector PATH")
        }

        var live: Process? = nil
        var collectorArgs = options.collectorArguments
        if options.simLive {
            let sysfs = dir + "/sim-sysfs"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: options.vrapl)
            p.arguments = ["simulate", "live", "--powercap-dir", sysfs, "--profile", options.simProfile,
                           "--interval", options.intervalText, "--state-file", options.stateFile, "--exit-with-parent"]
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { throw VraplError("cannot start \(options.vrapl) simulate live: \(error.localizedDescription)") }
            live = p
            let energy = sysfs + "/class/powercap/intel-rapl:0/energy_uj"
            var waited = 0.0
            while !fm.fileExists(atPath: energy) && waited < 10 { usleep(50_000); waited += 0.05 }
            guard fm.fileExists(atPath: energy) else {
                p.terminate()
                throw VraplError("vrapl simulate live did not create \(energy) within 10 s")
            }
            collectorArgs += ["--sysfs", sysfs]
            log("sim-live: vrapl simulate live → \(sysfs) (pid \(p.processIdentifier))")
        }
        let confinement = try makeConfinement(combinations: combos)
        if let conf = confinement { collectorArgs += ["--label", "confinement=\(conf.label)"] }
        defer {
            if case .cpuset(let g)? = confinement { g.remove() }
            if let p = live, p.isRunning { p.terminate(); p.waitUntilExit() }
            try? CampaignCurrent(name: "idle", family: "idle", stressors: []).write(path: options.stateFile)
        }

        for (i, c) in combos.enumerated() where manifest.entries[i].status != .done {
            log("[\(i + 1)/\(combos.count)] \(c.name): \(DurationText.render(c.duration)) + \(DurationText.render(c.cooldown)) cooldown")
            manifest.entries[i].status = .running
            manifest.entries[i].message = nil
            try manifest.save(dir: dir)
            do {
                let (start, end) = try runOne(c, index: i, traceFile: dir + "/" + manifest.entries[i].trace, collectorArgs: collectorArgs,
                                              confinement: confinement)
                manifest.entries[i].stressStartNs = start
                manifest.entries[i].stressEndNs = end
                manifest.entries[i].status = .done
                try manifest.save(dir: dir)
            } catch {
                manifest.entries[i].status = .failed
                manifest.entries[i].message = "\(error)"
                try? manifest.save(dir: dir)
                throw VraplError("combination \(c.name) failed: \(error). Fix the cause and rerun with --resume (finished combinations are kept).")
            }
        }
        log("campaign \(matrix.name) done: \(combos.count) combinations, traces and campaign.json in \(dir)")
        return manifest
    }

    static func wallNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// One combination: collector for lead-in + duration + cooldown, stress-ng in the middle.
    func runOne(_ c: Combination, index: Int, traceFile: String, collectorArgs: [String],
                confinement: Confinement? = nil) throws -> (Int64, Int64) {
        var cgroup: CPUSetCGroup? = nil
        if case .cpuset(let g)? = confinement, let p = c.placement {
            try g.assign(.guest, cpus: p.cpus)
            if !p.neighbourCPUs.isEmpty { try g.assign(.neighbours, cpus: p.neighbourCPUs) }
            cgroup = g
        }
        let pinned = cgroup == nil
        try? FileManager.default.removeItem(atPath: traceFile)  // a partial trace from an interrupted run
        let idle = CampaignCurrent(name: "idle", family: "idle", stressors: [])
        let current = CampaignCurrent(name: c.name, family: c.family, stressors: c.stressors.map { .init(name: $0.name, workers: $0.workers) })
        try idle.write(path: options.stateFile)
        let total = options.leadIn + c.duration + max(c.cooldown, 0.5)
        var args = ["--out", traceFile, "--interval", options.intervalText, "--duration", String(format: "%.3fs", total),
                    "--label", "campaign=\(matrix.name)", "--label", "combination=\(c.name)"]
        for (k, v) in c.parameters.sorted(by: { $0.key < $1.key }) { args += ["--label", "\(k)=\(v)"] }
        args += collectorArgs
        let collector = Process()
        collector.executableURL = URL(fileURLWithPath: options.collector)
        collector.arguments = args
        do { try collector.run() } catch { throw VraplError("cannot start \(options.collector): \(error.localizedDescription)") }
        sleep(options.leadIn)
        try current.write(path: options.stateFile)
        let start = CampaignRunner.wallNs()
        // Neighbours on the other CPUs, for the whole stress window (idle combinations included).
        var neighbour: Process?
        if let nargs = StressNG.neighbourArguments(for: c, pinned: pinned) {
            neighbour = try startStressNG(nargs, what: "the neighbours' stress-ng", collector: collector,
                                          cgroup: cgroup, leaf: .neighbours)
        }
        defer { if let n = neighbour, n.isRunning { n.terminate(); n.waitUntilExit() } }
        if let sargs = StressNG.arguments(for: c, extra: matrix.extraArguments, pinned: pinned) {
            let stress = try startStressNG(sargs, what: "stress-ng", collector: collector, cgroup: cgroup, leaf: .guest)
            stress.waitUntilExit()
            if stress.terminationStatus != 0 {
                collector.terminate(); collector.waitUntilExit()
                if let g = cgroup, stress.terminationStatus == 125 {
                    throw VraplError("stress-ng could not be moved into the cgroup \(g.path(.guest)) (writing its cgroup.procs failed)")
                }
                throw VraplError("stress-ng \(sargs.joined(separator: " ")) exited with status \(stress.terminationStatus)")
            }
        } else {
            sleep(c.duration)
        }
        if let n = neighbour { n.waitUntilExit() }
        let end = CampaignRunner.wallNs()
        try idle.write(path: options.stateFile)
        collector.waitUntilExit()
        guard collector.terminationStatus == 0 else {
            throw VraplError("vrapl-collect exited with status \(collector.terminationStatus) (\(options.collector) \(args.joined(separator: " ")))")
        }
        try labelSegments(traceFile: traceFile, combination: c, stressStartNs: start, stressEndNs: end)
        return (start, end)
    }

    /// Starts stress-ng (a path, or a name looked up in PATH) with `arguments`, inside `leaf` of
    /// `cgroup` when there is one; on failure stops the collector and throws naming `what`.
    func startStressNG(_ arguments: [String], what: String, collector: Process,
                       cgroup: CPUSetCGroup? = nil, leaf: CPUSetCGroup.Leaf = .guest) throws -> Process {
        let p = Process()
        if let g = cgroup {
            let wrapped = g.wrap(options.stressNG, arguments, in: leaf)
            p.executableURL = URL(fileURLWithPath: wrapped.executable); p.arguments = wrapped.arguments
        } else if options.stressNG.contains("/") {
            p.executableURL = URL(fileURLWithPath: options.stressNG); p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env"); p.arguments = [options.stressNG] + arguments
        }
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            collector.terminate()
            throw VraplError("cannot start \(what): \(error.localizedDescription)")
        }
        return p
    }

    /// Adds the lead-in, stressor and cooldown segments to the collector's trace (by wall clock),
    /// rewriting the file through a temporary copy.
    public func labelSegments(traceFile: String, combination c: Combination, stressStartNs: Int64, stressEndNs: Int64) throws {
        guard FileManager.default.fileExists(atPath: traceFile) else { throw VraplError("collector wrote no trace at \(traceFile)") }
        var trace = try TraceReader.read(traceFile)
        trace.segments = CampaignRunner.segments(wallClockNs: trace.wallClockNs, combination: c,
                                                 stressStartNs: stressStartNs, stressEndNs: stressEndNs)
        if options.simLive {
            // The collector read a simulated powercap tree through its RAPL reader: say so.
            trace.metadata.powerSource = .simulated(profile: options.simProfile)
            trace.metadata.labels["sim_live"] = "vrapl simulate live (\(options.simProfile)) via --sysfs"
        }
        let tmp = traceFile + ".tmp.h5"
        try TraceWriter.write(trace, to: tmp)
        guard rename(tmp, traceFile) == 0 else { throw VraplError("cannot rename \(tmp) to \(traceFile)") }
    }

    /// Segments for one combination's trace: samples before stress-ng started (`<name>-lead-in`, idle),
    /// while it ran (`<name>`, the combination's parameters), after (`<name>-cooldown`, idle).
    public static func segments(wallClockNs w: [Int64], combination c: Combination, stressStartNs: Int64, stressEndNs: Int64) -> [TraceSegment] {
        guard !w.isEmpty else { return [] }
        let first = w.firstIndex { $0 >= stressStartNs } ?? w.count
        let afterEnd = w.firstIndex { $0 > stressEndNs } ?? w.count
        var out: [TraceSegment] = []
        var idleParams = ["family": "idle", "stressor": "idle", "workers": "0"]
        // The guest of a placed combination is its CPU set before and after the stressor too (no neighbours then).
        if let p = c.placement { idleParams.merge(CPUPlacement(cpus: p.cpus).parameters) { _, new in new } }
        if first > 0 {
            var p = idleParams; p["kind"] = "lead-in"
            out.append(TraceSegment(name: "\(c.name)-lead-in", firstSample: 0, lastSample: first - 1, parameters: p))
        }
        if afterEnd > first {
            out.append(TraceSegment(name: c.name, firstSample: first, lastSample: afterEnd - 1, parameters: c.parameters))
        }
        if afterEnd < w.count {
            var p = idleParams; p["kind"] = "cooldown"
            out.append(TraceSegment(name: "\(c.name)-cooldown", firstSample: afterEnd, lastSample: w.count - 1, parameters: p))
        }
        return out
    }
}
