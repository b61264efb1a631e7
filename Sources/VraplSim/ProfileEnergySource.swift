import VraplCore
import VraplCampaign
import VraplSources

/// The full simulator's power model as an `EnergySource` for `vrapl-collect` (an in-process
/// alternative to `vrapl simulate live` + `--sysfs`): busy CPUs from each tick's /proc/stat
/// deltas, scaled to the profile's thread count, through `LivePowerModel` (hidden mix, turbo, lag,
/// meter noise, µJ counter with wrap). Power source `sim:<profile>`. The hidden mix is that of
/// `current` (set it with `setCurrent`; nil = background mix). Allocation-free per tick.
public final class ProfileEnergySource: EnergySource {
    public let zones: [PowercapZone]
    public var powerSource: PowerSource { .simulated(profile: model.profile.name) }
    private var model: LivePowerModel
    private var previous: CPUTimes? = nil
    private var previousNs: UInt64 = 0
    /// The last modelled power, W.
    public private(set) var lastWatts: Double = 0

    /// - Parameters: cpuCount is this machine's CPU count (busy CPUs are scaled by threads / cpuCount).
    public init(profile: SimProfile, cpuCount: Int, seed: UInt64 = 1, initialCounter: UInt64 = 0) {
        model = LivePowerModel(profile: profile, busyScale: Double(profile.threads) / Double(max(1, cpuCount)),
                               seed: seed, initialEnergyUj: initialCounter)
        zones = [PowercapZone(key: "intel-rapl:0", name: "package-0", path: "sim:\(profile.name)",
                              maxEnergyRange: Microjoules(profile.maxEnergyRangeUj))]
    }

    /// Sets the workload whose hidden mix applies (new hidden draws on change).
    public func setCurrent(_ current: CampaignCurrent?) { model.setCurrent(current) }

    public func sample(stat: ProcStatSnapshot, monotonicNs: UInt64, into energy: inout [Microjoules]) throws {
        if let prev = previous, monotonicNs > previousNs {
            let busy = stat.cpu.busyTicks(since: prev)
            let dt = Double(monotonicNs - previousNs) / 1e9
            lastWatts = model.step(busyThreads: busy / (dt * UserHz.value), dt: dt)
        }
        previous = stat.cpu
        previousNs = monotonicNs
        if !energy.isEmpty { energy[0] = Microjoules(model.energyUj) }
    }
}
