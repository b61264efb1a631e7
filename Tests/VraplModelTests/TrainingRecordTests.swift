import Foundation
import Testing
import VraplCore
import VraplDataset
@testable import VraplModel

/// The `metrics` and `provenance` texts decode once, at load, into types: including the shapes
/// earlier versions wrote and the free-form text of an imported checkpoint.
@Suite("Training record")
struct TrainingRecordTests {
    static let oldMetrics = """
    {"best_epoch":8,"epochs_run":8,"power_source":"sim:xeon-silver-4210r","split":"shuffle",
     "test":{"count":30000,"loss":1.07,"mae":1.07,"r2":0.992,"rmse":1.44},
     "validation":{"count":30000,"loss":1.06,"mae":1.06,"r2":null,"rmse":1.43}}
    """

    @Test func metricsOfEarlierVersionsDecode() throws {
        let m = try #require(ModelFile.decode(Self.oldMetrics) as MetricsSummary?)
        #expect(m.split == .shuffle && m.bestEpoch == 8 && m.powerSource == .simulated(profile: "xeon-silver-4210r"))
        #expect(m.test.count == 30000 && m.test.mae == 1.07 && m.test.r2 == 0.992)
        #expect(m.validation.r2 == nil, "null R² reads as nil")
        #expect(m.test.errors.mape == nil && m.test.errors.meanBias.isNaN, "fields older files lack")
        // Split written as prose or as an object.
        let prose = Self.oldMetrics.replacingOccurrences(of: "\"split\":\"shuffle\"", with: "\"split\":\"segment (seed 3)\"")
        #expect((ModelFile.decode(prose) as MetricsSummary?)?.split == .segment)
        let nested = Self.oldMetrics.replacingOccurrences(of: "\"split\":\"shuffle\"", with: "\"split\":{\"kind\":\"time\"}")
        #expect((ModelFile.decode(nested) as MetricsSummary?)?.split == .time)
    }

    @Test func roundTripAndModelFileKeepsThemInStep() throws {
        let metrics = MetricsSummary(split: .family, bestEpoch: 2, epochsRun: 3,
                                     validation: .compute(predictions: [1, 2, 4], targets: [1, 3, 3], loss: .l1),
                                     test: .empty(), powerSource: .rapl)
        let back = try #require(ModelFile.decode(try metrics.json()) as MetricsSummary?)
        #expect(back.split == .family && back.validation == metrics.validation && back.test.count == 0)
        let provenance = TrainingProvenance(tool: "vrapl t", split: .family, seed: 9,
                                            heldOut: ["test:family=cache", "test:cache-1"],
                                            windows: .init(train: 80, validation: 10, test: 10))
        var model = try TestModels.model(TestModels.tinyCNN)
        model.provenance = try provenance.json()
        model.metrics = try metrics.json()
        #expect(model.trainingProvenance == provenance)
        #expect(model.trainingProvenance?.heldOutFamily == "cache")
        #expect(model.trainingProvenance?.windows?.total == 100)
        #expect(model.trainingMetrics?.split == .family)
        // Free-form text (an imported checkpoint's) is simply not typed.
        model.metrics = #"{"source": "decode-rapl"}"#
        #expect(model.trainingMetrics == nil)
        model.provenance = "not json"
        #expect(model.trainingProvenance == nil)
    }
}
