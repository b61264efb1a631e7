import Foundation
import VraplCore
import VraplNN
@testable import VraplModel

enum TestModels {
    /// A tiny CNN (2 features × 4 steps) so fuzzing stays fast.
    static let tinyCNN: Architecture = {
        var a = Architecture.cnnV41(numFeatures: 2, sequenceLength: 4)
        a.cnnChannels = [3, 2]
        a.cnnKernelSize = 3
        a.latentDim = 3
        a.powerHeadLayers = [4, 2]
        return a
    }()

    /// A model of `arch` with random weights and consistent metadata.
    static func model(_ arch: Architecture, features: [String]? = nil, d: Int? = nil, seed: UInt64 = 1) throws -> ModelFile {
        var rng = SplitMix64(seed: seed)
        var tensors = try ModelFile.zeroTensors(for: arch)
        for (name, tensor) in tensors where tensor.dtype == .f32 {
            let values = (0..<tensor.elementCount).map { _ in
                name.hasSuffix("running_var") ? Float.random(in: 0.5...2, using: &rng) : Float.random(in: -0.5...0.5, using: &rng)
            }
            tensors[name] = SafetensorsTensor(shape: tensor.shape, floats: values)
        }
        tensors = tensors.mapValues { t in t.dtype == .i64 ? SafetensorsTensor(shape: [], int64s: [1234]) : t }
        let steps: Int
        let names: [String]
        switch arch.kind {
        case .cnn1d:
            steps = arch.sequenceLength ?? 1
            names = features ?? (0..<(arch.numFeatures ?? 1)).map { "f\($0)" }
        case .mlp:
            steps = d ?? 25
            names = features ?? (0..<((arch.inputDim ?? 1) / steps)).map { "f\($0)" }
        }
        let n = arch.inputSize
        return ModelFile(architecture: arch, features: names, embedding: Embedding(d: steps, tau: 1, sampleIntervalMs: 16),
                         normalization: Normalization(featureMin: (0..<n).map { Double($0) * 0.5 }, featureRange: (0..<n).map { 1 + Double($0) }),
                         powerSource: .simulated(profile: "test"), provenance: "{\"trace\":\"x.h5\"}", metrics: "{\"mae\":1.5}",
                         trainingStats: nil, name: "tiny", tensors: tensors)
    }

}

