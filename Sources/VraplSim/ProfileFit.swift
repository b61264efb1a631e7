import Foundation
import VraplCore
import VraplCampaign
import VraplTrace

/// The profile fit: expected steady-state power per stressor (analytic, from the model equations)
/// and the solve that sets `idle_w` and `class_w` so that each expectation is the midpoint of the
/// published range. docs/simulator.md shows the table this produces.
public enum ProfileFit {
    /// g(B) = B · T(B): turbo-weighted busy CPUs.
    static func g(_ p: SimProfile, _ b: Double) -> Double { b * p.turbo(busyThreads: b) }

    /// Mean visible busy CPUs of `workers` workers of `stressor` in steady state (housekeeping included,
    /// over-subscription shared as the generator does).
    public static func busyThreads(_ p: SimProfile, stressor: String, workers: Int) -> Double {
        let hk = p.housekeepingUser + p.housekeepingSystem
        guard let sp = p.stressors[stressor] else { return hk }
        let w = Double(workers)
        let demand = w * (sp.user + sp.system + sp.iowait + sp.softirq)
        let f = demand > Double(p.threads) - hk && demand > 0 ? (Double(p.threads) - hk) / demand : 1
        return hk + f * w * sp.busyPerWorker
    }

    /// Fraction of idle samples inside a background wake-up, and the wake-up's mean size.
    static func backgroundDuty(_ p: SimProfile, sampleInterval: Double) -> (fraction: Double, threads: Double) {
        let q = p.backgroundRateHz * sampleInterval
        let meanLength = Double(p.backgroundSamples.lowerBound + p.backgroundSamples.upperBound) / 2
        let f = q * meanLength / (1 + q * meanLength)
        return (f, (p.backgroundThreads.lowerBound + p.backgroundThreads.upperBound) / 2)
    }

    /// Weights of (P_idle, p_compute … p_pipe) in the expected idle power.
    static func idleRow(_ p: SimProfile, sampleInterval: Double) -> [Double] {
        let hk = p.housekeepingUser + p.housekeepingSystem
        let (f, c) = backgroundDuty(p, sampleInterval: sampleInterval)
        let gIdle = (1 - f) * g(p, hk) + f * g(p, hk + c)
        return [1] + InstructionClass.allCases.map { (p.backgroundMix[$0] ?? 0) * gIdle }
    }

    /// Weights of (P_idle, p_c…) in the expected steady power of a stressor at `workers` workers.
    static func stressorRow(_ p: SimProfile, stressor: String, workers: Int) -> [Double] {
        let gb = g(p, busyThreads(p, stressor: stressor, workers: workers))
        let mix = p.stressors[stressor]?.mix ?? [:]
        return [1] + InstructionClass.allCases.map { (mix[$0] ?? 0) * gb }
    }

    /// Expected steady-state package power (W) of `stressor` (or `idle`) at `workers` workers.
    public static func expectedPower(_ p: SimProfile, stressor: String, workers: Int, sampleInterval: Double = 0.016) -> Double {
        let row = stressor == "idle" ? idleRow(p, sampleInterval: sampleInterval) : stressorRow(p, stressor: stressor, workers: workers)
        let x = [p.idleWatts] + InstructionClass.allCases.map { p.classWatts[$0] ?? 0 }
        return zip(row, x).reduce(0) { $0 + $1.0 * $1.1 }
    }

    /// Solves for `idleWatts` and `classWatts` so that the expected power of `idle` and of each of the
    /// six class-dominant stressors at `threads` workers is its published midpoint. Needs exactly
    /// seven targets (idle + six stressors) for a square system.
    public static func fit(_ p: SimProfile, sampleInterval: Double = 0.016) throws -> SimProfile {
        var rows: [[Double]] = [], rhs: [Double] = []
        for (name, range) in p.published.sorted(by: { $0.key < $1.key }) {
            if name == "idle" {
                rows.append(idleRow(p, sampleInterval: sampleInterval))
            } else {
                guard p.stressors[name] != nil else { throw VraplError("published range for unknown stressor '\(name)'") }
                rows.append(stressorRow(p, stressor: name, workers: p.threads))
            }
            rhs.append((range.lowerBound + range.upperBound) / 2)
        }
        guard rows.count == 1 + InstructionClass.allCases.count else {
            throw VraplError("the fit needs idle plus \(InstructionClass.allCases.count) published stressor ranges, found \(rows.count)")
        }
        let x = try solve(rows, rhs)
        var out = p
        out.idleWatts = x[0]
        for (i, c) in InstructionClass.allCases.enumerated() {
            guard x[i + 1] >= 0 else { throw VraplError("fit gives negative watts for class \(c.rawValue): adjust the stressor mixes") }
            out.classWatts[c] = x[i + 1]
        }
        return out
    }

    /// Gaussian elimination with partial pivoting (small dense systems).
    public static func solve(_ a: [[Double]], _ b: [Double]) throws -> [Double] {
        let n = b.count
        var m = a, v = b
        for col in 0..<n {
            var pivot = col
            for r in col..<n where abs(m[r][col]) > abs(m[pivot][col]) { pivot = r }
            guard abs(m[pivot][col]) > 1e-12 else { throw VraplError("profile fit: singular system (two stressors with the same mix?)") }
            m.swapAt(col, pivot); v.swapAt(col, pivot)
            for r in (col + 1)..<n {
                let f = m[r][col] / m[col][col]
                if f == 0 { continue }
                for c in col..<n { m[r][c] -= f * m[col][c] }
                v[r] -= f * v[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = v[r]
            for c in (r + 1)..<n { s -= m[r][c] * x[c] }
            x[r] = s / m[r][r]
        }
        return x
    }

    /// Mean power (after the first second) of 24 steady segments of `stressor` at `threads` workers,
    /// seed 42: the "simulated segment means" column of `vrapl simulate fit`.
    public static func simulatedSegmentMeans(_ prof: SimProfile, stressor: String) throws -> [Double] {
        var segs: [ScheduledSegment] = []
        for i in 0..<24 {
            let st = stressor == "idle" ? [] : [Combination.Stressor(name: stressor, level: 1, workers: prof.threads)]
            segs.append(ScheduledSegment(name: "s\(i)", kind: st.isEmpty ? .idle : .steady, stressors: st, samples: 625, parameters: [:]))
        }
        let t = try SyntheticGenerator(profile: prof, seed: 42).generate(schedule: SimSchedule(segments: segs, sampleInterval: 0.016))
        let watts = DerivedSeries.perSampleWatts(energyUj: t.rapl[0].energyUj, maxRangeUj: t.rapl[0].maxEnergyRangeUj, monotonicNs: t.monotonicNs)
        var out: [Double] = []
        var first = 0
        for s in segs {
            let steady = watts[(first + 63)..<(first + s.samples)]
            out.append(steady.reduce(0, +) / Double(steady.count))
            first += s.samples
        }
        return out
    }
}
