import ArgumentParser
import Glibc
import VraplCollect
import VraplCommandLine
import VraplCore

/// `vrapl-collect`: the 16 ms bare-metal sampling loop (RAPL + guest-visible OS signals → HDF5).
struct CollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vrapl-collect",
        abstract: "Record RAPL energy counters and guest-visible OS signals into an HDF5 trace.",
        discussion: """
        Sample k is taken at t0 + k·interval on the monotonic clock. SIGINT or SIGTERM end the \
        recording cleanly (final flush); the file is flushed every --flush-interval, so a crash loses \
        at most that much. Without --duration it records until stopped. See docs/collector.md.
        """,
        version: VraplVersion.string
    )

    @Option(name: .long, help: "The HDF5 trace to write (created or truncated).")
    var out: String

    @Option(name: .long, help: "Sample interval: 16ms, 10ms, 1s, … (at least 1ms; default 16ms).", transform: DurationArgument.parse)
    var interval: DurationArgument = .milliseconds(16)

    @Option(name: .long, help: "Stop after this long (60s, 2m, …); default: until SIGINT/SIGTERM.", transform: DurationArgument.parse)
    var duration: DurationArgument?

    @Option(name: .long, parsing: .singleValue, help: "A free-form label key=value stored in the trace (repeatable).")
    var label: [String] = []

    @Option(name: .customLong("power-source"), help: "rapl (powercap under --sysfs) or sim (a documented model driven by the real /proc/stat, labelled sim:basic).")
    var powerSource: CollectorConfiguration.Power = .rapl

    @OptionGroup(title: "Host trees")
    var roots: HostRoots

    @Option(name: .customLong("flush-interval"), help: "Longest time recorded samples stay only in memory (default 1s).", transform: DurationArgument.parse)
    var flushInterval: DurationArgument = .seconds(1)

    @Option(name: .customLong("vmstat"), parsing: .singleValue, help: "An extra /proc/vmstat counter to record besides pgfault, pgmajfault, pswpin, pswpout (repeatable).")
    var vmstatCounters: [String] = []

    @Flag(name: .customLong("per-cpu"), inversion: .prefixedNo, help: "Record every per-CPU line of /proc/stat (/percpu), from the same read; guest views of any CPU set are derived from them.")
    var perCPU: Bool = true

    @Flag(name: .customLong("cpu-usage"), inversion: .prefixedNo, help: "Record the busy time in µs of the cgroup v2 root cpu.stat (/cpu_usage) where the host has one: the finer busy source for small guests.")
    var cpuUsage: Bool = true

    @Flag(name: .long, inversion: .prefixedNo, help: "Live status line on stderr (default: when stderr is a terminal).")
    var status: Bool?

    @Flag(name: .long, inversion: .prefixedNo, help: "Run the loop with SCHED_FIFO priority 10 when permitted (root), so a loaded host does not delay samples.")
    var realtime: Bool = true

    func makeConfiguration() throws -> CollectorConfiguration {
        var c = CollectorConfiguration(outputPath: out)
        c.intervalNs = interval.nanoseconds
        c.durationNs = duration?.nanoseconds
        c.flushIntervalNs = flushInterval.nanoseconds
        c.power = powerSource
        c.procfs = roots.procfs
        c.sysfs = roots.sysfs
        c.vmstatCounters = VmstatDefaults.counters + vmstatCounters
        c.statusLine = status
        c.perCPU = perCPU
        c.cpuUsage = cpuUsage
        c.cgroupfs = roots.cgroupfs
        for item in label {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--label must be key=value, not '\(item)'")
            }
            c.labels[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        return c
    }

    func run() throws {
        let configuration: CollectorConfiguration
        do { configuration = try makeConfiguration() } catch let e as VraplError { throw ValidationError(e.message) }
        StopSignal.install()
        do {
            let collector = try Collector(configuration: configuration)
            let scheduling = realtime ? Scheduling.requestRealtime() : .normal(reason: "--no-realtime")
            if let why = collector.cpuUsageUnavailable {
                fputs("vrapl-collect: busy time in µs not recorded (\(why)); /proc/stat ticks only\n", stderr)
            }
            let summary = try collector.record()
            print(summary)
            if let source = collector.cpuUsageSource { print("busy time \(source) (/cpu_usage)") }
            print("scheduling \(scheduling)")
            let usage = ProcessCPUTime.ofSelf()
            let share = summary.elapsedNs > 0 ? 100 * usage.total / (Double(summary.elapsedNs) / 1e9) : 0
            print(String(cFormat: "collector CPU %.3f s (user %.3f, system %.3f; %.3f%% of one core), max RSS %.1f MB",
                         usage.total, usage.user, usage.system, share, usage.maxResidentMiB))
        } catch {
            fputs("vrapl-collect: \(error)\n", stderr)
            throw ExitCode.failure
        }
    }
}

extension CollectorConfiguration.Power: ExpressibleByArgument {}

CollectCommand.main()
