import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplCampaign

/// The shipped campaign matrices (configs/campaigns).
enum CampaignFixtures {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func campaign(_ name: String) -> String { repoRoot.appendingPathComponent("configs/campaigns/\(name).yaml").path }
}

@Suite("Campaign matrix, dry run, stress-ng check, resume")
struct CampaignTests {
    @Test("shipped matrices parse; combination counts")
    func shippedMatrices() throws {
        let quick = try CampaignMatrix.load(path: CampaignFixtures.campaign("quick"))
        #expect(quick.combinations(coreCount: 2).count == 7)
        #expect(quick.combinations(coreCount: 2).map(\.name).prefix(2) == ["idle", "cpu-2"])
        let full = try CampaignMatrix.load(path: CampaignFixtures.campaign("stress-matrix"))
        // 5 × 5 × 3^4 (levels plus zero), the all-zero cell being idle.
        #expect(full.combinations(coreCount: 20).count == 2025)
        #expect(full.combinations(coreCount: 20).first?.isIdle == true)
        let demo = try CampaignMatrix.load(path: CampaignFixtures.campaign("demo"))
        #expect(demo.combinations(coreCount: 20).count == (1 + 6 * 4) * 3)
        #expect(demo.synthetic.burstCount == 60)
        let live = try CampaignMatrix.load(path: CampaignFixtures.campaign("live"))
        #expect(live.combinations(coreCount: 20).count == 81)  // 3^4, idle included
    }

    @Test("matrix parsing: levels to workers, families, names, repeats")
    func parsing() throws {
        let m = try CampaignMatrix.parse(yaml: """
        name: t
        stressors: [cpu, vm]
        levels: [0.5, 1.0]
        levels_per_stressor: {vm: [0.25]}
        combine: cartesian
        idle: false
        repeats: 2
        duration: 1m
        cooldown: 500ms
        """)
        #expect(m.duration == 60 && m.cooldown == 0.5)
        let c = m.combinations(coreCount: 8)
        // (1 + 2) × (1 + 1) − 1 (no idle) = 5 cells, × 2 repeats.
        #expect(c.count == 10)
        #expect(c.map(\.name).contains("cpu-4+vm-2-r2"))
        let mixed = c.first { $0.name == "cpu-4+vm-2-r1" }
        #expect(mixed?.family == "cpu")
        #expect(mixed?.parameters["workers"] == "4+2")
        #expect(mixed?.parameters["stressor"] == "cpu+vm")
        #expect(c.first { $0.name == "vm-2-r1" }?.family == "vm")
    }

    @Test("bad matrices name the problem",
          arguments: [
            ("stressors: []", "stressors"),
            ("stressors: [cpu]\nlevels: [0]", "levels"),
            ("stressors: [cpu]\ncombine: all", "combine"),
            ("stressors: [cpu]\nduration: soon", "duration"),
            ("stressors: [cpu]\nlevels_per_stressor: {vm: [1]}", "vm"),
            ("stressors: [cpu]\nfoo: 1", "foo"),
            ("stressors: [cpu]\nsynthetic: {burts: 3}", "unknown key 'synthetic.burts'"),
            ("stressors: [cpu]\nsynthetic: {bursts: many}", "'synthetic.bursts' must be an integer"),
            ("stressors: [cpu]\ntenancy: {vcpus: [2], rules: active-only}", "unknown key 'tenancy.rules'"),
          ])
    func badMatrices(text: String, fragment: String) {
        #expect { _ = try CampaignMatrix.parse(yaml: text) } throws: { "\($0)".contains(fragment) }
    }

    @Test("dry run lists every combination with its stress-ng command and the total time")
    func dryRun() throws {
        let m = try CampaignMatrix.load(path: CampaignFixtures.campaign("quick"))
        var o = CampaignRunner.Options(outDir: "/nonexistent")
        o.coreCount = 2
        let text = try CampaignRunner(matrix: m, matrixFile: "quick.yaml", options: o).dryRun()
        #expect(text.contains("stress-ng --cpu 2 --timeout 8s"))
        #expect(text.contains("stress-ng --vm 2 --vm-bytes 64M --timeout 8s"))
        #expect(text.contains("idle  family=idle  (idle: no stress-ng)"))
        // 7 × (1 s lead-in + 8 s + 3 s) = 84 s
        #expect(text.contains("total: 1m24s (84 s)"))
    }

    @Test("tenancy on a real machine: each combination pinned to a CPU set of the online CPUs, neighbours on the rest; a set that is not online is refused")
    func placedCampaign() throws {
        let sysfs = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-sysfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: sysfs.appendingPathComponent("devices/system/cpu"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: sysfs) }
        try "0-3\n".write(to: sysfs.appendingPathComponent("devices/system/cpu/online"), atomically: true, encoding: .utf8)
        let m = try CampaignMatrix.parse(yaml: """
        stressors: [cpu]
        levels: [1.0]
        duration: 4s
        tenancy: {vcpus: [2, 4], neighbour_load: [0, 0.5]}
        """)
        var o = CampaignRunner.Options(outDir: "/nonexistent")
        o.coreCount = 4
        o.sysfs = sysfs.path
        let runner = CampaignRunner(matrix: m, matrixFile: "t.yaml", options: o)
        let combos = try runner.combinations()
        // k = 2 alone and beside a half load on CPUs 2-3; k = 4 fills the machine: one placement.
        #expect(combos.map(\.name) == ["idle-on0-1", "cpu-2-on0-1", "idle-on0-1-n0.5", "cpu-2-on0-1-n0.5", "idle-on0-3", "cpu-4-on0-3"])
        let c = combos[3]
        #expect(StressNG.arguments(for: c) == ["--cpu", "2", "--taskset", "0-1", "--timeout", "4s"])
        #expect(StressNG.neighbourArguments(for: c) == ["--cpu", "2", "--cpu-load", "50", "--taskset", "2-3", "--timeout", "4s"])
        #expect(c.parameters["vcpus"] == "2" && c.parameters["cpus"] == "0-1" && c.parameters["neighbour_load"] == "0.5" && c.parameters["neighbour_cpus"] == "2-3")
        let text = try runner.dryRun()
        #expect(text.contains("neighbours: stress-ng --cpu 2 --cpu-load 50 --taskset 2-3 --timeout 4s") && text.contains("tenancy: 3 placements"))
        // Lead-in and cooldown segments of a placed run carry its CPU set (the guest is idle then).
        let segs = CampaignRunner.segments(wallClockNs: [0, 10, 20, 30], combination: c, stressStartNs: 10, stressEndNs: 20)
        #expect(segs.first?.parameters["cpus"] == "0-1" && segs.first?.parameters["neighbour_load"] == "0")

        // A CPU set this machine does not have.
        for yaml in ["tenancy: {cpus: [\"2-5\"]}", "tenancy: {vcpus: [8]}"] {
            let bad = try CampaignMatrix.parse(yaml: "stressors: [cpu]\nduration: 4s\n" + yaml)
            #expect { _ = try CampaignRunner(matrix: bad, matrixFile: "b.yaml", options: o).combinations() } throws: { "\($0)".contains("online") && "\($0)".contains("0-3") }
        }
    }

    /// A fixture cgroup v2 root: `cgroup.controllers` listing `controllers`, an empty subtree_control.
    static func fixtureCGroupRoot(_ dir: String, controllers: String) throws -> String {
        let root = dir + "/cgroupfs"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try (controllers + "\n").write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        try "\n".write(toFile: root + "/cgroup.subtree_control", atomically: true, encoding: .utf8)
        return root
    }

    /// A placed two-CPU campaign (cpu on CPUs 0-1, neighbours at half load on 2-3) run with a fake
    /// collector that logs its arguments and a fake stress-ng that logs its pid and arguments.
    static func runPlaced(dir: String, confine: ConfinementChoice, cgroupfs: String) throws -> (stress: [String], collector: String, log: [String]) {
        let template = dir + "/template.h5"
        try TraceWriter.write(SyntheticTrace.make(samples: 50), to: template)
        let collector = dir + "/vrapl-collect"
        try script(collector, """
        #!/bin/sh
        echo "$*" >> \(dir)/collector.log
        while [ $# -gt 0 ]; do [ "$1" = --out ] && out="$2"; shift; done
        cp \(template) "$out"
        """)
        let stress = dir + "/stress-ng"
        try script(stress, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'stress-ng, version 0.15.06'; exit 0; fi\necho \"$$ $*\" >> \(dir)/stress.log\nexit 0\n")
        let sysfs = dir + "/sysfs"
        try FileManager.default.createDirectory(atPath: sysfs + "/devices/system/cpu", withIntermediateDirectories: true)
        try "0-3\n".write(toFile: sysfs + "/devices/system/cpu/online", atomically: true, encoding: .utf8)
        let m = try CampaignMatrix.parse(yaml: "name: p\nstressors: [cpu]\nlevels: [1.0]\nidle: false\nduration: 1s\ncooldown: 0s\ntenancy: {vcpus: [2], neighbour_load: [0.5]}\n")
        var o = CampaignRunner.Options(outDir: dir + "/out")
        o.coreCount = 4; o.collector = collector; o.stressNG = stress; o.leadIn = 0; o.sysfs = sysfs
        o.stateFile = dir + "/current.json"; o.confine = confine; o.cgroupfs = cgroupfs
        let runner = CampaignRunner(matrix: m, matrixFile: "p.yaml", options: o)
        runner.sleep = { _ in }
        var log: [String] = []
        runner.log = { log.append($0) }
        try runner.run()
        let stressLog = try String(contentsOfFile: dir + "/stress.log", encoding: .utf8).split(separator: "\n").map(String.init)
        return (stressLog, try String(contentsOfFile: dir + "/collector.log", encoding: .utf8), log)
    }

    @Test("a placed campaign confines stress-ng in a cgroup v2 cpuset of its own: +cpuset enabled, guest and neighbour leaves on their CPU sets, each stress-ng started inside its leaf")
    func cpusetConfinement() throws {
        let dir = try Scratch.path()
        let root = try Self.fixtureCGroupRoot(dir, controllers: "cpuset cpu io memory pids")
        let run = try Self.runPlaced(dir: dir, confine: .auto, cgroupfs: root)
        let group = root + "/vrapl-campaign-\(getpid())"
        #expect(try String(contentsOfFile: root + "/cgroup.subtree_control", encoding: .utf8) == "+cpuset")
        #expect(try String(contentsOfFile: group + "/cgroup.subtree_control", encoding: .utf8) == "+cpuset")
        #expect(try String(contentsOfFile: group + "/guest/cpuset.cpus", encoding: .utf8) == "0-1")
        #expect(try String(contentsOfFile: group + "/neighbours/cpuset.cpus", encoding: .utf8) == "2-3")
        // Each stress-ng ran as the pid its shell wrote into its leaf's cgroup.procs, with no --taskset.
        let guestPid = try String(contentsOfFile: group + "/guest/cgroup.procs", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let neighbourPid = try String(contentsOfFile: group + "/neighbours/cgroup.procs", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(run.stress.contains("\(guestPid) --cpu 2 --timeout 1s"), "\(run.stress)")
        #expect(run.stress.contains("\(neighbourPid) --cpu 2 --cpu-load 50 --timeout 1s"), "\(run.stress)")
        #expect(!run.stress.joined().contains("--taskset"))
        #expect(run.collector.contains("--label confinement=cpuset:\(group)"))
        #expect(run.log.contains { $0.contains("cgroup v2 cpuset \(group)") })
    }

    @Test("without a cgroup v2 cpuset controller the campaign falls back to --taskset and says why; --confine cpuset refuses; an existing group is refused")
    func cpusetFallback() throws {
        let dir = try Scratch.path()
        // A hybrid host: the v2 tree offers hugetlb only (cpuset is bound to cgroup v1).
        let root = try Self.fixtureCGroupRoot(dir, controllers: "hugetlb")
        let run = try Self.runPlaced(dir: dir, confine: .auto, cgroupfs: root)
        #expect(run.stress.contains { $0.hasSuffix(" --cpu 2 --taskset 0-1 --timeout 1s") }, "\(run.stress)")
        #expect(run.stress.contains { $0.hasSuffix(" --cpu 2 --cpu-load 50 --taskset 2-3 --timeout 1s") }, "\(run.stress)")
        #expect(run.collector.contains("--label confinement=affinity"))
        #expect(run.log.contains { $0.contains("--taskset") && $0.contains("offers no cpuset controller") && $0.contains("hugetlb") }, "\(run.log)")
        #expect(!FileManager.default.fileExists(atPath: root + "/vrapl-campaign-\(getpid())"))

        let strict = try Scratch.path()
        let strictRoot = try Self.fixtureCGroupRoot(strict, controllers: "hugetlb")
        #expect { _ = try Self.runPlaced(dir: strict, confine: .cpuset, cgroupfs: strictRoot) } throws: { "\($0)".contains("--confine cpuset") && "\($0)".contains("no cpuset controller") }
        let full = try Self.fixtureCGroupRoot(strict + "/x", controllers: "cpuset")
        try FileManager.default.createDirectory(atPath: full + "/taken", withIntermediateDirectories: true)
        #expect(throws: VraplError.self) { try CPUSetCGroup.create(root: full, group: "taken") }
    }

    @Test("stress-ng versions parse and compare; old or missing stress-ng gets a clear message")
    func versionCheck() {
        let v = StressNGVersion(parsing: "stress-ng, version 0.15.06 (gcc 12.2.0, x86_64 Linux 6.1.0) 💻🔥")
        #expect(v?.parts == [0, 15, 6])
        #expect(v?.description == "0.15.06")
        #expect(StressNGVersion(parsing: "0.13.12")! < StressNGVersion(parsing: "0.15.06")!)
        #expect(StressNGVersion(parsing: "nonsense") == nil)
        let old = StressNG.problems(installed: StressNGVersion([0, 14, 0]), stressors: ["cpu", "syscall"])
        #expect(old == ["stress-ng 0.14.00 is too old for --syscall: needs stress-ng ≥ 0.15.06"])
        let fine = StressNG.problems(installed: StressNGVersion([0, 15, 6]), stressors: ["cpu", "syscall", "vm"])
        #expect(fine.isEmpty)
        let missing = StressNG.problems(installed: nil, stressors: ["cpu", "syscall"])
        #expect(missing.count == 1 && missing[0].contains("stress-ng not found") && missing[0].contains("--syscall (needs stress-ng ≥ 0.15.06)"))
        let noStressor = StressNG.problems(installed: StressNGVersion([0, 17, 0]), stressors: ["cache"], available: ["cpu", "vm"])
        #expect(noStressor.count == 1 && noStressor[0].contains("no 'cache' stressor"))
    }

    @Test("the installed stress-ng (if any) is probed through its --version output")
    func probeFake() throws {
        let dir = try Scratch.path()
        let fake = dir + "/stress-ng"
        try script(fake, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'stress-ng, version 0.13.01 (gcc 9)'; else echo 'cpu vm pipe'; fi\n")
        let p = StressNG.probe(executable: fake)
        #expect(p.version == StressNGVersion([0, 13, 1]))
        #expect(p.stressors == ["cpu", "vm", "pipe"])
        #expect(StressNG.probe(executable: dir + "/absent").version == nil)
    }

    @Test("segments of a combination's trace follow the stress-ng wall-clock times")
    func segmentsByWallClock() {
        let w: [Int64] = (0..<10).map { 1000 + Int64($0) * 100 }  // 1000 … 1900
        let c = Combination(stressors: [.init(name: "cpu", level: 1, workers: 2)], duration: 1, cooldown: 1)
        let s = CampaignRunner.segments(wallClockNs: w, combination: c, stressStartNs: 1250, stressEndNs: 1600)
        #expect(s.map(\.name) == ["cpu-2-lead-in", "cpu-2", "cpu-2-cooldown"])
        #expect(s[0].firstSample == 0 && s[0].lastSample == 2)
        #expect(s[1].firstSample == 3 && s[1].lastSample == 6 && s[1].parameters["family"] == "cpu")
        #expect(s[2].firstSample == 7 && s[2].lastSample == 9 && s[2].parameters["family"] == "idle")
    }

    @Test("resume: an interrupted campaign continues without redoing finished combinations")
    func resume() throws {
        let dir = try Scratch.path()
        // A small real trace for the fake collector to "record".
        let template = dir + "/template.h5"
        try TraceWriter.write(SyntheticTrace.make(samples: 50), to: template)
        let log = dir + "/calls.log"
        // Fake collector: logs the combination, fails while $dir/fail-<name> exists, else copies the template.
        let collector = dir + "/vrapl-collect"
        try script(collector, """
        #!/bin/sh
        out=""; combo=""
        while [ $# -gt 0 ]; do
          case "$1" in
            --out) out="$2"; shift ;;
            --label) case "$2" in combination=*) combo="${2#combination=}" ;; esac; shift ;;
          esac
          shift
        done
        echo "$combo" >> \(log)
        if [ -e "\(dir)/fail-$combo" ]; then exit 3; fi
        cp \(template) "$out"
        """)
        let m = try CampaignMatrix.parse(yaml: "name: r\nstressors: [cpu, vm]\nlevels: [1.0]\nduration: 1s\ncooldown: 0s\n")
        var o = try quietOptions(dir: dir, collector: collector, stateFile: dir + "/current.json")
        // First run: vm-2 fails (as if interrupted there).
        FileManager.default.createFile(atPath: dir + "/fail-vm-2", contents: Data())
        var runner = CampaignRunner(matrix: m, matrixFile: "r.yaml", options: o)
        runner.sleep = { _ in }
        runner.log = { _ in }
        #expect(throws: (any Error).self) { try runner.run() }
        var manifest = try CampaignManifest.load(dir: dir + "/out")
        #expect(manifest?.entries.map(\.status) == [.done, .done, .failed])
        // Without --resume the directory is refused.
        #expect(throws: (any Error).self) { try runner.run() }
        // Resume after fixing the cause: only vm-2 runs again.
        try FileManager.default.removeItem(atPath: dir + "/fail-vm-2")
        o.resume = true
        runner = CampaignRunner(matrix: m, matrixFile: "r.yaml", options: o)
        runner.sleep = { _ in }
        runner.log = { _ in }
        try runner.run()
        manifest = try CampaignManifest.load(dir: dir + "/out")
        #expect(manifest?.entries.map(\.status) == [.done, .done, .done])
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(calls == ["idle", "cpu-2", "vm-2", "vm-2"])
        // The trace carries the combination's segment(s).
        let t = try TraceReader.read(dir + "/out/0002-cpu-2.h5")
        #expect(!t.segments.isEmpty)
        #expect(t.segments.allSatisfy { $0.parameters["family"] == "cpu" || $0.parameters["family"] == "idle" })
        // A different matrix cannot resume this directory.
        let other = try CampaignMatrix.parse(yaml: "name: r\nstressors: [pipe]\nlevels: [1.0]\nduration: 1s\n")
        let r2 = CampaignRunner(matrix: other, matrixFile: "x.yaml", options: o)
        #expect(throws: (any Error).self) { try r2.run() }
    }

    /// The reliability probe's attack (F1): as root, a campaign whose state directory an unprivileged
    /// user pre-created, with symbolic links at the old writer's predictable temporary names pointing
    /// at a root-owned mode-600 file. The campaign must refuse before running anything and leave the
    /// file alone.
    @Test(.enabled(if: getuid() == 0, "the attack needs root to hand a directory to another user"))
    func stateDirectoryOfAnotherUserIsRefused() throws {
        let dir = try Scratch.path()
        let victim = dir + "/important.conf"
        try "root only\n".write(toFile: victim, atomically: true, encoding: .utf8)
        chmod(victim, 0o600)
        let state = dir + "/vrapl-campaign"
        mkdir(state, 0o755)
        for pid in getpid()..<(getpid() + 3000) { symlink(victim, state + "/.current.json.tmp-\(pid)") }
        #expect(chown(state, 65534, 65534) == 0)
        let collector = dir + "/vrapl-collect"
        try script(collector, "#!/bin/sh\necho called >> \(dir)/collector.log\nexit 0\n")
        let m = try CampaignMatrix.parse(yaml: "name: attack\nstressors: [cpu]\nlevels: [1.0]\nduration: 1s\ncooldown: 0s\n")
        let o = try quietOptions(dir: dir, collector: collector, stateFile: state + "/current.json")
        var runner = CampaignRunner(matrix: m, matrixFile: "attack.yaml", options: o)
        runner.sleep = { _ in }
        runner.log = { _ in }
        #expect { try runner.run() } throws: { "\($0)".contains("owned by uid 65534") && "\($0)".contains(state) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "root only\n")
        #expect(!FileManager.default.fileExists(atPath: dir + "/collector.log"), "a combination ran")
    }
}

/// Campaign options for a run in `dir` with a stress-ng that only answers `--version` (0.15.06),
/// the given collector stand-in, 2 CPUs and no lead-in; output in `dir/out`.
func quietOptions(dir: String, collector: String, stateFile: String) throws -> CampaignRunner.Options {
    let stress = dir + "/stress-ng"
    try script(stress, "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'stress-ng, version 0.15.06'; fi\nexit 0\n")
    var o = CampaignRunner.Options(outDir: dir + "/out")
    o.coreCount = 2; o.collector = collector; o.stressNG = stress; o.leadIn = 0
    o.stateFile = stateFile
    return o
}

func script(_ path: String, _ text: String) throws {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
}
