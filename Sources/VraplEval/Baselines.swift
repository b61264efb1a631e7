import Foundation

/// Simple power models of busy CPU u ∈ [0, 1], fitted on the training rows of a split and scored on
/// its test rows, so a learned model has to beat them to earn its keep.
///
/// - `constant`: ŷ = mean of training power.
/// - `linear`: ŷ = a + b·u, ordinary least squares.
/// - `ccf` (Cloud Carbon Footprint): ŷ = min + u·(max − min). Fitting min and max by least squares
///   would make it the `linear` baseline again, so here they are fitted the way the method is used,
///   from the end points: min = mean training power with u < 5 %, max = mean training power with
///   u > 90 %; where a end has no rows, the `linear` fit's value at u = 0 or 1 stands in.
/// - `codecarbon`: ŷ = TDP · (0.1 + 0.9·u³), TDP by least squares in closed form:
///   TDP = Σ gᵢyᵢ / Σ gᵢ², gᵢ = 0.1 + 0.9·uᵢ³.
/// - `family-oracle`: ŷ = a_f + b_f·u fitted separately for each workload family f on that family's
///   training rows — what per-workload knowledge with a linear load curve gets. Under a family split
///   a test family has no training rows; it is then fitted on its own test rows (in sample, an
///   optimistic bound) and listed in `inSampleFamilies`.
public enum BaselineKind: String, CaseIterable, Codable, Sendable {
    case constant, linear, ccf, codecarbon
    case familyOracle = "family-oracle"

    public var title: String {
        switch self {
        case .constant: return "constant mean"
        case .linear: return "linear in busy CPU"
        case .ccf: return "CCF min+u(max-min)"
        case .codecarbon: return "CodeCarbon TDP(0.1+0.9u^3)"
        case .familyOracle: return "per-family oracle linear"
        }
    }
}

/// A fitted baseline.
public struct Baseline: Codable, Sendable, Equatable {
    public var kind: BaselineKind
    /// Parameters: constant [mean]; linear [a, b]; ccf [min, max]; codecarbon [tdp]; family-oracle: by family.
    public var parameters: [Double]
    public var familyParameters: [String: [Double]]
    public var inSampleFamilies: [String]

    enum CodingKeys: String, CodingKey {
        case kind, parameters
        case familyParameters = "family_parameters"
        case inSampleFamilies = "in_sample_families"
    }

    /// Least squares a + b·x; a constant x gives b = 0, a = mean y. Empty input gives (0, 0).
    public static func fitLine(x: [Double], y: [Double]) -> (a: Double, b: Double) {
        let n = min(x.count, y.count)
        guard n > 0 else { return (0, 0) }
        var mx = 0.0, my = 0.0
        for i in 0..<n { mx += x[i]; my += y[i] }
        mx /= Double(n); my /= Double(n)
        var sxx = 0.0, sxy = 0.0
        for i in 0..<n { let dx = x[i] - mx; sxx += dx * dx; sxy += dx * (y[i] - my) }
        let b = sxx > 1e-12 * Double(n) ? sxy / sxx : 0
        return (my - b * mx, b)
    }

    /// Fits `kind` on training busy fraction u (0…1), power y and family labels (only the oracle uses them).
    public static func fit(_ kind: BaselineKind, u: [Double], y: [Double], families: [String] = [],
                           testU: [Double] = [], testY: [Double] = [], testFamilies: [String] = []) -> Baseline {
        var b = Baseline(kind: kind, parameters: [], familyParameters: [:], inSampleFamilies: [])
        let n = min(u.count, y.count)
        switch kind {
        case .constant:
            b.parameters = [n > 0 ? y.prefix(n).reduce(0, +) / Double(n) : 0]
        case .linear:
            let l = fitLine(x: u, y: y); b.parameters = [l.a, l.b]
        case .ccf:
            let l = fitLine(x: u, y: y)
            let lowY = (0..<n).filter { u[$0] < 0.05 }.map { y[$0] }
            let highY = (0..<n).filter { u[$0] > 0.90 }.map { y[$0] }
            let lo = lowY.isEmpty ? l.a : lowY.reduce(0, +) / Double(lowY.count)
            let hi = highY.isEmpty ? l.a + l.b : highY.reduce(0, +) / Double(highY.count)
            b.parameters = [lo, hi]
        case .codecarbon:
            var sgy = 0.0, sgg = 0.0
            for i in 0..<n { let g = 0.1 + 0.9 * u[i] * u[i] * u[i]; sgy += g * y[i]; sgg += g * g }
            b.parameters = [sgg > 0 ? sgy / sgg : 0]
        case .familyOracle:
            var rows: [String: [Int]] = [:]
            for i in 0..<min(n, families.count) { rows[families[i], default: []].append(i) }
            for (f, idx) in rows {
                let l = fitLine(x: idx.map { u[$0] }, y: idx.map { y[$0] }); b.familyParameters[f] = [l.a, l.b]
            }
            let global = fitLine(x: u, y: y)
            b.parameters = [global.a, global.b]
            var testRows: [String: [Int]] = [:]
            for i in 0..<min(testU.count, testY.count, testFamilies.count) where rows[testFamilies[i]] == nil {
                testRows[testFamilies[i], default: []].append(i)
            }
            for (f, idx) in testRows {
                let l = fitLine(x: idx.map { testU[$0] }, y: idx.map { testY[$0] }); b.familyParameters[f] = [l.a, l.b]
                b.inSampleFamilies.append(f)
            }
            b.inSampleFamilies.sort()
        }
        return b
    }

    /// Predictions for busy fractions u (and families, for the oracle).
    public func predict(u: [Double], families: [String] = []) -> [Double] {
        switch kind {
        case .constant:
            let c = parameters.first ?? 0
            return u.map { _ in c }
        case .linear:
            let a = parameters[0], b = parameters[1]
            return u.map { a + b * $0 }
        case .ccf:
            let lo = parameters[0], hi = parameters[1]
            return u.map { lo + $0 * (hi - lo) }
        case .codecarbon:
            let tdp = parameters.first ?? 0
            return u.map { tdp * (0.1 + 0.9 * $0 * $0 * $0) }
        case .familyOracle:
            return u.indices.map { i in
                let p = i < families.count ? (familyParameters[families[i]] ?? parameters) : parameters
                return p[0] + p[1] * u[i]
            }
        }
    }
}
