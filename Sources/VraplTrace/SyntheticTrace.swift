import VraplCore

/// Deterministic synthetic traces for benchmarks and the crash-safety test helper: plausible
/// counters of an 8-core host at 100 Hz USER_HZ with two packages, a core and a dram zone (the dram
/// counter starts near its wrap), four vmstat counters and hidden simulator power. Not a power model
/// (that is `vrapl simulate`): only the shapes and sizes are realistic.
public enum SyntheticTrace {
    /// The RAPL zones of synthetic traces.
    public static let zones = [
        RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 262_143_328_850),
        RaplDomainSeries(key: "intel-rapl:0:0", name: "core", maxEnergyRangeUj: 262_143_328_850),
        RaplDomainSeries(key: "intel-rapl:0:1", name: "dram", maxEnergyRangeUj: 65_712_999_613),
        RaplDomainSeries(key: "intel-rapl:1", name: "package-1", maxEnergyRangeUj: 262_143_328_850),
    ]

    public static func metadata(intervalNs: UInt64 = 16_000_000) -> TraceMetadata {
        var metadata = TraceMetadata()
        metadata.hostName = "synthetic"
        metadata.cpuModel = "synthetic 8-core"
        metadata.kernel = "synthetic"
        metadata.coreCount = 8
        metadata.sampleIntervalNs = intervalNs
        metadata.powerSource = .simulated(profile: "synthetic")
        metadata.startTimeNs = 1_763_700_000_000_000_000
        metadata.labels = ["synthetic": "true"]
        return metadata
    }

    /// One sample's counters at index `i` (a pure function of i, so a streaming writer and a whole
    /// trace agree). Fills `vmstat` (4 values) and `energy` (4 values).
    public static func sample(_ i: Int, stat: inout ProcStatSnapshot, vmstat: inout [UInt64], energy: inout [UInt64]) -> Float {
        let k = UInt64(i)
        let phase = (i / 500) % 4            // a load step every 8 s at 16 ms
        let busyTicks = UInt64([1, 4, 8, 12][phase])  // of 12.8 ticks per 16 ms on 8 cores at 100 Hz
        stat.cpu.user = k * busyTicks * 6 / 10
        stat.cpu.nice = k / 50
        stat.cpu.system = k * busyTicks * 3 / 10
        stat.cpu.idle = k * (13 - busyTicks)
        stat.cpu.iowait = k / 20
        stat.cpu.irq = k / 40
        stat.cpu.softirq = k / 10
        stat.cpu.steal = 0
        stat.cpu.guest = 0
        stat.cpu.guestNice = 0
        stat.contextSwitches = 1_000_000 + k * (200 + 150 * busyTicks)
        stat.interrupts = 5_000_000 + k * 300
        stat.processesCreated = 10_000 + k / 7
        stat.procsRunning = 1 + busyTicks / 2
        stat.procsBlocked = UInt64(i % 11 == 0 ? 1 : 0)
        vmstat[0] = 1_000_000 + k * 40
        vmstat[1] = 2_000 + k / 100
        vmstat[2] = 0
        vmstat[3] = 0
        // Energy is cumulative over the phases (25 + 5·busy ticks W, per 16 ms), so a counter never
        // steps back when the load drops.
        let uj = cumulativeMicrojoules(before: i)
        energy[0] = (10_000_000 + uj) % (zones[0].maxEnergyRangeUj + 1)
        energy[1] = (5_000_000 + uj * 6 / 10) % (zones[1].maxEnergyRangeUj + 1)
        energy[2] = (65_712_000_000 + k * 48_000) % (zones[2].maxEnergyRangeUj + 1)
        energy[3] = (20_000_000 + uj / 2) % (zones[3].maxEnergyRangeUj + 1)
        return Float(i % 97) * 0.01
    }

    /// Package energy in µJ of the samples before `i`: 16 ms at 25 + 5·busy ticks W in each phase.
    static func cumulativeMicrojoules(before i: Int) -> UInt64 {
        let perSample: [UInt64] = [1, 4, 8, 12].map { UInt64((25.0 + 5.0 * Double($0)) * 16_000) }
        let cycle = 500 * perSample.reduce(0, +)
        let cycles = UInt64(i / 2000), rest = i % 2000
        var total = cycles * cycle
        for phase in 0..<4 { total += UInt64(min(500, max(0, rest - phase * 500))) * perSample[phase] }
        return total
    }

    /// A whole synthetic trace of `samples` samples at `intervalNs`.
    public static func make(samples n: Int, intervalNs: UInt64 = 16_000_000) -> TraceData {
        var data = TraceData(metadata: metadata(intervalNs: intervalNs))
        data.vmstat = VmstatDefaults.counters.map { NamedCounterSeries(name: $0) }
        data.rapl = zones
        var stat = ProcStatSnapshot()
        var vmstat = [UInt64](repeating: 0, count: 4)
        var energy = [UInt64](repeating: 0, count: 4)
        var hidden: [Float] = []
        hidden.reserveCapacity(n)
        data.monotonicNs.reserveCapacity(n)
        data.wallClockNs.reserveCapacity(n)
        for f in 0..<10 { data.cpuFields[f].reserveCapacity(n) }
        for i in 0..<n {
            hidden.append(sample(i, stat: &stat, vmstat: &vmstat, energy: &energy))
            let t = UInt64(i) * intervalNs
            data.monotonicNs.append(1_000_000_000 + t + UInt64(i % 7) * 20_000)
            data.wallClockNs.append(data.metadata.startTimeNs + Int64(t))
            data.cpuFields[0].append(stat.cpu.user); data.cpuFields[1].append(stat.cpu.nice)
            data.cpuFields[2].append(stat.cpu.system); data.cpuFields[3].append(stat.cpu.idle)
            data.cpuFields[4].append(stat.cpu.iowait); data.cpuFields[5].append(stat.cpu.irq)
            data.cpuFields[6].append(stat.cpu.softirq); data.cpuFields[7].append(stat.cpu.steal)
            data.cpuFields[8].append(stat.cpu.guest); data.cpuFields[9].append(stat.cpu.guestNice)
            data.contextSwitches.append(stat.contextSwitches)
            data.interrupts.append(stat.interrupts)
            data.processesCreated.append(stat.processesCreated)
            data.procsRunning.append(stat.procsRunning)
            data.procsBlocked.append(stat.procsBlocked)
            for v in 0..<4 { data.vmstat[v].values.append(vmstat[v]) }
            for z in 0..<4 { data.rapl[z].energyUj.append(energy[z]) }
        }
        data.simHiddenWatts = hidden
        data.segments = stride(from: 0, to: n, by: 2000).map {
            TraceSegment(name: "step-\($0 / 2000)", firstSample: $0, lastSample: min(n, $0 + 2000) - 1, parameters: ["family": "synthetic"])
        }
        return data
    }
}
