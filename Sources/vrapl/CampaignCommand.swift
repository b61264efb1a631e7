import ArgumentParser
import Foundation
import VraplCampaign
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
        campaign continues with --resume. --sim-live runs `vrapl simulate --live` alongside and points
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
    @Option(help: "Sample interval.") var interval: String = "16ms"
    @Option(help: "Idle recorded before each stressor starts.") var leadIn: String = "1s"
    @Option(help: "Current-stressor label file (read by vrapl simulate --live).") var stateFile: String = CampaignCurrent.defaultPath
    @Option(parsing: .unconditionalSingleValue, help: "Extra argument for every vrapl-collect run (repeatable).") var collectorArg: [String] = []
    @Flag(help: "Do not check the stress-ng version.") var skipVersionCheck = false
    @Option(help: "How placed stressors (a tenancy: matrix) are held on their CPU set: auto (a cgroup v2 cpuset of the campaign's own where the host offers the controller, else stress-ng --taskset), cpuset (or fail), affinity.")
    var confine: String = "auto"
    @Option(help: "cgroup v2 mount for the campaign's cpuset (default: this host's, from /proc/self/mounts).") var cgroupfs: String?

    func validate() throws {
        if !dryRun && out == nil { throw ValidationError("--out DIR is required (or use --dry-run)") }
        if ConfinementChoice(rawValue: confine) == nil {
            throw ValidationError("--confine \(confine): expected one of \(ConfinementChoice.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        do {
            let m = try CampaignMatrix.load(path: matrix)
            var opts = CampaignRunner.Options(outDir: out ?? ".")
            if let c = cores { opts.coreCount = max(1, c) }
            opts.stressNG = stressNg
            if let c = collector { opts.collector = c }
            opts.interval = interval
            opts.leadIn = try DurationText.parse(leadIn, what: "--lead-in")
            opts.resume = resume
            opts.simLive = simLive
            opts.simProfile = profile
            opts.stateFile = stateFile
            opts.collectorArguments = collectorArg
            opts.skipVersionCheck = skipVersionCheck
            opts.confine = ConfinementChoice(rawValue: confine) ?? .auto
            opts.cgroupfs = cgroupfs
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
