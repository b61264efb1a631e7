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
