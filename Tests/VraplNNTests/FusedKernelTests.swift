import Foundation
import Testing
@testable import VraplNN

/// The fused/vectorised kernels of the hot path against the plain layer functions they replace.
@Suite("NN fused kernels")
struct FusedKernelTests {
    let channels = 3, count = 37   // not a multiple of 16: exercises the scalar tails

    @Test("BatchNorm+ReLU forward (train and eval) equals BatchNorm then ReLU")
    func bnReluForward() {
        let x = randomValues(channels * count, seed: 30).floats
        let mean: [Float] = [0.1, -0.2, 0.3], variance: [Float] = [0.5, 1.5, 0.9]
        let gamma: [Float] = [1.2, -0.7, 0.4], beta: [Float] = [0.1, 0.0, -0.3]
        var plain = [Float](repeating: 0, count: x.count), plainHat = plain
        batchNormForward(out: &plain, xhat: &plainHat, input: x, mean: mean, variance: variance, gamma: gamma, beta: beta,
                         channels: channels, count: count)
        reluForward(out: &plain, input: plain, count: plain.count)
        var fused = [Float](repeating: 0, count: x.count), fusedHat = fused, fusedEval = fused
        batchNormReLUForward(out: &fused, xhat: &fusedHat, input: x, mean: mean, variance: variance, gamma: gamma,
                             beta: beta, channels: channels, count: count)
        batchNormReLUForward(out: &fusedEval, xhat: nil, input: x, mean: mean, variance: variance, gamma: gamma,
                             beta: beta, channels: channels, count: count)
        #expect(maxRelativeDifference(fused, plain) < 1e-5)
        #expect(maxRelativeDifference(fusedHat, plainHat) < 1e-5)
        #expect(maxRelativeDifference(fusedEval, plain) < 1e-5)
    }

    @Test("ReLU+BatchNorm backward reduce and input gradient equal the plain functions")
    func bnReluBackward() {
        let d = randomValues(channels * count, seed: 31).floats, act = randomValues(channels * count, seed: 32).floats
        let xhat = randomValues(channels * count, seed: 33).floats
        var plainD = [Float](repeating: 0, count: d.count)
        reluBackward(dInput: &plainD, dOut: d, out: act, count: d.count)
        var gP = [Float](repeating: 0, count: channels), bP = gP
        batchNormBackwardReduce(dGamma: &gP, dBeta: &bP, dOut: plainD, xhat: xhat, channels: channels, count: count)
        var fusedD = d, gF = [Float](repeating: 0, count: channels), bF = gF
        reluBatchNormBackwardReduce(dAct: &fusedD, act: act, xhat: xhat, sumD: &bF, sumDXhat: &gF, channels: channels, count: count)
        #expect(fusedD == plainD)
        #expect(maxRelativeDifference(gF, gP) < 1e-5 && maxRelativeDifference(bF, bP) < 1e-5)

        let variance: [Float] = [0.5, 1.5, 0.9], gamma: [Float] = [1.2, -0.7, 0.4]
        var plainIn = [Float](repeating: 0, count: d.count), fastIn = plainIn
        batchNormBackwardInput(dInput: &plainIn, dOut: plainD, xhat: xhat, variance: variance, gamma: gamma, sumDOut: bP,
                               sumDOutXhat: gP, totalCount: 50, channels: channels, count: count)
        batchNormBackwardInputFast(dInput: &fastIn, dOut: plainD, xhat: xhat, variance: variance, gamma: gamma, sumDOut: bP,
                                   sumDOutXhat: gP, totalCount: 50, channels: channels, count: count)
        #expect(maxRelativeDifference(fastIn, plainIn) < 1e-5)
    }

    @Test("MaxPool(2) forward and fused MaxPool+ReLU backward equal the general pool and ReLU", arguments: [24, 25])
    func pool2(length: Int) {
        let batch = 3
        // ReLU outputs: non-negative, with ties and zeros.
        let x = randomValues(channels * batch * length, seed: 34).map { Float(max(0, ($0 * 4).rounded() / 4)) }
        let dy = randomValues(batch * channels * (length / 2), seed: 35).floats
        var general = [Float](repeating: 0, count: dy.count), fast = general
        maxPoolForward(out: &general, input: x, batch: batch, channels: channels, length: length, pool: 2)
        maxPool2Forward(out: &fast, input: x, batch: batch, channels: channels, length: length)
        #expect(fast == general)
        var dPlain = [Float](repeating: 1, count: x.count), dFused = dPlain
        maxPoolBackward(dInput: &dPlain, dOut: dy, input: x, batch: batch, channels: channels, length: length, pool: 2)
        reluBackward(dInput: &dPlain, dOut: dPlain, out: x, count: x.count)
        maxPool2ReLUBackward(dInput: &dFused, dOut: dy, input: x, batch: batch, channels: channels, length: length)
        #expect(dFused == dPlain)
    }

    @Test("Dropout+ReLU backward in place equals mask then ReLU backward")
    func maskRelu() {
        let d = randomValues(45, seed: 36).floats, out = randomValues(45, seed: 37).map { Float(max(0, $0)) }
        var mask = [Float](repeating: 0, count: 45)
        dropoutMask(mask: &mask, rows: 5, columns: 9, firstRow: 0, probability: 0.3, seed: 1, stream: 1)
        var plain = [Float](repeating: 0, count: 45)
        applyMask(out: &plain, input: d, mask: mask, count: 45)
        reluBackward(dInput: &plain, dOut: plain, out: out, count: 45)
        var fused = d
        maskReLUBackwardInPlace(&fused, mask: mask, out: out, count: 45)
        #expect(fused == plain)
    }

    @Test("AdamW's vectorised loop matches a Double reference over 37 parameters and 5 steps")
    func adamWVector() {
        let n = 37
        var opt = AdamW(parameterCount: n, learningRate: 1e-2, weightDecay: 0.1)
        var p = randomValues(n, seed: 38).floats
        var pd = p.doubles, m = [Double](repeating: 0, count: n), v = m
        for step in 1...5 {
            let g = randomValues(n, seed: UInt64(100 + step))
            opt.update(parameters: &p, gradients: g.floats, count: n)
            for i in 0..<n {
                pd[i] *= 1 - 1e-2 * 0.1
                m[i] = 0.9 * m[i] + 0.1 * g[i]; v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let c1 = 1 - pow(0.9, Double(step)), c2 = 1 - pow(0.999, Double(step))
                pd[i] -= 1e-2 / c1 * m[i] / (v[i].squareRoot() / c2.squareRoot() + 1e-8)
            }
        }
        #expect(maxRelativeDifference(p.doubles, pd, floor: 1e-3) < 1e-5)
    }
}
