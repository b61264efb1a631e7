import VraplCore

/// Per-interval quantities derived from a trace's raw cumulative counters, so that nothing downstream
/// re-parses counters. A trace of n samples has n − 1 intervals; interval k lies between samples k
/// and k + 1 and every array here has `intervalCount` entries.
///
/// - Δt is the real elapsed time from the monotonic timestamps (not the nominal interval).
/// - Watts per RAPL zone are `energyDelta` (wrap-around handled once, in VraplCore) over Δt; package
///   watts are the sum over the `package-*` zones.
/// - CPU percentages follow DECODE-RAPL: user% = Δuser / (Δuser + Δsystem + Δidle + Δiowait) × 100,
///   likewise system% and iowait%. busy% uses the full total of the first eight fields
///   (user … steal): guest and guest_nice are already counted inside user and nice, so they are not
///   added again. busy = total − idle − iowait.
/// - Counters that step backwards (the kernel's iowait can) give a delta of 0, never a huge number.
/// - One zero-tick rule for every path (training features, the guest, `vrapl export`, so `predict
///   --trace` equals `predict --csv` of the trace's own export): an interval whose tick total is 0
///   holds the previous interval's percentages, a zero Δt the previous rates (0 before any); watts
///   of a zero Δt are 0. The only NaN is the watts of an implausible RAPL reading
///   (`implausiblePowerIntervals`), which readers report.
public struct DerivedSeries: Sendable {
    /// Power of one RAPL zone per interval.
    public struct ZonePower: Sendable, Equatable {
        public var key: String
        public var name: String
        public var watts: [Double]
        public var isPackage: Bool { name.hasPrefix("package") }
    }

    /// A per-second rate of a named counter.
    public struct NamedRate: Sendable, Equatable {
        public var name: String
        public var perSecond: [Double]
    }

    public var intervalCount: Int
    /// Δt of each interval from the monotonic clock, in seconds.
    public var intervalSeconds: [Double]
    /// Wall-clock time at the end of each interval (sample k + 1), seconds since the Unix epoch.
    public var endTimeUnix: [Double]
    public var zones: [ZonePower]
    /// Sum of the package zones' watts; nil when the trace has no package zone.
    public var packageWatts: [Double]?
    /// Intervals where some zone's reading cannot be a measurement (`plausibleEnergyDelta`): their
    /// watts are NaN, and every reader reports them instead of using them.
    public var implausiblePowerIntervals: [Int]
    public var userPercent: [Double]
    public var systemPercent: [Double]
    public var iowaitPercent: [Double]
    /// Non-idle share of all CPU time (user … steal), percent.
    public var busyPercent: [Double]
    public var contextSwitchesPerSecond: [Double]
    public var interruptsPerSecond: [Double]
    public var processesPerSecond: [Double]
    /// One rate per recorded /proc/vmstat counter, in the trace's order.
    public var vmstatPerSecond: [NamedRate]
    /// Gauges at the end of each interval.
    public var procsRunning: [Double]
    public var procsBlocked: [Double]

    /// Derives every series from `trace`.
    public init(_ trace: TraceData) {
        let n = trace.sampleCount
        let m = max(0, n - 1)
        intervalCount = m
        var dt = [Double](repeating: 0, count: m)
        var end = [Double](repeating: 0, count: m)
        for k in 0..<m {
            dt[k] = Self.seconds(from: trace.monotonicNs[k], to: trace.monotonicNs[k + 1])
            end[k] = k + 1 < trace.wallClockNs.count ? Double(trace.wallClockNs[k + 1]) / 1e9 : 0
        }
        intervalSeconds = dt
        endTimeUnix = end

        var implausible = Set<Int>()
        zones = trace.rapl.map { zone in
            var watts = [Double](repeating: 0, count: m)
            if zone.energyUj.count == n {
                for k in 0..<m {
                    watts[k] = Self.watts(previous: zone.energyUj[k], current: zone.energyUj[k + 1],
                                          maxRange: zone.maxEnergyRangeUj, seconds: dt[k])
                    if watts[k].isNaN { implausible.insert(k) }
                }
            }
            return ZonePower(key: zone.key, name: zone.name, watts: watts)
        }
        implausiblePowerIntervals = implausible.sorted()
        let packages = zones.filter(\.isPackage)
        if packages.isEmpty {
            packageWatts = nil
        } else {
            var sum = [Double](repeating: 0, count: m)
            for zone in packages { for k in 0..<m { sum[k] += zone.watts[k] } }
            packageWatts = sum
        }

        var user = [Double](repeating: 0, count: m)
        var system = [Double](repeating: 0, count: m)
        var iowait = [Double](repeating: 0, count: m)
        var busy = [Double](repeating: 0, count: m)
        let cpu = trace.cpuFields
        if cpu.count == 10, cpu.allSatisfy({ $0.count == n }) {
            var delta = [UInt64](repeating: 0, count: 8)
            var held = (user: 0.0, system: 0.0, iowait: 0.0, busy: 0.0)
            for k in 0..<m {
                for f in 0..<8 { delta[f] = Self.counterDelta(previous: cpu[f][k], current: cpu[f][k + 1]) }
                let p = Self.cpuPercentages(user: delta[0], nice: delta[1], system: delta[2], idle: delta[3],
                                            iowait: delta[4], irq: delta[5], softirq: delta[6], steal: delta[7])
                // The one zero-tick rule (FeatureExtractor's): an interval in which the counters did not
                // advance holds the previous interval's percentages (0 before any): "no tick" is not 0 %.
                if delta[0] + delta[2] + delta[3] + delta[4] > 0 { held.user = p.user; held.system = p.system; held.iowait = p.iowait }
                if delta.reduce(0, +) > 0 { held.busy = p.busy }
                user[k] = held.user; system[k] = held.system; iowait[k] = held.iowait; busy[k] = held.busy
            }
        }
        userPercent = user
        systemPercent = system
        iowaitPercent = iowait
        busyPercent = busy

        func rates(_ values: [UInt64]) -> [Double] {
            var out = [Double](repeating: 0, count: m)
            guard values.count == n else { return out }
            // A zero Δt holds the previous interval's rate, as FeatureExtractor does.
            var held = 0.0
            for k in 0..<m {
                if dt[k] > 0 { held = Self.rate(previous: values[k], current: values[k + 1], seconds: dt[k]) }
                out[k] = held
            }
            return out
        }
        func gauge(_ values: [UInt64]) -> [Double] {
            guard values.count == n else { return [Double](repeating: 0, count: m) }
            return values.dropFirst().map { Double($0) }
        }
        contextSwitchesPerSecond = rates(trace.contextSwitches)
        interruptsPerSecond = rates(trace.interrupts)
        processesPerSecond = rates(trace.processesCreated)
        vmstatPerSecond = trace.vmstat.map { NamedRate(name: $0.name, perSecond: rates($0.values)) }
        procsRunning = gauge(trace.procsRunning)
        procsBlocked = gauge(trace.procsBlocked)
    }

    // MARK: the pure per-interval functions (each tested on its own)

    /// Seconds between two monotonic readings; 0 if the clock did not advance.
    public static func seconds(from previous: UInt64, to current: UInt64) -> Double {
        current > previous ? Double(current - previous) / 1e9 : 0
    }

    /// Increase of a cumulative counter; 0 when it stepped backwards.
    @inline(__always)
    public static func counterDelta(previous: UInt64, current: UInt64) -> UInt64 {
        current >= previous ? current - previous : 0
    }

    /// Per-second rate of a cumulative counter over `seconds`; 0 for a zero interval.
    public static func rate(previous: UInt64, current: UInt64, seconds: Double) -> Double {
        seconds > 0 ? Double(counterDelta(previous: previous, current: current)) / seconds : 0
    }

    /// Average watts of a wrapping RAPL counter over `seconds` (via `plausibleEnergyDelta`); 0 for a
    /// zero interval without energy, NaN for a reading that cannot be a measurement.
    public static func watts(previous: UInt64, current: UInt64, maxRange: UInt64, seconds: Double) -> Double {
        guard let delta = plausibleEnergyDelta(previous: Microjoules(previous), current: Microjoules(current),
                                               maxRange: Microjoules(maxRange), seconds: seconds) else { return .nan }
        guard seconds > 0 else { return 0 }
        return Double(delta.value) / 1e6 / seconds
    }

    /// Watts of each sample interval of a wrapping energy counter (`watts` between neighbours); index 0,
    /// which has no previous reading, is NaN. `energyUj` and `monotonicNs` are per sample.
    public static func perSampleWatts(energyUj: [UInt64], maxRangeUj: UInt64, monotonicNs: [UInt64]) -> [Double] {
        let n = min(energyUj.count, monotonicNs.count)
        var w = [Double](repeating: .nan, count: n)
        for i in 1..<max(1, n) {
            w[i] = watts(previous: energyUj[i - 1], current: energyUj[i], maxRange: maxRangeUj,
                         seconds: seconds(from: monotonicNs[i - 1], to: monotonicNs[i]))
        }
        return w
    }

    /// CPU percentages from tick deltas: DECODE-RAPL's user/system/iowait (over user + system + idle
    /// + iowait) and busy over the full total (user … steal; guest is inside user).
    public static func cpuPercentages(user: UInt64, nice: UInt64, system: UInt64, idle: UInt64, iowait: UInt64,
                                      irq: UInt64, softirq: UInt64, steal: UInt64)
        -> (user: Double, system: Double, iowait: Double, busy: Double) {
        let decodeTotal = Double(user) + Double(system) + Double(idle) + Double(iowait)
        let total = decodeTotal + Double(nice) + Double(irq) + Double(softirq) + Double(steal)
        let busy = total - Double(idle) - Double(iowait)
        guard decodeTotal > 0 else { return (0, 0, 0, total > 0 ? busy / total * 100 : 0) }
        return (Double(user) / decodeTotal * 100, Double(system) / decodeTotal * 100, Double(iowait) / decodeTotal * 100,
                busy / total * 100)
    }
}
