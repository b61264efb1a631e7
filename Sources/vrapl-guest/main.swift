import ArgumentParser
import Foundation
import VraplCommandLine
import VraplCore
import VraplGuest

/// `vrapl-guest`: live package-power estimate inside a VM. Thin: options → `GuestConfig` → `GuestRunner`.
struct VraplGuestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrapl-guest",
        abstract: "Predict this VM's CPU package power and energy from guest-visible signals.",
        discussion: """
        Reads <procfs>/stat at the model's sample interval, builds the model's window exactly as training \
        did, predicts package power, integrates it to a monotone energy counter, scores how much to trust \
        each estimate, and publishes it: a terminal line, --jsonl, /metrics (--listen), node_exporter \
        textfiles (--textfile), a powercap tree (--powercap-dir). Runs as an ordinary user; SIGTERM \
        exports once more and exits 0. See docs/guest.md.
        """,
        version: VraplVersion.string
    )

    @Option(name: .long, help: "Model file (safetensors, docs/model-format.md).")
    var model: String

    @OptionGroup(title: "Host trees (this command reads procfs and, for --pods, --attribute or a µs busy source, cgroupfs)")
    var roots: HostRoots

    @Option(name: .long, help: "Predict on every Nth sample (the energy counter integrates every sample).")
    var predictEvery: Int = 1

    @Option(name: .long, help: "Sampling interval (16ms, …); must equal the model's (refused otherwise). Default: the model's.", transform: DurationArgument.parse)
    var interval: DurationArgument?

    @Option(name: .long, help: "Write one JSON object per prediction to FILE, or - for stdout.")
    var jsonl: String?

    @Option(name: .long, help: "Serve Prometheus /metrics on ADDR:PORT (a bare :PORT binds 127.0.0.1 only).")
    var listen: String?

    @Option(name: .long, help: "Write DIR/vrapl.prom for node_exporter's textfile collector (atomic rename).")
    var textfile: String?

    @Option(name: .long, help: "Write the --textfile at most this often (15s, 1m, …; default: every export interval, and always at exit). node_exporter reads it only when scraped, and each write is a file renamed over the last one.", transform: DurationArgument.parse)
    var textfileInterval: DurationArgument?

    @Option(name: .long, help: "Publish a powercap-shaped tree (intel-rapl:0/energy_uj …) under DIR.")
    var powercapDir: String?

    @Option(name: .long, help: "Split the active power across the N processes using most CPU (kepler_process_cpu_*, plus one 'other' series); reads <procfs>/<pid>/stat once per export interval.")
    var processes: Int?

    @Flag(name: .long, help: "Kubernetes node: split the active power across containers and pods found in the cgroup v2 tree (kepler_container_cpu_*, kepler_pod_cpu_*).")
    var pods = false

    @Option(name: .long, help: "Where pod UIDs map to namespace and name (<namespace>_<name>_<uid>/; default /var/log/pods).")
    var podLogs: String = "/var/log/pods"

    @Option(name: .long, help: "Kepler's node_name label on every kepler_* series (default: the host name).")
    var nodeName: String?

    @Option(name: .long, help: "Publish a sysfs-shaped tree ROOT/class/powercap/intel-rapl:0/… for node_exporter (--path.sysfs ROOT) and Kepler (--host.sysfs ROOT).")
    var sysfsRoot: String?

    @Option(name: .long, help: "max_energy_range_uj of the published counters (default 262143328850, a server package's; larger wraps less often).")
    var maxEnergyRangeUj: UInt64?

    @Option(name: .long, help: "Host-published energy for this VM in powercap layout (DIR/intel-rapl:0/energy_uj): calibrate against it.")
    var hostEnergy: String?

    @Option(name: .long, help: "Multiply the host-published energy by X (5 corrects Scaphandre's qemu exporter before its fix, hubblo-org/scaphandre#428).")
    var hostEnergyScale: Double = 1

    @Option(name: .long, help: "Replay a recorded trace (HDF5) through the same code path, as fast as possible.")
    var replay: String?

    @Option(name: .long, help: "With --replay: predictions CSV (default stdout).")
    var out: String?

    @Option(name: .long, help: "Stop after this long (10s, 2m, …; default: run until SIGTERM/SIGINT).", transform: DurationArgument.parse)
    var duration: DurationArgument?

    @Option(name: .long, help: "Attribute the predicted CPU energy to cgroups with this attribution config (YAML).")
    var attribute: String?

    @Option(name: .long, help: "Refresh files, the terminal line and JSONL this often (default 1s). The windows of each interval are predicted together at its end; at least the model's sample interval.", transform: DurationArgument.parse)
    var exportInterval: DurationArgument = .seconds(1)

    @Flag(name: .long, help: "Predict at every tick (lowest latency, a fetch of the weights every 16 ms) instead of once per export interval in one batch (same energy counter).")
    var predictPerTick = false

    @Option(name: .long, help: "Guest-shaped models: how this guest's share is charged: idle-by-allocation (P_idle·k/T + active share; the default) or active-only (no idle power).")
    var shareRule: String?

    @Flag(name: .long, help: "No live terminal line.")
    var quiet = false

    func run() throws {
        var config = GuestConfig(modelPath: model)
        config.procfs = roots.procfs
        config.predictEvery = predictEvery
        config.intervalMs = interval?.milliseconds
        config.jsonl = jsonl
        config.listen = listen
        config.textfile = textfile
        config.textfileIntervalMs = textfileInterval?.milliseconds
        config.powercapDir = powercapDir
        config.sysfsRoot = sysfsRoot
        config.nodeName = nodeName
        config.processes = processes
        config.pods = pods
        config.podLogs = podLogs
        if let r = maxEnergyRangeUj { config.maxEnergyRangeUj = r }
        config.hostEnergy = hostEnergy
        config.hostEnergyScale = hostEnergyScale
        config.replay = replay
        config.out = out
        config.duration = duration?.seconds
        config.attribute = attribute
        config.cgroupfs = roots.cgroupfs
        config.exportIntervalMs = exportInterval.milliseconds
        config.predictPerTick = predictPerTick
        if quiet { config.terminal = false }
        do {
            config.shareRule = try shareRule.map { try ShareRule(parsing: $0) }
            if let replay {
                let runner = try GuestRunner(config: config)
                let source = try TraceDataSource(path: replay, featureSet: runner.estimator.featureSet)
                try runner.runReplay(trace: source, out: out)
            } else {
                let runner = try GuestRunner(config: config)
                try runner.runLive()
            }
        } catch let error as VraplError {
            FileHandle.standardError.write(Data("vrapl-guest: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// OpenBLAS starts a pool of spinning worker threads when it loads, before any code of ours can call
/// `openblas_set_num_threads(1)`. The guest only ever predicts one window at a time on its own thread,
/// so it re-executes itself once with `OPENBLAS_NUM_THREADS=1` (unless the caller chose a value):
/// no idle pool, no `sched_yield` spinning in the VM.
func singleThreadedBLAS() {
    guard getenv("OPENBLAS_NUM_THREADS") == nil else { return }
    setenv("OPENBLAS_NUM_THREADS", "1", 1)
    var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
    argv.append(nil)
    execv("/proc/self/exe", argv)
    // exec failed (no /proc?): carry on with the pool; everything still works.
}

singleThreadedBLAS()
VraplGuestCommand.main()
