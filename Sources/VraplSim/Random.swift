/// Deterministic pseudo-random numbers for the simulator: SplitMix64 seeds xoshiro256**.
/// Same seed → same stream on every platform and build (no system RNG involved).

import VraplCore

/// xoshiro256** (Blackman, Vigna 2018) with helpers for the distributions the simulator uses.
public struct SimRandom: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator for `seed`; `stream` derives independent streams from one seed (e.g. per segment).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var sm = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        s0 = sm.next(); s1 = sm.next(); s2 = sm.next(); s3 = sm.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SimRandom.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SimRandom.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [a, b).
    @inline(__always)
    public mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }

    /// Approximately standard normal: the Irwin–Hall sum of four uniforms, rescaled to unit variance
    /// (support ±3.46σ). Cheap, deterministic, and good enough for visible-counter and meter noise.
    @inline(__always)
    public mutating func normal() -> Double {
        let a = next(), b = next()
        // Four 32-bit uniforms from two 64-bit draws.
        let u = Double(a >> 32) + Double(a & 0xFFFF_FFFF) + Double(b >> 32) + Double(b & 0xFFFF_FFFF)
        return (u * 0x1.0p-32 - 2.0) * 1.7320508075688772
    }

    /// Integer in 0..<n (n > 0).
    @inline(__always)
    public mutating func int(below n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    /// True with probability p.
    @inline(__always)
    public mutating func bernoulli(_ p: Double) -> Bool { uniform() < p }
}
