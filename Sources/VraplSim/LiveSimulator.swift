#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore
import VraplSources
import VraplCampaign

/// The live power model: the synthetic model's equations driven by measured busy CPUs.
/// Pure state machine (no I/O), so tests can drive it.
public struct LivePowerModel {
    public let profile: SimProfile
    /// Busy CPUs of this machine are multiplied by this before entering the model (profile threads /
    /// this machine's CPUs, so a fully loaded small VM looks like the fully loaded profiled machine).
    public var busyScale: Double
    private var rng: SimRandom
    private var y: Double = 0
    private var draw: SyntheticGenerator.SegmentDraw
    private var generator: SyntheticGenerator
    private var drawIndex = 0
    public private(set) var current: CampaignCurrent?
    private var counter: EnergyAccumulator
    /// The energy counter, µJ (wraps after the profile's range).
    public var energyUj: UInt64 { counter.counter }

    public init(profile: SimProfile, busyScale: Double, seed: UInt64, initialEnergyUj: UInt64 = 0) {
        self.profile = profile
        self.busyScale = busyScale
        rng = SimRandom(seed: seed, stream: 0x11FE)
        generator = SyntheticGenerator(profile: profile, seed: seed)
        draw = generator.draw(segment: LivePowerModel.segment(for: nil, threads: profile.threads), index: 0, previousOffset: nil)
        counter = EnergyAccumulator(start: initialEnergyUj % (profile.maxEnergyRangeUj &+ 1 == 0 ? UInt64.max : profile.maxEnergyRangeUj + 1),
                                    maxRange: profile.maxEnergyRangeUj)
    }

    /// The schedule segment that a campaign label stands for. Unknown or absent labels: idle mix
    /// (housekeeping/background), i.e. a generic workload.
    static func segment(for current: CampaignCurrent?, threads: Int) -> ScheduledSegment {
        let stressors = (current?.stressors ?? []).map { Combination.Stressor(name: $0.name, level: 0, workers: $0.workers) }
        return ScheduledSegment(name: current?.name ?? "live", kind: stressors.isEmpty ? .idle : .steady,
                                stressors: stressors, samples: 1, parameters: [:])
    }

    /// Switches to a new campaign label: new hidden draws (mix, intensity, idle offset).
    public mutating func setCurrent(_ c: CampaignCurrent?) {
        guard c != current else { return }
        current = c
        drawIndex += 1
        var seg = LivePowerModel.segment(for: c, threads: profile.threads)
        seg.stressors = seg.stressors.filter { profile.stressors[$0.name] != nil }
        draw = generator.draw(segment: seg, index: drawIndex, previousOffset: nil)
    }

    /// One interval of `dt` seconds with `busyThreads` busy CPUs measured on this machine; returns
    /// the package watts of the interval and advances the energy counter.
    public mutating func step(busyThreads measured: Double, dt: Double) -> Double {
        let watts = power(busyThreads: measured, dt: dt)
        accumulate(watts: watts, dt: dt)
        return watts
    }

    /// The model part of `step`: the package watts of an interval of `dt` seconds (lag advanced).
    public mutating func power(busyThreads measured: Double, dt: Double) -> Double {
        let b = measured * busyScale
        let alpha = profile.thermalTau > 0 ? 1 - exp(-dt / profile.thermalTau) : 1
        y += alpha * (draw.coefficient * b * profile.turbo(busyThreads: b) - y)
        return max(0, profile.idleWatts + draw.idleOffset + y + profile.meterNoiseWatts * rng.normal())
    }

    /// The counter part of `step`: adds `watts · dt` to the energy counter (whole µJ, wrap-around).
    public mutating func accumulate(watts: Double, dt: Double) {
        counter.add(watts: watts, seconds: dt)
    }
}

/// `vrapl simulate live`: reads /proc/stat every interval and keeps a powercap tree up to date.
public final class LiveSimulator {
    public let procfs: String
    public let interval: Double
    public let stateFile: String
    private var model: LivePowerModel
    private let tree: PowercapTree
    /// `<procfs>/stat`, kept open (the one /proc/stat parser, VraplSources).
    private let stat: ProcStatReader

    public init(profile: SimProfile, powercapDir: String, procfs: String = "/proc", interval: Double = 0.016,
                stateFile: String = CampaignCurrent.defaultPath, seed: UInt64 = 1, busyScale: Double? = nil) throws {
        self.procfs = procfs
        self.interval = interval
        self.stateFile = stateFile
        stat = try ProcStatReader(procfs: procfs)
        let cores = stat.cpuCount
        let scale = busyScale ?? Double(profile.threads) / Double(max(1, cores))
        var start = SimRandom(seed: seed, stream: 0xE0)
        let e0 = UInt64(start.uniform(0, Double(profile.maxEnergyRangeUj)))
        model = LivePowerModel(profile: profile, busyScale: scale, seed: seed, initialEnergyUj: e0)
        tree = try PowercapTree(root: powercapDir, maxEnergyRangeUj: profile.maxEnergyRangeUj, initialEnergyUj: model.energyUj,
                               simulatorProfile: profile.name)
    }


    /// Runs until `duration` seconds have passed (forever when nil). /proc/stat is read and the power
    /// recomputed every `interval`; the counter advances every `updateInterval` (like RAPL's ~1 ms
    /// updates), so a reader sampling at its own phase — or catching up after a stall — sees energy
    /// in proportion to the time that passed. `report` gets (elapsed s, watts, label) about once a second.
    public func run(duration: Double?, updateInterval: Double = 0.002, exitWithParent: Bool = false,
                    report: ((Double, Double, String) -> Void)? = nil) throws {
        let parent = getppid()
        let userHz = UserHz.value
        var snapshot = ProcStatSnapshot()
        let fineNs = UInt64(max(0.0005, min(updateInterval, interval)) * 1e9)
        let statNs = UInt64(interval * 1e9)
        let t0 = SampleClock.monotonicNs()
        try stat.read(into: &snapshot)
        var prevCPU = snapshot.cpu
        var prevStat = t0
        var prevFine = t0
        var k: UInt64 = 0
        var lastStateCheck: UInt64 = 0
        var lastReport: UInt64 = t0
        var wattsSum = 0.0, wattsN = 0.0
        var watts = model.power(busyThreads: 0, dt: interval)
        while true {
            k += 1
            let deadline = t0 + k * fineNs
            var now = SampleClock.monotonicNs()
            if deadline > now {
                while !SampleClock.sleep(untilMonotonicNs: deadline) {}
                now = SampleClock.monotonicNs()
            }
            model.accumulate(watts: watts, dt: Double(now - prevFine) / 1e9)
            prevFine = now
            try tree.write(energyUj: model.energyUj)
            if now - prevStat >= statNs {
                if now - lastStateCheck >= 200_000_000 {
                    model.setCurrent(CampaignCurrent.read(path: stateFile))
                    lastStateCheck = now
                }
                try stat.read(into: &snapshot)
                let dt = Double(now - prevStat) / 1e9
                let b = snapshot.cpu.busyTicks(since: prevCPU) / (dt * userHz)
                prevCPU = snapshot.cpu; prevStat = now
                watts = model.power(busyThreads: b, dt: dt)
                wattsSum += watts; wattsN += 1
            }
            if now - lastReport >= 1_000_000_000 {
                report?(Double(now - t0) / 1e9, wattsSum / max(1, wattsN), model.current?.name ?? "(no campaign label)")
                wattsSum = 0; wattsN = 0; lastReport = now
            }
            if let d = duration, Double(now - t0) / 1e9 >= d { break }
            // Started by a campaign that died (SIGKILL, crash): do not run on as an orphan.
            if exitWithParent, k % 256 == 0, getppid() != parent { break }
        }
    }
}
