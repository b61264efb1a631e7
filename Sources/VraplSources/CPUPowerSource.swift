import VraplCore

/// A source of CPU package energy for live attribution: RAPL on bare metal, the guest's predicted
/// power in a VM, or a simulation in tests and demos. Implementations report a cumulative,
/// non-decreasing energy; the attributor takes differences between its readings.
public protocol CPUPowerSource: AnyObject {
    /// `rapl`, `sim:<profile>` or `model:<name>`: printed in every report and metric.
    var powerSource: PowerSource { get }
    /// CPU energy since the source started, J, non-decreasing. `now` is monotonic seconds.
    func cumulativeEnergy(now: Double) throws -> Joules
}

/// Turns raw RAPL-style counters into a cumulative energy, handling wrap-around with `energyDelta`.
/// The closure returns each package zone's `energy_uj` with its `max_energy_range_uj`; plug in the
/// powercap reader of VraplSources (or a fixture) without this module depending on it.
public final class EnergyCounterCPUPowerSource: CPUPowerSource {
    public let powerSource: PowerSource
    private let readCounters: () throws -> [(energy: Microjoules, maxRange: Microjoules)]
    private var previous: [Microjoules]?
    private var total = 0.0

    public init(powerSource: PowerSource = .rapl, readCounters: @escaping () throws -> [(energy: Microjoules, maxRange: Microjoules)]) {
        self.powerSource = powerSource
        self.readCounters = readCounters
    }

    public func cumulativeEnergy(now: Double) throws -> Joules {
        let counters = try readCounters()
        if let previous, previous.count == counters.count {
            for (p, c) in zip(previous, counters) {
                total += energyDelta(previous: p, current: c.energy, maxRange: c.maxRange).joules.value
            }
        }
        previous = counters.map(\.energy)
        return Joules(total)
    }
}

/// Integrates a power reading (W) over time: for the guest's predicted power, or anything that
/// reports watts rather than an energy counter. Uses the trapezoid rule between calls.
public final class PowerIntegratingCPUPowerSource: CPUPowerSource {
    public let powerSource: PowerSource
    private let readPower: (Double) throws -> Watts
    private var last: (time: Double, power: Double)?
    private var total = 0.0

    public init(powerSource: PowerSource, readPower: @escaping (Double) throws -> Watts) {
        self.powerSource = powerSource
        self.readPower = readPower
    }

    public func cumulativeEnergy(now: Double) throws -> Joules {
        let p = try readPower(now).value
        if let last, now > last.time { total += 0.5 * (p + last.power) * (now - last.time) }
        last = (now, p)
        return Joules(total)
    }
}

/// A documented stand-in for RAPL: P = idle + (max − idle) × busy fraction of the host's CPUs, read
/// from `<procfs>/stat`, integrated between calls. Labelled `sim:cpu-linear`; never mistaken for RAPL.
public final class SimulatedCPUPowerSource: CPUPowerSource {
    public let powerSource = PowerSource.simulated(profile: "cpu-linear")
    public let idle: Watts
    public let max: Watts
    private let procfs: String
    private let statPath: String
    /// Opened at the first reading (a missing file is that reading's error), then kept open.
    private var reader: ProcStatReader?
    private var snapshot = ProcStatSnapshot()
    private var previous: (time: Double, cpu: CPUTimes)?
    private var total = 0.0
    /// Busy CPU time over the last interval, µs (all CPUs together), for `cpu_share: system`.
    public private(set) var lastBusyUsec: Double?

    public init(idle: Watts, max: Watts, procfs: String = "/proc") {
        self.idle = idle
        self.max = max
        self.procfs = procfs
        self.statPath = procfs + "/stat"
    }

    public func cumulativeEnergy(now: Double) throws -> Joules {
        if reader == nil { reader = try ProcStatReader(procfs: procfs) }
        try reader?.read(into: &snapshot)
        let cur = snapshot.cpu
        if let p = previous, now > p.time {
            let busy = cur.busyTicks(since: p.cpu), dTotal = busy + cur.idleTicks(since: p.cpu)
            let fraction = dTotal > 0 ? busy / dTotal : 0
            total += (idle.value + (max.value - idle.value) * fraction) * (now - p.time)
            lastBusyUsec = busy / UserHz.value * 1e6
        }
        previous = (now, cur)
        return Joules(total)
    }
}

/// A scripted source for tests: energy = ∫ power(t) dt with a closure giving power at time t.
public final class ScriptedCPUPowerSource: CPUPowerSource {
    public let powerSource: PowerSource
    private let power: (Double) -> Double
    private var last: Double?
    private var total = 0.0
    public init(powerSource: PowerSource = .simulated(profile: "scripted"), power: @escaping (Double) -> Double) {
        self.powerSource = powerSource; self.power = power
    }
    public func cumulativeEnergy(now: Double) throws -> Joules {
        if let last, now > last { total += 0.5 * (power(last) + power(now)) * (now - last) }
        last = now
        return Joules(total)
    }
}

/// A source fed by its owner: the guest daemon integrates its predicted power and pushes each
/// interval's energy with `add(_:)` before calling `LiveAttributor.step()`. Label it `model:<name>`.
public final class PushedCPUPowerSource: CPUPowerSource {
    public let powerSource: PowerSource
    private var total = 0.0
    public init(powerSource: PowerSource) { self.powerSource = powerSource }
    /// Adds energy (negative or non-finite values are ignored).
    public func add(_ energy: Joules) { if energy.value.isFinite && energy.value > 0 { total += energy.value } }
    public func cumulativeEnergy(now: Double) throws -> Joules { Joules(total) }
}
