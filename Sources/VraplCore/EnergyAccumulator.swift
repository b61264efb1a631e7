/// The one integrator of power into a cumulative counter of whole µJ that wraps like a RAPL
/// counter: the fraction below 1 µJ is carried to the next interval (no drift), and a counter
/// above `maxRange` wraps to 0 (`energyDelta` reads it back). Used by the simulators' package and
/// guest-share counters and by guest views derived from per-CPU lines.
public struct EnergyAccumulator: Sendable {
    /// The counter value, µJ.
    public private(set) var counter: UInt64
    /// `max_energy_range_uj` (0: never wraps).
    public let maxRange: UInt64
    private var fraction = 0.0

    public init(start: UInt64 = 0, maxRange: UInt64) {
        self.counter = start
        self.maxRange = maxRange
    }

    /// Adds `watts · seconds` (negative power adds nothing).
    @inline(__always)
    public mutating func add(watts: Double, seconds: Double) {
        fraction += max(0, watts) * seconds * 1e6
        let whole = fraction.rounded(.down)
        fraction -= whole
        counter &+= UInt64(whole)
        if maxRange > 0 { while counter > maxRange { counter -= maxRange + 1 } }
    }
}
