import VraplCore
import VraplSources

/// One process's part of the estimate (`kepler_process_cpu_*`), or the `other` bucket (pid nil).
public struct ProcessEnergy: Sendable, Equatable {
    public var pid: Int32?
    public var comm: String
    public var state: String
    public var watts: Double
    public var joules: Double
}

/// Kepler's per-process split of the active power, for `--processes N`: once per export interval
/// every process's CPU-time delta (`ProcessTimes`, utime + stime; all of it for a process that started
/// since the last reading) takes its share of the interval's
/// active energy, Δcpu_i / Σ Δcpu. Bounded cardinality: the N processes with the most power this
/// interval are exported by pid, everything else goes to one `other` series. A process's counter
/// only grows while it is exported; energy of an interval it was not in the top N belongs to
/// `other`, whose counter therefore never goes down, and Σ processes + other = the active energy
/// (a process that returns to the top N starts a new series from 0, which Prometheus reads as a reset).
public final class ProcessSplit {
    public let procfs: String
    public let topN: Int
    private var previousTicks: [Int32: UInt64] = [:]
    private var joules: [Int32: Double] = [:]
    private var otherJoules = 0.0
    private var interval = ActiveEnergyInterval()
    /// The latest split: the top N by power, then `other`.
    public private(set) var entries: [ProcessEnergy] = []

    public init(procfs: String, topN: Int) throws {
        guard topN >= 1, topN <= 1000 else { throw VraplError("--processes \(topN): must be between 1 and 1000 (series per scrape)") }
        self.procfs = procfs
        self.topN = topN
    }

    /// Splits the active energy accumulated since the last call (`activeJoules` is the running total).
    public func update(activeJoules total: Double, monotonicNs: UInt64, processes: [ProcessTimes.Process]? = nil) {
        let list = processes ?? ProcessTimes.read(procfs: procfs)
        defer {
            previousTicks = Dictionary(uniqueKeysWithValues: list.map { ($0.pid, $0.cpuTicks) })
        }
        guard let (energy, seconds) = interval.advance(totalJoules: total, monotonicNs: monotonicNs) else { return }
        var deltas: [(ProcessTimes.Process, Double)] = []
        var sum = 0.0
        for p in list {
            // A pid not seen at the last reading started since: all its CPU time is this interval's.
            let d = Double(p.cpuTicks &- (previousTicks[p.pid].map { min($0, p.cpuTicks) } ?? 0))
            deltas.append((p, d)); sum += d
        }
        // No process ran (or every tick went to threads that exited): the interval's energy is "other".
        guard sum > 0 else {
            otherJoules += energy
            joules = [:]
            entries = [ProcessEnergy(pid: nil, comm: "other", state: "", watts: energy / seconds, joules: otherJoules)]
            return
        }
        let ranked = deltas.filter { $0.1 > 0 }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.pid < $1.0.pid }
        let top = ranked.prefix(topN)
        let topPids = Set(top.map(\.0.pid))
        var otherWatts = 0.0
        for (p, d) in deltas {
            let share = d / sum
            if topPids.contains(p.pid) { joules[p.pid, default: 0] += energy * share } else { otherJoules += energy * share; otherWatts += energy * share / seconds }
        }
        // Forget the counters of processes that are gone or left the top N (their series end).
        joules = joules.filter { topPids.contains($0.key) }
        entries = top.map { p, d in
            ProcessEnergy(pid: p.pid, comm: p.comm, state: String(p.state), watts: energy * d / sum / seconds, joules: joules[p.pid] ?? 0)
        }
        entries.append(ProcessEnergy(pid: nil, comm: "other", state: "", watts: otherWatts, joules: otherJoules))
    }
}
