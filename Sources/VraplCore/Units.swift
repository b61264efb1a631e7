/// Units as types. Energy counters are integer microjoules (as RAPL's `energy_uj` reports them);
/// power is floating-point watts; integrated energy is floating-point joules.

/// An amount of energy in integer microjoules (never a bare number that could be watts).
public struct Microjoules: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: Microjoules, b: Microjoules) -> Bool { a.value < b.value }
    public var joules: Joules { Joules(Double(value) / 1e6) }
    public var description: String { "\(value) µJ" }
}

/// Energy in joules (floating point), used for integrated and attributed energy.
public struct Joules: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Double
    public init(_ value: Double) { self.value = value }
    public static func < (a: Joules, b: Joules) -> Bool { a.value < b.value }
    public static func + (a: Joules, b: Joules) -> Joules { Joules(a.value + b.value) }
    public static func - (a: Joules, b: Joules) -> Joules { Joules(a.value - b.value) }
    public static func += (a: inout Joules, b: Joules) { a.value += b.value }
    public static let zero = Joules(0)
    public var description: String { "\(value) J" }
}

/// Power in watts (floating point).
public struct Watts: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Double
    public init(_ value: Double) { self.value = value }
    public static func < (a: Watts, b: Watts) -> Bool { a.value < b.value }
    public static let zero = Watts(0)
    /// Energy over a duration: W × s = J.
    public func over(_ seconds: Seconds) -> Joules { Joules(value * seconds.value) }
    public var description: String { "\(value) W" }
}

/// A duration in seconds (floating point).
public struct Seconds: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Double
    public init(_ value: Double) { self.value = value }
    public init(nanoseconds: UInt64) { self.value = Double(nanoseconds) / 1e9 }
    public static func < (a: Seconds, b: Seconds) -> Bool { a.value < b.value }
    public var description: String { "\(value) s" }
}

extension Joules {
    /// Average power of this energy over a duration; zero for a non-positive duration.
    public func per(_ seconds: Seconds) -> Watts { seconds.value > 0 ? Watts(value / seconds.value) : .zero }
}
