import Foundation
import VraplCore
import VraplNN
@testable import VraplModel

/// Deterministic pseudo-random numbers for tests (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

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
        var rng = SeededRandom(seed: seed)
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

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-model-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs python3 with a script and arguments; returns stdout, throws on non-zero exit.
    static func python(_ script: String, _ arguments: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw VraplError("python3 failed: \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}

/// The error message of a throwing call, or nil if it did not throw.
func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}
