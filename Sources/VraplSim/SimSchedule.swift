import VraplCore

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

    public init(name: String, kind: Kind, stressors: [Combination.Stressor], samples: Int, parameters: [String: String]) {
        self.name = name; self.kind = kind; self.stressors = stressors; self.samples = samples; self.parameters = parameters
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
        var combos = matrix.combinations(coreCount: threads)
        if matrix.synthetic.shuffle {
            for i in stride(from: combos.count - 1, to: 0, by: -1) { combos.swapAt(i, rng.int(below: i + 1)) }
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
            blocks.append(block)
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
        for e in extras { blocks.insert(e, at: rng.int(below: blocks.count + 1)) }

        var segments = [ScheduledSegment(name: "idle-lead-in", kind: .idle, stressors: [], samples: n(leadIn * k),
                                         parameters: ["family": "idle", "stressor": "idle", "workers": "0", "kind": "idle"])]
        for b in blocks { segments.append(contentsOf: b) }
        return SimSchedule(segments: segments, sampleInterval: sampleInterval)
    }
}

import Foundation
