/// RAPL's `energy_uj` counts up to `max_energy_range_uj` and then restarts from 0.

/// The energy consumed between two readings of a wrapping counter, in µJ.
///
/// - `current >= previous`: `current − previous`.
/// - `current < previous`: the counter wrapped once: `(maxRange − previous) + current + 1`
///   (the counter takes the values 0…maxRange, so the step from maxRange to 0 is one µJ).
///   A reading above `maxRange` (a driver that reports a smaller range than it counts) still wraps
///   correctly at the next full 2^32/2^64 boundary: the interval is never dropped.
/// - `maxRange == 0` (unknown range): treated as a 64-bit counter.
///
/// Pure and total: every interval yields a delta; no interval is lost (unlike returning nil on wrap).
public func energyDelta(previous: Microjoules, current: Microjoules, maxRange: Microjoules) -> Microjoules {
    if current.value >= previous.value { return Microjoules(current.value - previous.value) }
    let range = maxRange.value
    if range == 0 || previous.value > range {
        return Microjoules(current.value &- previous.value)  // modular 2^64
    }
    return Microjoules((range - previous.value) + current.value + 1)
}

/// The most power one RAPL zone can plausibly report, in watts: above every server package, DRAM and
/// platform (psys) domain. A larger figure is not a measurement but a broken reading.
public let maximumPlausibleZoneWatts = 5000.0

/// `energyDelta` when the interval is plausible, nil when the delta implies more than
/// `maximumPlausibleZoneWatts` over `seconds` and so cannot be a measurement: a counter that stepped
/// back by a little (a driver reset, a corrupted row) reads as a near-full wrap (262 kJ in 16 ms
/// would be 16 MW), and a reading far above the range as a 2^64 wrap (10^15 W). The bound is
/// `maximumPlausibleZoneWatts` × Δt; intervals of zero length cannot be judged and pass.
public func plausibleEnergyDelta(previous: Microjoules, current: Microjoules, maxRange: Microjoules,
                                 seconds: Double) -> Microjoules? {
    let delta = energyDelta(previous: previous, current: current, maxRange: maxRange)
    guard seconds <= 0 || Double(delta.value) / 1e6 <= maximumPlausibleZoneWatts * seconds else { return nil }
    return delta
}
