/// The interval between two export ticks of a split (processes, pods): the active energy the guest
/// estimated over it, J, and its length, s, from the running total and the monotonic clock.
struct ActiveEnergyInterval {
    private var lastJoules: Double?
    private var lastNs: UInt64?

    /// Records this tick and returns the interval since the previous one: nil at the first tick or
    /// when the clock did not advance. A running total that went down (a restart) counts as 0 J.
    mutating func advance(totalJoules: Double, monotonicNs: UInt64) -> (joules: Double, seconds: Double)? {
        defer { lastJoules = totalJoules; lastNs = monotonicNs }
        guard let lastJoules, let lastNs, monotonicNs > lastNs else { return nil }
        return (max(0, totalJoules - lastJoules), Double(monotonicNs - lastNs) / 1e9)
    }
}
