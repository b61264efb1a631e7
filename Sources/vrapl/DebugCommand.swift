import ArgumentParser
import Foundation
import VraplCommandLine
import VraplCore
import VraplTrace

/// `vrapl debug …`: hidden helpers for tests (not part of the user interface).
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Test helpers.",
        shouldDisplay: false,
        subcommands: [DebugWriteTraceCommand.self]
    )
}

/// `vrapl debug write-trace --out F --seconds N`: streams synthetic samples into a trace at the
/// sample interval through `TraceWriter` (as the collector does), printing `flushed <samples>` after
/// every flush. The crash-safety test SIGKILLs it and checks that every flushed sample survived.
struct DebugWriteTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write-trace",
        abstract: "Stream synthetic samples into a trace (for the crash-safety test)."
    )

    @Option(help: "Output trace.")
    var out: String

    @Option(help: "How long to write (default 5s).", transform: DurationArgument.parse)
    var duration: DurationArgument = .seconds(5)

    @Option(help: "Sample interval (default 16ms).", transform: DurationArgument.parse)
    var interval: DurationArgument = .milliseconds(16)

    @Option(help: "Flush interval (default 1s).", transform: DurationArgument.parse)
    var flushInterval: DurationArgument = .seconds(1)

    func run() throws {
        let intervalNs = max(1, interval.nanoseconds)
        var options = TraceWriter.Options()
        options.flushIntervalNs = flushInterval.nanoseconds
        let writer = try TraceWriter(path: out, metadata: SyntheticTrace.metadata(intervalNs: intervalNs),
                                     vmstatNames: VmstatDefaults.counters, raplZones: SyntheticTrace.zones,
                                     recordsSimHiddenWatts: true, options: options)
        var stat = ProcStatSnapshot()
        var vmstat = [UInt64](repeating: 0, count: 4)
        var energy = [UInt64](repeating: 0, count: 4)
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        let t0 = UInt64(start.tv_sec) * 1_000_000_000 + UInt64(start.tv_nsec)
        let total = Int(duration.nanoseconds / intervalNs)
        var flushes = writer.flushCount
        for i in 0..<total {
            let due = t0 + UInt64(i) * intervalNs
            while !SampleClock.sleep(untilMonotonicNs: due) {}
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var wall = timespec()
            clock_gettime(CLOCK_REALTIME, &wall)
            let hidden = SyntheticTrace.sample(i, stat: &stat, vmstat: &vmstat, energy: &energy)
            try writer.append(monotonicNs: UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec),
                              wallClockNs: Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec),
                              stat: stat, vmstat: vmstat, energyUj: energy, simHiddenWatts: hidden)
            if i == 10 { writer.addSegment(TraceSegment(name: "warmup", firstSample: 0, lastSample: 10, parameters: ["family": "idle"])) }
            if writer.flushCount != flushes {
                flushes = writer.flushCount
                FileHandle.standardOutput.write(Data("flushed \(writer.flushedSampleCount)\n".utf8))
            }
        }
        try writer.close()
        FileHandle.standardOutput.write(Data("closed \(writer.flushedSampleCount)\n".utf8))
    }
}
