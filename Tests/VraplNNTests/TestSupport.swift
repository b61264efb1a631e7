import VraplCore
import Testing
@testable import VraplNN

/// Deterministic pseudo-random values in [-1, 1).
func randomValues(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { _ in (Double(g.next() >> 11) * 0x1p-53 * 2 - 1) * scale }
}

/// Largest |a − b| / max(|b|, floor).
func maxRelativeDifference(_ a: [Float], _ b: [Float], floor: Float = 1e-2) -> Float {
    precondition(a.count == b.count)
    var worst: Float = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i]) / max(abs(b[i]), floor)) }
    return worst
}

func maxRelativeDifference(_ a: [Double], _ b: [Double], floor: Double = 1e-6) -> Double {
    precondition(a.count == b.count)
    var worst: Double = 0
    for i in a.indices { worst = max(worst, abs(a[i] - b[i]) / max(abs(b[i]), floor)) }
    return worst
}

/// Central finite differences of a scalar function of `x` (Double).
func finiteDifferences(_ x: [Double], step: Double = 1e-6, _ f: ([Double]) -> Double) -> [Double] {
    var x = x
    var g = [Double](repeating: 0, count: x.count)
    for i in x.indices {
        let saved = x[i]
        x[i] = saved + step; let up = f(x)
        x[i] = saved - step; let down = f(x)
        x[i] = saved
        g[i] = (up - down) / (2 * step)
    }
    return g
}

/// Σ w·y: turns a vector output into a scalar with a fixed random cotangent w.
func weightedSum(_ y: [Double], _ w: [Double]) -> Double { zip(y, w).reduce(0) { $0 + $1.0 * $1.1 } }

extension Array where Element == Double {
    var floats: [Float] { map { Float($0) } }
}
extension Array where Element == Float {
    var doubles: [Double] { map { Double($0) } }
}

/// Converts PyTorch layout [batch, channels, length] to the engine's channel-major [channels, batch, length].
func toChannelMajor<T>(_ x: [T], batch: Int, channels: Int, length: Int) -> [T] {
    var out = x
    for b in 0..<batch { for c in 0..<channels { for l in 0..<length {
        out[(c * batch + b) * length + l] = x[(b * channels + c) * length + l]
    } } }
    return out
}

func fromChannelMajor<T>(_ x: [T], batch: Int, channels: Int, length: Int) -> [T] {
    var out = x
    for b in 0..<batch { for c in 0..<channels { for l in 0..<length {
        out[(b * channels + c) * length + l] = x[(c * batch + b) * length + l]
    } } }
    return out
}
