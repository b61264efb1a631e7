import Foundation

/// The power models people use today without a meter, with their published coefficients: nothing
/// is fitted except Kepler's legacy line (which is a regression by design). Each is a curve of busy
/// CPU u ∈ [0, 1] for a whole CPU package, scaled to a guest of k of the host's T threads by its
/// share s = k/T (the way those tools size a cloud instance), so they score on whole-host and
/// guest-view data alike. docs/evaluation.md lists every formula with its source.
public enum PublishedBaselineKind: String, Codable, Sendable, CaseIterable {
    /// Cloud Carbon Footprint, AWS averages per vCPU: k · (0.74 + u · (3.5 − 0.74)) W.
    case ccfAWS = "ccf-aws"
    /// Boavizta's CPU consumption profile (Xeon Silver coefficients): s · (a·ln(b·(100u + c)) + d).
    case boavizta
    /// The TDP ratios of Teads and Boavizta: s · TDP · r(u), r through (0, 0.12), (10 %, 0.32),
    /// (50 %, 0.75), (100 %, 1.02), linear in between.
    case teadsTDP = "teads-tdp"
    /// CodeCarbon without RAPL: s · TDP / 2, whatever the load.
    case codecarbonHalfTDP = "codecarbon-half-tdp"
    /// Legacy Kepler (≤ 0.6): a linear model of power on CPU time, P = a·s + b·(u·s·T), fitted on the
    /// training windows by least squares.
    case keplerLegacy = "kepler-legacy"

    public var title: String {
        switch self {
        case .ccfAWS: return "CCF AWS 0.74-3.5 W/vCPU"
        case .boavizta: return "Boavizta a·ln(b(u+c))+d"
        case .teadsTDP: return "Teads TDP ratios"
        case .codecarbonHalfTDP: return "CodeCarbon 50 % TDP"
        case .keplerLegacy: return "Kepler legacy linear on CPU time"
        }
    }

    /// Whether the curve needs the CPU's TDP.
    public var needsTDP: Bool { self == .teadsTDP || self == .codecarbonHalfTDP }

    /// Cloud Carbon Footprint's AWS averages, W per vCPU at 0 % and 100 % (ccf-coefficients, 2021).
    public static let ccfAWSMinWattsPerVCPU = 0.74, ccfAWSMaxWattsPerVCPU = 3.5
    /// Boavizta's Xeon Silver CPU profile: a, b, c, d (u in %): 20.4 W idle, 73.5 W at 100 %.
    public static let boaviztaXeonSilver = (a: 20.7794, b: 0.3043, c: 8.4241, d: 0.8613)
    /// The Teads / Boavizta TDP ratios: load % → fraction of TDP.
    public static let teadsRatios: [(load: Double, ratio: Double)] = [(0, 0.12), (10, 0.32), (50, 0.75), (100, 1.02)]

    /// The ratio of TDP at `loadPercent`, linear between the published points (clamped at the ends).
    public static func teadsRatio(loadPercent x: Double) -> Double {
        let r = teadsRatios
        if x <= r[0].load { return r[0].ratio }
        for i in 1..<r.count where x <= r[i].load {
            let t = (x - r[i - 1].load) / (r[i].load - r[i - 1].load)
            return r[i - 1].ratio + t * (r[i].ratio - r[i - 1].ratio)
        }
        return r[r.count - 1].ratio
    }
}

/// What the published curves need beyond busy CPU.
public struct PublishedBaselineContext: Sendable {
    /// T, the host's threads (the whole host for whole-host data).
    public var hostThreads: Int
    /// The CPU's TDP, W, and where it came from (`--tdp`, the simulator profile); nil: the TDP
    /// curves are not scored and the report says so.
    public var tdpWatts: Double?
    public var tdpSource: String
    public init(hostThreads: Int, tdpWatts: Double?, tdpSource: String) {
        self.hostThreads = hostThreads; self.tdpWatts = tdpWatts; self.tdpSource = tdpSource
    }
}

/// One published curve, ready to predict (Kepler's legacy line fitted).
public struct PublishedBaseline: Codable, Sendable {
    public var kind: PublishedBaselineKind
    /// ccf-aws [min, max W per vCPU, T]; boavizta [a, b, c, d]; teads-tdp and codecarbon-half-tdp
    /// [TDP]; kepler-legacy [a, b, T].
    public var parameters: [Double]

    /// The curve for `kind`; nil when it needs a TDP the context lacks. Kepler's line is fitted on
    /// training busy fractions `u`, shares `s` and powers `y`.
    public static func make(_ kind: PublishedBaselineKind, context c: PublishedBaselineContext,
                            u: [Double], s: [Double], y: [Double]) -> PublishedBaseline? {
        let t = Double(c.hostThreads)
        switch kind {
        case .ccfAWS:
            return .init(kind: kind, parameters: [PublishedBaselineKind.ccfAWSMinWattsPerVCPU, PublishedBaselineKind.ccfAWSMaxWattsPerVCPU, t])
        case .boavizta:
            let k = PublishedBaselineKind.boaviztaXeonSilver
            return .init(kind: kind, parameters: [k.a, k.b, k.c, k.d])
        case .teadsTDP, .codecarbonHalfTDP:
            guard let tdp = c.tdpWatts else { return nil }
            return .init(kind: kind, parameters: [tdp])
        case .keplerLegacy:
            // Least squares of y on x1 = s and x2 = u·s·T, no free intercept (2 × 2 normal equations).
            var s11 = 0.0, s12 = 0.0, s22 = 0.0, r1 = 0.0, r2 = 0.0
            for i in 0..<min(u.count, s.count, y.count) {
                let x1 = s[i], x2 = u[i] * s[i] * t
                s11 += x1 * x1; s12 += x1 * x2; s22 += x2 * x2; r1 += x1 * y[i]; r2 += x2 * y[i]
            }
            let det = s11 * s22 - s12 * s12
            let a = abs(det) > 1e-12 * max(1, s11 * s22) ? (r1 * s22 - r2 * s12) / det : (s11 > 0 ? r1 / s11 : 0)
            let b = abs(det) > 1e-12 * max(1, s11 * s22) ? (s11 * r2 - s12 * r1) / det : 0
            return .init(kind: kind, parameters: [a, b, t])
        }
    }

    /// Predictions for busy fractions `u` (0…1) of guests holding shares `s` = k/T of the host.
    public func predict(u: [Double], s: [Double]) -> [Double] {
        let p = parameters
        return u.indices.map { i in
            let share = i < s.count ? s[i] : 1, load = min(1, max(0, u[i]))
            switch kind {
            case .ccfAWS: return share * p[2] * (p[0] + load * (p[1] - p[0]))
            case .boavizta: return share * (p[0] * log(p[1] * (100 * load + p[2])) + p[3])
            case .teadsTDP: return share * p[0] * PublishedBaselineKind.teadsRatio(loadPercent: 100 * load)
            case .codecarbonHalfTDP: return share * p[0] / 2
            case .keplerLegacy: return p[0] * share + p[1] * u[i] * share * p[2]
            }
        }
    }
}
