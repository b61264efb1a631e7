import Foundation
import VraplCore
import VraplDataset
import VraplModel
import VraplNN
import VraplTrace
@testable import VraplGuest

enum GuestFixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures")

    /// A small CNN over the decode-rapl-4 features (d = 8) so debug-build tests stay quick.
    static func smallArchitecture(d: Int = 8) -> Architecture {
        var a = Architecture.cnnV41(numFeatures: 4, sequenceLength: d)
        a.cnnChannels = [8, 8]
        a.latentDim = 8
        a.powerHeadLayers = [16, 8]
        return a
    }

    /// A model with a randomly initialised network, plausible min-max ranges and training stats.
    static func model(d: Int = 8, tau: Int = 1, intervalMs: Double = 16, stats: Bool = true, seed: UInt64 = 11,
                      architecture: Architecture? = nil) throws -> ModelFile {
        let arch = architecture ?? smallArchitecture(d: d)
        let network = try Network(architecture: arch, maxBatch: 1, seed: seed)
        // An idle-ish 30 W offset so outputs are positive (energy tests need power above zero).
        let outputBias = "power_head.network.\(3 * arch.powerHeadLayers.count).bias"
        try network.setValues(of: outputBias, to: [30])
        let features = FeatureSet.decodeRapl4.featureNames
        let perFeatureMin: [Double] = [0, 0, 0, 0]
        let perFeatureRange: [Double] = [100, 100, 100, 15]
        let mins = (0..<4).flatMap { f in Array(repeating: perFeatureMin[f], count: d) }
        let ranges = (0..<4).flatMap { f in Array(repeating: perFeatureRange[f], count: d) }
        var model = ModelFile(architecture: arch, features: features, embedding: Embedding(d: d, tau: tau, sampleIntervalMs: intervalMs),
                              normalization: Normalization(featureMin: mins, featureRange: ranges),
                              powerSource: .simulated(profile: "test"), name: "guest-test", tensors: try ModelFile.tensors(from: network))
        if stats {
            model.trainingStats = TrainingStats(windows: 1000, features: features, featureMin: [0, 0, 0, 5],
                                                featureMax: [100, 100, 60, 12], featureQ01: [1, 1, 0, 6],
                                                featureQ50: [30, 10, 1, 9], featureQ99: [95, 60, 20, 11])
        }
        return model
    }

    static func writeModel(_ model: ModelFile, in dir: URL, name: String = "m.safetensors") throws -> String {
        let url = dir.appendingPathComponent(name)
        try model.write(to: url)
        return url.path
    }

    /// A synthetic trace with random but plausible counters, 2 CPUs, USER_HZ 100, 16 ms ticks, and a
    /// package RAPL zone; `gapAt` makes one interval three ticks long.
    static func trace(samples: Int, seed: UInt64 = 5, intervalNs: UInt64 = 16_000_000, gapAt: Int? = nil) -> TraceData {
        var meta = TraceMetadata()
        meta.sampleIntervalNs = intervalNs
        meta.powerSource = .simulated(profile: "test")
        meta.hostName = "synthetic"
        var trace = TraceData(metadata: meta)
        var rng = SplitMix64(state: seed)
        var stat = ProcStatSnapshot()
        var t: UInt64 = 1_000_000_000
        var energy: UInt64 = 0
        var rapl = RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 262_143_328_850)
        for i in 0..<samples {
            let busy = UInt64.random(in: 0...3, using: &rng)
            stat.cpu.user += busy
            stat.cpu.system += UInt64.random(in: 0...1, using: &rng)
            stat.cpu.idle += 3 - min(3, busy)
            stat.cpu.iowait += UInt64.random(in: 0...1, using: &rng) == 1 && i % 7 == 0 ? 1 : 0
            stat.contextSwitches += UInt64.random(in: 100...5000, using: &rng)
            stat.interrupts += UInt64.random(in: 50...500, using: &rng)
            let step = (gapAt == i) ? 3 * intervalNs : intervalNs
            t += step
            energy += UInt64(Double(step) / 1e9 * Double.random(in: 20...60, using: &rng) * 1e6)
            trace.append(monotonicNs: t, wallClockNs: Int64(t) + 1_700_000_000_000_000_000, stat: stat)
            rapl.energyUj.append(energy)
        }
        trace.rapl = [rapl]
        return trace
    }
}

/// A predictor returning a constant, to test integration independently of any network.
final class ConstantPredictor: WindowPredictor {
    let inputSize: Int
    let watts: Float
    var calls = 0
    var lastWindow: [Float] = []
    init(inputSize: Int, watts: Float) { self.inputSize = inputSize; self.watts = watts }
    func predict(window: UnsafePointer<Float>) -> Float {
        calls += 1
        lastWindow = Array(UnsafeBufferPointer(start: window, count: inputSize))
        return watts
    }
    var latent: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: nil, count: 0) }
}

