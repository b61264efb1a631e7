import Foundation
import Testing
import VraplCore
import VraplDataset
import VraplNN
@testable import VraplTraining
import VraplModel

@Suite struct TrainConfigTests {
    static let configs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("configs")

    @Test(arguments: [("v4_tau1", 1, Architecture.Kind.cnn1d, "l1"), ("v4_tau4", 4, .cnn1d, "l1"),
                      ("v4_tau8", 8, .cnn1d, "l1"), ("v3_tau1", 1, .mlp, "mse")])
    func shippedConfigsMirrorDecodeRapl(name: String, tau: Int, kind: Architecture.Kind, loss: String) throws {
        let c = try TrainConfig.load(path: Self.configs.appendingPathComponent("\(name).yaml").path)
        #expect(c.name == name)
        #expect(c.tau == tau && c.d == 25)
        #expect(c.architectureKind == kind)
        #expect(c.loss.name == loss)
        #expect(c.batchSize == 256 && c.learningRate == 5e-4 && c.weightDecay == 3e-4)
        #expect(c.dropout == 0.3 && c.earlyStoppingPatience == 15)
        #expect(c.schedulerFactor == 0.5 && c.schedulerPatience == 5 && c.minLearningRate == 1e-5)
        #expect(c.featureSet == .decodeRapl4 && c.skipSamples == 100 && c.split.kind == .shuffle && c.seed == 42)
        if kind == .cnn1d { #expect(c.architecture == Architecture.cnnV41()) } else { #expect(c.architecture == Architecture.mlpV3()) }
    }

    @Test func demoConfigIsShort() throws {
        let c = try TrainConfig.load(path: Self.configs.appendingPathComponent("demo.yaml").path)
        #expect(c.epochs <= 5)
        #expect(c.maxSamples == 300_000)
    }

    @Test func lossParsesItself() throws {
        #expect(try TrainConfig.parse(yaml: "training: {loss: huber}\n").loss == .huber(delta: 1))
        #expect(try TrainConfig.parse(yaml: "training: {loss: 'huber:0.5'}\n").loss == .huber(delta: 0.5))
        #expect(try TrainConfig.parse(yaml: "version: v3\n").loss == .mse)
        #expect { _ = try TrainConfig.parse(yaml: "training: {loss: l3}\n", source: "c.yaml") } throws: {
            "\($0)" == "c.yaml: training.loss 'l3' is not l1, mse, huber or huber:<delta>"
        }
    }

    @Test func stratifiedSegmentSplit() throws {
        #expect(try TrainConfig.parse(yaml: "split:\n  kind: segment\n  stratify: design\n").split.stratifyByDesign)
        #expect(try !TrainConfig.parse(yaml: "split:\n  kind: segment\n").split.stratifyByDesign)
        #expect { _ = try TrainConfig.parse(yaml: "split:\n  stratify: famly\n", source: "c.yaml") } throws: {
            "\($0)" == "c.yaml: split.stratify 'famly' is not none or design"
        }
        #expect(try TrainConfig.load(path: Self.configs.appendingPathComponent("demo-guest.yaml").path).split.stratifyByDesign)
    }

    @Test func errorsNameTheKey() {
        #expect(throws: VraplError("x.yaml: 'training.batch_size' must be an integer, found 'many'")) {
            try TrainConfig.parse(yaml: "training:\n  batch_size: many\n", source: "x.yaml")
        }
        #expect(throws: VraplError.self) { try TrainConfig.parse(yaml: "split:\n  kind: random\n") }
        #expect(throws: VraplError.self) { try TrainConfig.parse(yaml: "features: psi\n") }
        #expect(throws: VraplError.self) { try TrainConfig.parse(yaml: "- a\n- b\n") }
    }

    @Test("every shipped training config parses; a misspelt key is refused naming it, at every level")
    func unknownKeys() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.configs.path).filter { $0.hasSuffix(".yaml") }
        #expect(names.count >= 7)
        for n in names { _ = try TrainConfig.load(path: Self.configs.appendingPathComponent(n).path) }
        let guest = try TrainConfig.load(path: Self.configs.appendingPathComponent("v4_tau1_guest.yaml").path)
        #expect(guest.featureSet == .guestShare5 && guest.split.kind == .segment && guest.architecture.numFeatures == 5)
        for (yaml, key) in [("learning_rate: 0.1\n", "'learning_rate'"), ("training:\n  learning_rte: 0.1\n", "'training.learning_rte'"),
                            ("model:\n  chanels: [8]\n", "'model.chanels'"), ("training:\n  scheduler:\n    patiense: 3\n", "'training.scheduler.patiense'"),
                            ("data:\n  skip: 3\n", "'data.skip'"), ("split:\n  holdout: io\n", "'split.holdout'"), ("embedding:\n  dd: 3\n", "'embedding.dd'")] {
            #expect { _ = try TrainConfig.parse(yaml: yaml, source: "c.yaml") } throws: { "\($0)".hasPrefix("c.yaml: unknown key \(key)") }
        }
    }

    @Test func extendedFeaturesWidenTheNetwork() throws {
        let c = try TrainConfig.parse(yaml: "features: extended\nembedding:\n  d: 10\n  tau: 2\nsplit:\n  kind: family\n  holdout_family: io\n")
        #expect(c.architecture.numFeatures == 16 && c.architecture.sequenceLength == 10)
        #expect(c.split.kind == .family && c.split.holdoutFamily == "io")
    }

    @Test("busy_source selects where the busy percentages come from; an unknown value is refused")
    func busySource() throws {
        let cfg = try TrainConfig.parse(yaml: "features: guest-share-5\nbusy_source: cgroup-cpu-stat\n")
        #expect(cfg.featureSet.busySource == .cgroupCPUStat && cfg.featureSet.kind == .guestShare5)
        #expect(throws: VraplError.self) { _ = try TrainConfig.parse(yaml: "busy_source: usec\n") }
    }

    @Test("training.interval_level sets the interval's nominal coverage; a level outside (0, 1) is one clear error")
    func intervalLevel() throws {
        #expect(try TrainConfig.parse(yaml: "training: {interval_level: 0.9}\n").intervalLevel == 0.9)
        #expect(TrainConfig.default.intervalLevel == 0.8)
        for bad in ["0", "1", "1.5", "-0.2"] {
            #expect { _ = try TrainConfig.parse(yaml: "training: {interval_level: \(bad)}\n", source: "c.yaml") } throws: { "\($0)".contains("c.yaml") && "\($0)".contains("interval_level") && "\($0)".contains("(0, 1)") }
        }
    }
}
