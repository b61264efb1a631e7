import ArgumentParser
import Foundation
import VraplCampaign
import VraplCommandLine
import VraplCore
import VraplSim

/// `vrapl campaign`: the resumable stress-ng matrix, recorded by vrapl-collect.
struct CampaignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign",
        abstract: "Run a stress-ng campaign matrix, recording each combination with vrapl-collect.",
        discussion: """
        One trace per combination (NNNN-<combination>.h5) with labelled segments (lead-in idle, the
        stressor, cooldown) plus campaign.json (status of every combination) in --out. An interrupted
        campaign continues with --resume. --sim-live runs `vrapl simulate live` alongside and points
        the collector at its powercap tree, for machines without RAPL (traces then say sim:<profile>
        in campaign.json; the collector records the tree through its RAPL reader).
        """
    )

    @Option(help: "Campaign matrix YAML (configs/campaigns/*.yaml).") var matrix: String
    @Option(help: "Output directory.") var out: String?
    @Flag(help: "Print the combinations and the total time; run nothing.") var dryRun = false
    @Flag(help: "Continue the campaign in --out, skipping finished combinations.") var resume = false
    @Flag(help: "Run the live simulator for machines without RAPL.") var simLive = false
    @Option(help: "Simulator profile for --sim-live.") var profile: String = "xeon-silver-4210r"
    @Option(help: "CPUs the worker levels are fractions of (default: this machine's).") var cores: Int?
    @Option(help: "stress-ng executable.") var stressNg: String = "stress-ng"
    @Option(help: "vrapl-collect executable (default: beside this vrapl).") var collector: String?
    @Option(help: "Sample interval (default 16ms).", transform: DurationArgument.parse) var interval: DurationArgument = .milliseconds(16)
    @Option(help: "Idle recorded before each stressor starts (default 1s).", transform: DurationArgument.parse) var leadIn: DurationArgument = .seconds(1)
    @Option(help: "Current-stressor label file (read by vrapl simulate live).") var stateFile: String = CampaignCurrent.defaultPath
    @Option(parsing: .unconditionalSingleValue, help: "Extra argument for every vrapl-collect run (repeatable).") var collectorArg: [String] = []
    @Flag(help: "Do not check the stress-ng version.") var skipVersionCheck = false
    @Option(help: "How placed stressors (a tenancy: matrix) are held on their CPU set: auto (a cgroup v2 cpuset of the campaign's own where the host offers the controller, else stress-ng --taskset), cpuset (or fail), affinity.")
    var confine: ConfinementChoice = .auto
    @OptionGroup(title: "Host trees (cgroupfs for the cpuset, sysfs for the online CPUs)") var roots: HostRoots

    func validate() throws {
        if !dryRun && out == nil { throw ValidationError("--out DIR is required (or use --dry-run)") }
    }

    func run() throws {
        do {
            let m = try CampaignMatrix.load(path: matrix)
            var opts = CampaignRunner.Options(outDir: out ?? ".")
            if let c = cores { opts.coreCount = max(1, c) }
            opts.stressNG = stressNg
            if let c = collector { opts.collector = c }
            opts.intervalNs = interval.nanoseconds
            opts.leadIn = leadIn.seconds
            opts.resume = resume
            opts.simLive = simLive
            opts.simProfile = profile
            opts.stateFile = stateFile
            opts.collectorArguments = collectorArg
            opts.skipVersionCheck = skipVersionCheck
            opts.confine = confine
            opts.cgroupfs = roots.cgroupfs
            opts.sysfs = roots.sysfs
            let runner = CampaignRunner(matrix: m, matrixFile: matrix, options: opts)
            if dryRun {
                print(try runner.dryRun())
                do { try runner.checkStressNG(); print("stress-ng: OK for this matrix") } catch {
                    print("stress-ng: \(error)")
                }
                return
            }
            try runner.run()
        } catch let e as VraplError {
            // A runtime error is one line ("Error: …"), not a usage screen.
            throw e
        }
    }
}

extension ConfinementChoice: ExpressibleByArgument {}
