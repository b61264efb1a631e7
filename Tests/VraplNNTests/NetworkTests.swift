import Foundation
import Testing
@testable import VraplNN

@Suite("NN network")
struct NetworkTests {
    /// A small CNN of the v4.1 family (fast in debug builds), dropout off so the loss is deterministic.
    static func smallCNN(dropout: Double = 0) -> Architecture {
        var a = Architecture.cnnV41(numFeatures: 3, sequenceLength: 9)
        a.cnnChannels = [4, 6]; a.latentDim = 5; a.powerHeadLayers = [7, 4]; a.dropout = dropout
        return a
    }

    static func smallMLP() -> Architecture {
        var a = Architecture.mlpV3(inputDim: 12)
        a.encoderLayers = [9, 6]; a.latentDim = 5; a.powerHeadLayers = [7, 4]; a.dropout = 0
        return a
    }

    @Test("v4.1 state_dict names and shapes are PyTorch's")
    func names() throws {
        let net = try Network(architecture: .cnnV41(), maxBatch: 4)
        let expected: [(String, [Int])] = [
            ("encoder.cnn.0.weight", [32, 4, 5]), ("encoder.cnn.0.bias", [32]),
            ("encoder.cnn.1.weight", [32]), ("encoder.cnn.1.bias", [32]), ("encoder.cnn.1.running_mean", [32]),
            ("encoder.cnn.1.running_var", [32]), ("encoder.cnn.1.num_batches_tracked", []),
            ("encoder.cnn.3.weight", [64, 32, 5]), ("encoder.cnn.3.bias", [64]),
            ("encoder.cnn.4.weight", [64]), ("encoder.cnn.4.bias", [64]), ("encoder.cnn.4.running_mean", [64]),
            ("encoder.cnn.4.running_var", [64]), ("encoder.cnn.4.num_batches_tracked", []),
            ("encoder.mlp.0.weight", [128, 768]), ("encoder.mlp.0.bias", [128]),
            ("encoder.mlp.3.weight", [64, 128]), ("encoder.mlp.3.bias", [64]),
            ("power_head.network.0.weight", [128, 64]), ("power_head.network.0.bias", [128]),
            ("power_head.network.3.weight", [64, 128]), ("power_head.network.3.bias", [64]),
            ("power_head.network.6.weight", [1, 64]), ("power_head.network.6.bias", [1]),
        ]
        #expect(net.tensors.map(\.name) == expected.map(\.0))
        #expect(net.tensors.map(\.shape) == expected.map(\.1))
        let mlp = try Network(architecture: .mlpV3(), maxBatch: 4)
        #expect(mlp.tensors.map(\.name).prefix(6) == ["encoder.network.0.weight", "encoder.network.0.bias",
            "encoder.network.3.weight", "encoder.network.3.bias", "encoder.network.6.weight", "encoder.network.6.bias"])
        #expect(try mlp.values(of: "encoder.network.0.weight").count == 512 * 100)
        // PyTorch default init bounds: |w| ≤ 1/√fan_in.
        let w = try net.values(of: "encoder.mlp.0.weight")
        #expect(w.allSatisfy { abs($0) <= 1 / Float(768).squareRoot() })
        #expect(try net.values(of: "encoder.cnn.1.running_var") == [Float](repeating: 1, count: 32))
    }

    /// Loss of the network (training mode) as a Double, for finite differences over Float parameters.
    func loss(_ net: Network, _ x: [Float], _ t: [Float], _ kind: LossKind) -> Double {
        let p = net.forward(inputs: x, training: true)
        return lossNaive(kind: kind, prediction: p.doubles, target: t.doubles)
    }

    @Test("Whole network: backward matches finite differences (CNN with BatchNorm, and MLP)",
          arguments: [true, false])
    func wholeNetwork(cnn: Bool) throws {
        let arch = cnn ? Self.smallCNN() : Self.smallMLP()
        let net = try Network(architecture: arch, maxBatch: 6, seed: 3)
        let batch = 6
        let x = randomValues(batch * net.inputSize, seed: 20).floats
        let t = randomValues(batch, seed: 21).floats
        net.zeroGradients()
        let p = net.forward(inputs: x, training: true)
        var dOut = [Float](repeating: 0, count: batch)
        _ = lossForwardBackward(kind: .mse, dPrediction: &dOut, prediction: Array(p), target: t, count: batch, totalCount: batch)
        net.backward(outputGradient: dOut)
        let analytic = net.gradients.array
        // Central differences in Float on every parameter (step 1e-3·max(1,|p|)); Float rounding of the loss and
        // ReLU/max-pool kinks limit their accuracy, hence |a − fd| ≤ 5e-2·|fd| + 2e-2·max|a|. The exact check is
        // the PyTorch reference test.
        let scale = analytic.map { abs($0) }.max() ?? 1
        var worst: Float = 0
        var failures = 0
        for i in 0..<net.parameterCount {
            let saved = net.parameters[i]
            let h: Float = 1e-3 * max(1, abs(saved))
            net.parameters[i] = saved + h; let up = loss(net, x, t, .mse)
            net.parameters[i] = saved - h; let down = loss(net, x, t, .mse)
            net.parameters[i] = saved
            let fd = Float((up - down) / Double(2 * h))
            let diff = abs(analytic[i] - fd)
            worst = max(worst, diff / max(abs(fd), 1e-2 * scale))
            if diff > 5e-2 * abs(fd) + 2e-2 * scale {
                failures += 1
                if failures < 15 { print("FD", net.tensors.first { if case .parameter(let o) = $0.storage { return o <= i && i < o + $0.count }; return false }?.name ?? "?", i, analytic[i], fd) }
            }
        }
        print("whole-network finite differences (\(cnn ? "cnn" : "mlp")): \(net.parameterCount) parameters, worst relative difference \(worst)")
        #expect(failures == 0)
    }

    @Test("Two threads give the same outputs, gradients and running statistics as one")
    func threads() throws {
        let arch = Self.smallCNN(dropout: 0.3)
        let one = try Network(architecture: arch, maxBatch: 40, threads: 1, seed: 4)
        let two = try Network(architecture: arch, maxBatch: 40, threads: 2, seed: 4)
        let x = randomValues(40 * one.inputSize, seed: 22).floats, t = randomValues(40, seed: 23).floats
        var opt1 = AdamW(parameterCount: one.parameterCount), opt2 = AdamW(parameterCount: two.parameterCount)
        for _ in 0..<3 {
            let l1 = one.trainStep(inputs: x, targets: t, loss: .huber(delta: 1), optimizer: &opt1)
            let l2 = two.trainStep(inputs: x, targets: t, loss: .huber(delta: 1), optimizer: &opt2)
            #expect(abs(l1 - l2) <= 1e-4 * abs(l1))
        }
        #expect(one.batchesTracked == [3, 3] && two.batchesTracked == [3, 3])
        // A conv bias right before BatchNorm has an exactly-zero true gradient; Adam turns its rounding noise into
        // ±lr steps, so parameters are compared on one fresh step and that bias is compared in absolute terms.
        for net in [one, two] { net.initialize(seed: 9) }
        opt1 = AdamW(parameterCount: one.parameterCount); opt2 = AdamW(parameterCount: two.parameterCount)
        one.trainStep(inputs: x, targets: t, loss: .mse, optimizer: &opt1)
        two.trainStep(inputs: x, targets: t, loss: .mse, optimizer: &opt2)
        for tensor in one.tensors where tensor.isFloat {
            let a = try one.values(of: tensor.name), b = try two.values(of: tensor.name)
            let beforeBN = tensor.name == "encoder.cnn.0.bias" || tensor.name == "encoder.cnn.3.bias"
            if beforeBN { continue }
            #expect(maxRelativeDifference(a, b) < 1e-4, "\(tensor.name)")
        }
        let ga = one.gradients.array, gb = two.gradients.array
        let gscale = ga.map { abs($0) }.max() ?? 1
        #expect(zip(ga, gb).allSatisfy { abs($0 - $1) <= 1e-3 * gscale })
        // Eval forward and single-window predict agree.
        let batch = two.forward(inputs: x, training: false)
        let w = Array(x[(5 * one.inputSize)..<(6 * one.inputSize)])
        #expect(abs(one.predict(window: w) - batch[5]) < 1e-4 * max(1, abs(batch[5])))
    }

    @Test("Training reduces the loss on a learnable target")
    func learns() throws {
        let net = try Network(architecture: Self.smallCNN(dropout: 0.1), maxBatch: 32, seed: 5)
        let x = randomValues(32 * net.inputSize, seed: 24).floats
        let t: [Float] = (0..<32).map { i in x[(i * net.inputSize)..<((i + 1) * net.inputSize)].reduce(0, +) * 0.2 }
        var opt = AdamW(parameterCount: net.parameterCount, learningRate: 3e-3, weightDecay: 3e-4)
        let first = net.trainStep(inputs: x, targets: t, loss: .mse, optimizer: &opt)
        var last = first
        for _ in 0..<150 { last = net.trainStep(inputs: x, targets: t, loss: .mse, optimizer: &opt) }
        #expect(last < 0.2 * first)
    }
}

@Suite("NN optimizer and schedule")
struct OptimizerTests {
    @Test("AdamW: two steps by hand (torch.optim.AdamW's formulas)")
    func adamW() {
        var opt = AdamW(parameterCount: 1, learningRate: 0.1, weightDecay: 0.5)
        var p: [Float] = [2]
        var pd = 2.0, m = 0.0, v = 0.0
        for (step, g) in [0.3, -0.7].enumerated() {
            opt.update(parameters: &p, gradients: [Float(g)], count: 1)
            pd *= 1 - 0.1 * 0.5
            m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g
            let c1 = 1 - pow(0.9, Double(step + 1)), c2 = 1 - pow(0.999, Double(step + 1))
            pd -= 0.1 / c1 * m / (v.squareRoot() / c2.squareRoot() + 1e-8)
            #expect(abs(Double(p[0]) - pd) < 1e-6)
        }
    }

    @Test("ReduceLROnPlateau follows torch (mode min, rel threshold 1e-4, patience, min lr)")
    func plateau() {
        var s = ReduceLROnPlateau(factor: 0.5, patience: 2, minLearningRate: 0.02)
        var lr: Float = 0.1
        // 1.0 best; 0.99995 is not a 1e-4 relative improvement → bad epochs.
        let metrics = [1.0, 0.99995, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
        var lrs: [Float] = []
        for m in metrics { lr = s.step(metric: m, learningRate: lr); lrs.append(lr) }
        #expect(lrs == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02, 0.02])
    }

    @Test("EarlyStopping stops after `patience` epochs without improvement")
    func early() {
        var e = EarlyStopping(patience: 2)
        let r0 = e.record(metric: 1, epoch: 0), r1 = e.record(metric: 1.1, epoch: 1)
        #expect(r0 && !r1 && !e.shouldStop)
        let r2 = e.record(metric: 0.9, epoch: 2), r3 = e.record(metric: 0.95, epoch: 3), r4 = e.record(metric: 0.95, epoch: 4)
        #expect(r2 && !r3 && !r4)
        #expect(e.shouldStop && e.bestEpoch == 2)
    }
}
