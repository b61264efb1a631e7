import VraplCore
import VraplCampaign

/// One segment of a synthetic timeline: what runs, for how many samples.
public struct ScheduledSegment: Sendable, Equatable {
    /// `idle`: nothing but housekeeping and background wake-ups; `steady`: a matrix combination;
    /// `cooldown`: the idle pause after a combination; `burst`: a short load right after idle.
    public enum Kind: String, Sendable { case idle, steady, cooldown, burst }
    public var name: String
    public var kind: Kind
    public var stressors: [Combination.Stressor]
    public var samples: Int
    /// Segment parameters written to the trace (family, stressor, workers, kind, …).
    public var parameters: [String: String]
    /// Guest views: the guest's vCPUs k (nil: the whole host), the busy fraction of the other
    /// T − k threads and what runs there.
    public var vcpus: Int?
    public var neighbourLoad: Double = 0
    public var neighbourStressor: String?

    public init(name: String, kind: Kind, stressors: [Combination.Stressor], samples: Int, parameters: [String: String]) {
        self.name = name; self.kind = kind; self.stressors = stressors; self.samples = samples; self.parameters = parameters
    }

    /// This segment confined to a k-vCPU guest with a neighbour load (recorded in its parameters).
    public func confined(vcpus k: Int, neighbourLoad load: Double, neighbourStressor: String?) -> ScheduledSegment {
        var s = self
        s.vcpus = k; s.neighbourLoad = load; s.neighbourStressor = load > 0 ? neighbourStressor : nil
        s.parameters["vcpus"] = String(k)
        s.parameters["neighbour_load"] = String(format: "%g", load)
        if let n = s.neighbourStressor { s.parameters["neighbour_stressor"] = n }
        return s
    }
}

/// The synthetic timeline for a matrix: combinations (shuffled by seed), their cooldowns, extra idle
/// periods and short bursts after idle.
public struct SimSchedule: Sendable {
    public var segments: [ScheduledSegment]
    public var sampleInterval: Double

    public init(segments: [ScheduledSegment], sampleInterval: Double) {
        self.segments = segments; self.sampleInterval = sampleInterval
    }

    public var totalSamples: Int { segments.reduce(0) { $0 + $1.samples } }

    /// Builds the timeline. `scale` multiplies every duration except the bursts' own (bursts stay
    /// short: that is what makes them bursts). `targetSamples`, when set, chooses the scale.
    public static func build(matrix: CampaignMatrix, threads: Int, seed: UInt64, sampleInterval: Double = 0.016,
                             scale: Double = 1, targetSamples: Int? = nil) -> SimSchedule {
        var rng = SimRandom(seed: seed, stream: 0x5C4E_D01E)
        // Guest views: every combination once per (k, neighbour load), workers a fraction of k.
        struct Placement { var vcpus: Int; var load: Double; var neighbour: String? }
        var combos: [Combination] = []
        var placements: [Placement?] = []
        var trng = SimRandom(seed: seed, stream: 0x7E4A_0C11)  // tenancy draws only: whole-host schedules stay as they were
        if let tenancy = matrix.tenancy {
            for k in tenancy.vcpus {
                for load in tenancy.neighbourLoads {
                    for c in matrix.combinations(coreCount: k) {
                        combos.append(c)
                        let n = tenancy.neighbourStressors.isEmpty ? nil : tenancy.neighbourStressors[trng.int(below: tenancy.neighbourStressors.count)]
                        placements.append(Placement(vcpus: k, load: load, neighbour: n))
                    }
                }
            }
        } else {
            combos = matrix.combinations(coreCount: threads)
            placements = Array(repeating: nil, count: combos.count)
        }
        if matrix.synthetic.shuffle {
            for i in stride(from: combos.count - 1, to: 0, by: -1) {
                let j = rng.int(below: i + 1)
                combos.swapAt(i, j)
                placements.swapAt(i, j)
            }
        }
        // Burst groups: idle-before then the burst. Drawn up front so the scale can account for them.
        struct Burst { var idle: Double; var burst: Double; var stressor: Combination.Stressor }
        var bursts: [Burst] = []
        let burstStressors = matrix.stressors
        for _ in 0..<matrix.synthetic.burstCount where !burstStressors.isEmpty {
            let name = burstStressors[rng.int(below: burstStressors.count)]
            let levels = matrix.levels[name] ?? [1]
            let level = levels[rng.int(below: levels.count)]
            let st = Combination.Stressor(name: name, level: level, workers: max(1, Int((level * Double(threads)).rounded())))
            bursts.append(Burst(idle: rng.uniform(matrix.synthetic.idleBeforeBurst.lowerBound, matrix.synthetic.idleBeforeBurst.upperBound),
                                burst: rng.uniform(matrix.synthetic.burstDuration.lowerBound, matrix.synthetic.burstDuration.upperBound),
                                stressor: st))
        }
        let leadIn = 5.0
        let scalable = leadIn + combos.reduce(0) { $0 + $1.duration + $1.cooldown }
            + Double(matrix.synthetic.idleSegments) * matrix.synthetic.idleDuration
        let fixed = bursts.reduce(0) { $0 + $1.burst } 
        let burstIdle = bursts.reduce(0) { $0 + $1.idle }
        var k = scale
        if let target = targetSamples, target > 0 {
            // Idle before bursts scales with the rest (it is ordinary idle).
            let want = Double(target) * sampleInterval - fixed
            k = max(0.001, want / max(1e-9, scalable + burstIdle))
        }
        func n(_ seconds: Double) -> Int { max(1, Int((seconds / sampleInterval).rounded())) }

        // The body: combinations with their cooldowns, then extra idle segments and burst groups
        // inserted at random positions between them.
        var blocks: [[ScheduledSegment]] = []
        for (i, c) in combos.enumerated() {
            var block: [ScheduledSegment] = []
            var p = c.parameters
            if !c.isIdle { p["kind"] = "steady" }
            block.append(ScheduledSegment(name: c.name, kind: c.isIdle ? .idle : .steady, stressors: c.stressors,
                                          samples: n(c.duration * k), parameters: p))
            if c.cooldown > 0 {
                block.append(ScheduledSegment(name: "cooldown-\(i + 1)", kind: .cooldown, stressors: [],
                                              samples: n(c.cooldown * k),
                                              parameters: ["family": "idle", "stressor": "idle", "workers": "0", "kind": "cooldown"]))
            }
            if let pl = placements[i] {
                block = block.map { $0.confined(vcpus: pl.vcpus, neighbourLoad: pl.load, neighbourStressor: pl.neighbour) }
            }
            blocks.append(block)
        }
        // Idle periods and bursts of a guest view run at a drawn (k, neighbour load) too; a burst's
        // workers are a fraction of that k.
        func place(_ group: [ScheduledSegment]) -> [ScheduledSegment] {
            guard let t = matrix.tenancy, !t.vcpus.isEmpty, !t.neighbourLoads.isEmpty else { return group }
            let vcpus = t.vcpus[trng.int(below: t.vcpus.count)]
            let load = t.neighbourLoads[trng.int(below: t.neighbourLoads.count)]
            let neighbour = t.neighbourStressors.isEmpty ? nil : t.neighbourStressors[trng.int(below: t.neighbourStressors.count)]
            return group.map { seg in
                var s = seg
                if s.kind == .burst {
                    s.stressors = s.stressors.map { .init(name: $0.name, level: $0.level, workers: max(1, Int(($0.level * Double(vcpus)).rounded()))) }
                    s.parameters["workers"] = s.stressors.map { String($0.workers) }.joined(separator: "+")
                    if let st = s.stressors.first, let dash = s.name.lastIndex(of: "-") { s.name = s.name[..<dash] + "-\(st.workers)" }
                }
                return s.confined(vcpus: vcpus, neighbourLoad: load, neighbourStressor: neighbour)
            }
        }
        var extras: [[ScheduledSegment]] = []
        for j in 0..<matrix.synthetic.idleSegments {
            extras.append([ScheduledSegment(name: "idle-extra-\(j + 1)", kind: .idle, stressors: [],
                                            samples: n(matrix.synthetic.idleDuration * k),
                                            parameters: ["family": "idle", "stressor": "idle", "workers": "0", "kind": "idle"])])
        }
        for (j, b) in bursts.enumerated() {
            let burstName = "burst-\(j + 1)-\(b.stressor.name)-\(b.stressor.workers)"
            extras.append([
                ScheduledSegment(name: "idle-before-burst-\(j + 1)", kind: .idle, stressors: [], samples: n(b.idle * k),
                                 parameters: ["family": "idle", "stressor": "idle", "workers": "0", "kind": "idle"]),
                ScheduledSegment(name: burstName, kind: .burst, stressors: [b.stressor], samples: n(b.burst),
                                 parameters: ["family": b.stressor.name, "stressor": b.stressor.name,
                                              "workers": String(b.stressor.workers),
                                              "level": String(format: "%g", b.stressor.level), "kind": "burst"]),
            ])
        }
        for e in extras { blocks.insert(place(e), at: rng.int(below: blocks.count + 1)) }

        var leadInSegment = ScheduledSegment(name: "idle-lead-in", kind: .idle, stressors: [], samples: n(leadIn * k),
                                             parameters: ["family": "idle", "stressor": "idle", "workers": "0", "kind": "idle"])
        if let first = blocks.first?.first, let vcpus = first.vcpus {
            leadInSegment = leadInSegment.confined(vcpus: vcpus, neighbourLoad: 0, neighbourStressor: nil)
        }
        var segments = [leadInSegment]
        for b in blocks { segments.append(contentsOf: b) }
        return SimSchedule(segments: segments, sampleInterval: sampleInterval)
    }
}

import Foundation
