import Foundation
import VraplCampaign
import Testing
import VraplDataset
import VraplSim
@testable import VraplEval

/// The Done-when of the feature ceiling: on simulator traces, where `sim_hidden_w` is the power that
/// no predictor of guest-visible history can determine, the model-free estimate lands within 10 % of
/// RMSE(sim_hidden_w), overall and for every family.
@Suite("Eval feature ceiling on simulator traces")
struct SimCeilingTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A small seeded campaign: every demo stressor at full load, 24 repeats each (independent hidden
    /// draws), 2 s runs with 0.5 s cooldowns, and idle periods — about 25 k samples.
    ///
    /// Many repeats per visible level matter: the estimate sees the spread *between* runs that look
    /// alike, while RMSE(sim_hidden_w) of a finite set of runs also contains the square of their
    /// realised mean offset (zero only on average); with n runs per level the two differ by about
    /// √2/n of the hidden variance.
    static func simData(seed: UInt64) throws -> EvalData {
        let profile = try SimProfile.load(root.appendingPathComponent("configs/sim/xeon-silver-4210r.yaml").path)
        var matrix = CampaignMatrix(name: "ceiling-test", stressors: ["cpu", "syscall", "io", "pipe", "vm", "cache"],
                                    levels: [:], duration: 2, cooldown: 0.5)
        for s in matrix.stressors { matrix.levels[s] = [1.0] }
        matrix.repeats = 24
        matrix.synthetic.idleSegments = 10
        matrix.synthetic.idleDuration = 4
        let schedule = SimSchedule.build(matrix: matrix, threads: profile.threads, seed: seed)
        let trace = try SyntheticGenerator(profile: profile, seed: seed).generate(schedule: schedule)
        let options = WindowOptions(embedding: DelayEmbedding(d: 25, tau: 1), skipSamples: 30)
        return try EvalData(traces: [(trace, "sim-\(seed)")], featureSet: .decodeRapl4, options: options)
    }

    @Test(arguments: [UInt64(7)])
    func ceilingMatchesHiddenPower(seed: UInt64) throws {
        let data = try Self.simData(seed: seed)
        #expect(data.powerSourceLabel == "sim")
        guard let truth = data.hiddenRMSE() else { Issue.record("simulator trace without sim_hidden_w"); return }
        var options = FeatureCeiling.Options()
        options.maxReferencePerGroup = 40
        options.maxQueriesPerFamily = 500
        let result = data.featureCeiling(options: options)
        print("ceiling overall \(result.overall.rmse) (gamma \(result.gammaOverallRMSE), nn \(result.overall.nearestNeighbourRMSE)) vs hidden \(truth.overall)")
        for (fam, h) in truth.byFamily.sorted(by: { $0.key < $1.key }) {
            print("  \(fam): ceiling \(result.byFamily[fam]?.rmse ?? .nan) vs hidden \(h)")
        }
        #expect(abs(result.overall.rmse - truth.overall) <= 0.1 * truth.overall,
                "overall: ceiling \(result.overall.rmse) W vs sim_hidden_w RMSE \(truth.overall) W")
        for (fam, h) in truth.byFamily {
            let est = result.byFamily[fam]?.rmse ?? .nan
            #expect(abs(est - h) <= 0.1 * h, "\(fam): ceiling \(est) W vs sim_hidden_w RMSE \(h) W")
        }
    }
}
