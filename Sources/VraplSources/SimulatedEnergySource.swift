import VraplCore

/// The collector's simple stand-in for RAPL on machines without it (`--power-source sim`,
/// `power_source = "sim:basic"`), documented in docs/collector.md:
///
///     P(t) = idleWatts + wattsPerBusyCPU · busyCPUs(t) + N(0, noiseWatts²),   clamped at 0
///     busyCPUs = cpuCount · Δbusy / (Δbusy + Δidle + Δiowait)   over the last tick's /proc/stat deltas
///     Δbusy = Δ(user + nice + system + irq + softirq + steal)   (guest time is already in user)
///
/// When no jiffy elapsed in a tick (USER_HZ is 100, a tick 16 ms) the previous share is held.
/// Energy is integrated exactly (fractional µJ carried over) into one synthetic zone `package-0`
/// (key `intel-rapl:0`) that wraps at `maxEnergyRange` like a real counter. Allocation-free per tick.
/// `vrapl simulate` (VraplSim) is the full simulator with hidden state; this is not it.
public final class SimulatedEnergySource: EnergySource {
    public struct Parameters: Sendable, Equatable {
        public var idleWatts: Double = 25
        public var wattsPerBusyCPU: Double = 30
        public var noiseWatts: Double = 1.0
        public var maxEnergyRange: UInt64 = 262_143_328_850
        public init() {}
    }

    public let parameters: Parameters
    public let cpuCount: Int
    public let zones: [PowercapZone]
    public var powerSource: PowerSource { .simulated(profile: "basic") }

    private var previous: CPUTimes? = nil
    private var previousNs: UInt64 = 0
    private var busyShare: Double = 0
    private var counter: UInt64
    private var fraction: Double = 0
    private var rng: UInt64
    /// The last modelled power, W (for tests and the status line).
    public private(set) var lastWatts: Double = 0

    /// - Parameters: cpuCount is the number of CPUs behind the aggregate line; `initialCounter` is
    ///   where `energy_uj` starts; `seed` makes the noise reproducible.
    public init(cpuCount: Int, parameters: Parameters = Parameters(), initialCounter: UInt64 = 0, seed: UInt64 = 0x5DEECE66D) {
        self.cpuCount = max(cpuCount, 1)
        self.parameters = parameters
        counter = initialCounter
        rng = seed == 0 ? 0x9E3779B97F4A7C15 : seed
        zones = [PowercapZone(key: "intel-rapl:0", name: "package-0", path: "sim:basic",
                              maxEnergyRange: Microjoules(parameters.maxEnergyRange))]
    }

    /// The model's mean power for a busy share (0…1 of all CPUs), without noise.
    public func meanWatts(busyShare: Double) -> Double {
        parameters.idleWatts + parameters.wattsPerBusyCPU * Double(cpuCount) * busyShare
    }

    /// Busy share of all CPUs between two readings, or nil when no jiffy elapsed.
    public static func busyShare(from a: CPUTimes, to b: CPUTimes) -> Double? {
        let busy = b.busyTicks(since: a)
        let total = busy + b.idleTicks(since: a)
        return total > 0 ? busy / total : nil
    }

    public func sample(stat: ProcStatSnapshot, monotonicNs: UInt64, into energy: inout [Microjoules]) throws {
        if let prev = previous {
            if let share = Self.busyShare(from: prev, to: stat.cpu) { busyShare = share }
            let dt = monotonicNs > previousNs ? Double(monotonicNs - previousNs) / 1e9 : 0
            let watts = max(0, meanWatts(busyShare: busyShare) + parameters.noiseWatts * gaussian())
            lastWatts = watts
            fraction += watts * dt * 1e6
            let whole = fraction.rounded(.down)
            fraction -= whole
            let add = UInt64(whole)
            let range = parameters.maxEnergyRange
            if range > 0, counter > range - min(add, range) {
                counter = add - (range - counter) - 1  // wraps to 0 after `range`, as energyDelta expects
            } else {
                counter &+= add
            }
        }
        previous = stat.cpu
        previousNs = monotonicNs
        energy[0] = Microjoules(counter)
    }

    /// xorshift64* → uniform (0, 1).
    @inline(__always) private func uniform() -> Double {
        rng ^= rng >> 12
        rng ^= rng << 25
        rng ^= rng >> 27
        let x = rng &* 0x2545F4914F6CDD1D
        return (Double(x >> 11) + 0.5) / 9007199254740992.0
    }

    /// Box–Muller standard normal.
    @inline(__always) private func gaussian() -> Double {
        let u1 = uniform(), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
