import Testing
import VraplCore
@testable import VraplNN

@Suite("NN sliding forward: shared convolution outputs of windows one sample apart")
struct SlidingForwardTests {
    static func architecture(features: Int, d: Int, channels: [Int], kernel: Int, batchNorm: Bool, pool: Int = 2) -> Architecture {
        var a = Architecture.cnnV41(numFeatures: features, sequenceLength: d)
        a.cnnChannels = channels; a.cnnKernelSize = kernel; a.useBatchNorm = batchNorm; a.poolSize = pool
        a.latentDim = 6; a.powerHeadLayers = [9, 5]
        return a
    }

    /// A network with random weights and random BatchNorm running statistics (so BN is not the identity).
    static func network(_ a: Architecture, maxBatch: Int, seed: UInt64, inferenceOnly: Bool = false) throws -> Network {
        let net = try Network(architecture: a, maxBatch: maxBatch, seed: seed, inferenceOnly: inferenceOnly)
        for t in net.tensors where t.name.hasSuffix("running_mean") || t.name.hasSuffix("running_var") {
            let values = randomValues(t.count, seed: seed &+ UInt64(t.name.utf8.count))
            try net.setValues(of: t.name, to: values.map { t.name.hasSuffix("var") ? Float(0.5 + abs($0)) : Float(0.3 * $0) })
        }
        return net
    }

    /// `count` windows of `d` positions over one run of samples, window b + 1 one sample after window b;
    /// position 0 of a window is its newest sample (the dataset's layout) or, `oldestFirst`, its oldest.
    static func slidingWindows(features: Int, d: Int, count: Int, seed: UInt64, oldestFirst: Bool = false) -> [Float] {
        let length = count + d - 1
        let series = randomValues(features * length, seed: seed).map(Float.init)  // [feature][time]
        var windows = [Float](repeating: 0, count: count * features * d)
        for b in 0..<count {
            let newest = b + d - 1
            for f in 0..<features {
                for j in 0..<d { windows[(b * features + f) * d + (oldestFirst ? d - 1 - j : j)] = series[f * length + newest - j] }
            }
        }
        return windows
    }

    @Test("predictions and latents equal the ordinary forward's for every run length and shape",
          arguments: [(4, 25, [32, 64], 5, true, 2), (3, 9, [4, 6, 5], 3, false, 2), (2, 9, [5, 3], 5, true, 2),
                      (3, 13, [4, 5], 3, true, 3), (2, 11, [3], 5, false, 1), (2, 10, [4, 3], 3, true, 4)])
    func equalsForward(features: Int, d: Int, channels: [Int], kernel: Int, batchNorm: Bool, pool: Int) throws {
        let a = Self.architecture(features: features, d: d, channels: channels, kernel: kernel, batchNorm: batchNorm, pool: pool)
        let reference = try Self.network(a, maxBatch: 8, seed: 3)
        // The guest's network: inference-only (no training buffers).
        let sliding = try Self.network(a, maxBatch: 8, seed: 3, inferenceOnly: true)
        #expect(sliding.canSlide)
        for (n, oldestFirst) in [(1, false), (2, false), (5, true), (8, false), (8, true)] {
            let windows = Self.slidingWindows(features: features, d: d, count: n, seed: UInt64(n), oldestFirst: oldestFirst)
            let direction: Network.Slide = oldestFirst ? .oldestFirst : .newestFirst
            #expect(n == 1 || sliding.slide(windows, count: n) == direction)
            let expected = reference.forward(inputs: windows, training: false)
            let expectedLatents = (0..<n).map { Array(reference.latent(row: $0)) }
            let got = windows.withUnsafeBufferPointer { Array(sliding.forwardSliding(inputs: $0.baseAddress!, count: n, slide: direction)) }
            #expect(maxRelativeDifference(got, expected) < 1e-5, "n \(n): \(got) vs \(expected)")
            for b in 0..<n {
                #expect(maxRelativeDifference(Array(sliding.latent(row: b)), expectedLatents[b]) < 1e-5)
            }
        }
    }

    @Test("an inference-only network predicts what the full one does, bit for bit, at every batch size")
    func inferenceOnlyEqualsFull() throws {
        let a = Self.architecture(features: 4, d: 25, channels: [32, 64], kernel: 5, batchNorm: true)
        let full = try Self.network(a, maxBatch: 32, seed: 9)
        let lean = try Self.network(a, maxBatch: 32, seed: 9, inferenceOnly: true)
        for n in [1, 7, 32] {
            let windows = randomValues(n * full.inputSize, seed: UInt64(40 + n)).map(Float.init)
            let expected = full.forward(inputs: windows, training: false)
            #expect(lean.forward(inputs: windows, training: false) == expected)
            #expect((0..<n).allSatisfy { Array(lean.latent(row: $0)) == Array(full.latent(row: $0)) })
        }
    }

    @Test("predict shares only what slides: other windows, and networks it cannot apply to, run the ordinary forward")
    func fallsBack() throws {
        let a = Self.architecture(features: 4, d: 25, channels: [8, 8], kernel: 5, batchNorm: true)
        let net = try Self.network(a, maxBatch: 4, seed: 9)
        net.sharesSlidingWindows = true
        var windows = Self.slidingWindows(features: 4, d: 25, count: 12, seed: 1)
        // Break the slide inside the third chunk: that chunk runs `forward`, the others slide.
        windows[9 * 100 + 30] += 0.5
        #expect(net.slide(windows, count: 8) == .newestFirst && net.slide(Array(windows[800...]), count: 4) == nil)
        var got = [Float](repeating: 0, count: 12)
        windows.withUnsafeBufferPointer { w in got.withUnsafeMutableBufferPointer { net.predict(inputs: w.baseAddress!, count: 12, into: $0.baseAddress!) } }
        let reference = try Self.network(a, maxBatch: 4, seed: 9)
        var expected = [Float](repeating: 0, count: 12)
        windows.withUnsafeBufferPointer { w in expected.withUnsafeMutableBufferPointer { reference.predict(inputs: w.baseAddress!, count: 12, into: $0.baseAddress!) } }
        #expect(Array(got[8...]) == Array(expected[8...]))  // the broken chunk: the same code, bit for bit
        #expect(net.slidingPasses == 2)
        #expect(maxRelativeDifference(got, expected) < 1e-5)
        // Even kernels change the length, and a window too short leaves no interior: no sliding.
        #expect(try !Network(architecture: Self.architecture(features: 2, d: 9, channels: [3], kernel: 4, batchNorm: false)).canSlide)
        #expect(try !Network(architecture: Self.architecture(features: 2, d: 8, channels: [3, 3], kernel: 5, batchNorm: false)).canSlide)
    }
}
