import Testing
@testable import VraplNN

/// Each layer: the naive Double reference backward against central finite differences, and the fast
/// Float kernel against the naive reference.
@Suite("NN layers")
struct LayerTests {
    @Test("Linear: naive backward matches finite differences; fast matches naive")
    func linear() {
        let (b, i, o) = (3, 5, 4)
        let x = randomValues(b * i, seed: 1), w = randomValues(o * i, seed: 2), bias = randomValues(o, seed: 3)
        let cot = randomValues(b * o, seed: 4)
        let (dx, dw, db) = linearBackwardNaive(dOut: cot, input: x, weight: w, batch: b, inFeatures: i, outFeatures: o)
        let fdx = finiteDifferences(x) { weightedSum(linearForwardNaive(input: $0, weight: w, bias: bias, batch: b, inFeatures: i, outFeatures: o), cot) }
        let fdw = finiteDifferences(w) { weightedSum(linearForwardNaive(input: x, weight: $0, bias: bias, batch: b, inFeatures: i, outFeatures: o), cot) }
        let fdb = finiteDifferences(bias) { weightedSum(linearForwardNaive(input: x, weight: w, bias: $0, batch: b, inFeatures: i, outFeatures: o), cot) }
        #expect(maxRelativeDifference(dx, fdx) < 1e-7)
        #expect(maxRelativeDifference(dw, fdw) < 1e-7)
        #expect(maxRelativeDifference(db, fdb) < 1e-7)

        let (xf, wf, bf, cf) = (x.floats, w.floats, bias.floats, cot.floats)
        var out = [Float](repeating: 0, count: b * o)
        var dxf = [Float](repeating: 0, count: b * i), dwf = [Float](repeating: 0, count: o * i), dbf = [Float](repeating: 0, count: o)
        linearForward(out: &out, input: xf, weight: wf, bias: bf, batch: b, inFeatures: i, outFeatures: o)
        linearBackward(dInput: &dxf, dWeight: &dwf, dBias: &dbf, dOut: cf, input: xf, weight: wf, batch: b, inFeatures: i, outFeatures: o)
        let ref = linearForwardNaive(input: xf, weight: wf, bias: bf, batch: b, inFeatures: i, outFeatures: o)
        #expect(maxRelativeDifference(out, ref) < 1e-5)
        #expect(maxRelativeDifference(dxf, dx.floats) < 1e-5)
        #expect(maxRelativeDifference(dwf, dw.floats) < 1e-5)
        #expect(maxRelativeDifference(dbf, db.floats) < 1e-5)
    }

    @Test("Conv1d: naive backward matches finite differences; fast (im2col + sgemm) matches naive",
          arguments: [(2, 3, 4, 7, 5, 2), (3, 2, 3, 5, 3, 1), (1, 2, 2, 2, 5, 2)])
    func conv(_ p: (Int, Int, Int, Int, Int, Int)) {
        let (b, ci, co, l, k, pad) = p
        let lo = conv1dOutputLength(length: l, kernelSize: k, padding: pad)
        let x = randomValues(b * ci * l, seed: 5), w = randomValues(co * ci * k, seed: 6), bias = randomValues(co, seed: 7)
        let cot = randomValues(b * co * lo, seed: 8)
        func f(_ x: [Double], _ w: [Double], _ bias: [Double]) -> Double {
            weightedSum(conv1dForwardNaive(input: x, weight: w, bias: bias, batch: b, inChannels: ci, outChannels: co,
                                           length: l, kernelSize: k, padding: pad), cot)
        }
        let (dx, dw, db) = conv1dBackwardNaive(dOut: cot, input: x, weight: w, batch: b, inChannels: ci, outChannels: co,
                                               length: l, kernelSize: k, padding: pad)
        #expect(maxRelativeDifference(dx, finiteDifferences(x) { f($0, w, bias) }) < 1e-7)
        #expect(maxRelativeDifference(dw, finiteDifferences(w) { f(x, $0, bias) }) < 1e-7)
        #expect(maxRelativeDifference(db, finiteDifferences(bias) { f(x, w, $0) }) < 1e-7)

        // Fast path, with both input layouts.
        for channelMajorInput in [false, true] {
            let xf = channelMajorInput ? toChannelMajor(x.floats, batch: b, channels: ci, length: l) : x.floats
            let layout: ConvInputLayout = channelMajorInput ? .channelMajor(batch: b, length: l) : .sampleMajor(channels: ci, length: l)
            var out = [Float](repeating: 0, count: b * co * lo), col = [Float](repeating: 0, count: ci * k * b * lo)
            var dcol = col
            var dxf = [Float](repeating: 0, count: b * ci * l), dwf = [Float](repeating: 0, count: co * ci * k)
            var dbf = [Float](repeating: 0, count: co)
            conv1dForward(out: &out, col: &col, input: xf, layout: layout, weight: w.floats, bias: bias.floats, batch: b,
                          inChannels: ci, outChannels: co, length: l, kernelSize: k, padding: pad)
            let ref = conv1dForwardNaive(input: x.floats, weight: w.floats, bias: bias.floats, batch: b, inChannels: ci,
                                         outChannels: co, length: l, kernelSize: k, padding: pad)
            #expect(maxRelativeDifference(fromChannelMajor(out, batch: b, channels: co, length: lo), ref) < 1e-4)
            let cotCM = toChannelMajor(cot.floats, batch: b, channels: co, length: lo)
            conv1dBackward(dInput: &dxf, dCol: &dcol, dWeight: &dwf, dBias: &dbf, dOut: cotCM, col: col, weight: w.floats,
                           layout: layout, batch: b, inChannels: ci, outChannels: co, length: l, kernelSize: k, padding: pad)
            let dxBack = channelMajorInput ? fromChannelMajor(dxf, batch: b, channels: ci, length: l) : dxf
            #expect(maxRelativeDifference(dxBack, dx.floats) < 1e-5)
            #expect(maxRelativeDifference(dwf, dw.floats) < 1e-5)
            #expect(maxRelativeDifference(dbf, db.floats) < 1e-5)

            // Chunked variants (im2col recomputed per chunk of samples) give the same results.
            for chunk in [1, 2] {
                var outC = [Float](repeating: 0, count: b * co * lo), colC = [Float](repeating: 0, count: ci * k * chunk * lo)
                var dcolC = colC
                var dxC = [Float](repeating: 0, count: b * ci * l), dwC = [Float](repeating: 0, count: co * ci * k)
                var dbC = [Float](repeating: 0, count: co)
                conv1dForwardChunked(out: &outC, col: &colC, input: xf, layout: layout, weight: w.floats, bias: bias.floats,
                                     batch: b, inChannels: ci, outChannels: co, length: l, kernelSize: k, padding: pad, chunk: chunk)
                #expect(maxRelativeDifference(outC, out) < 1e-5)
                conv1dBackwardChunked(dInput: &dxC, dCol: &dcolC, col: &colC, dWeight: &dwC, dBias: &dbC, dOut: cotCM, input: xf,
                                      layout: layout, weight: w.floats, batch: b, inChannels: ci, outChannels: co, length: l,
                                      kernelSize: k, padding: pad, chunk: chunk)
                #expect(maxRelativeDifference(dxC, dxf) < 1e-5)
                #expect(maxRelativeDifference(dwC, dwf) < 1e-5)
                #expect(maxRelativeDifference(dbC, dbf) < 1e-5)
            }
        }
    }

    @Test("BatchNorm1d train: naive backward matches finite differences; fast (sharded statistics) matches naive")
    func batchNorm() {
        let (b, c, l) = (4, 3, 5)
        let x = randomValues(b * c * l, seed: 9, scale: 2).map { $0 + 0.5 }
        let gamma = randomValues(c, seed: 10).map { $0 + 1.5 }, beta = randomValues(c, seed: 11)
        let cot = randomValues(b * c * l, seed: 12)
        func f(_ x: [Double], _ g: [Double], _ be: [Double]) -> Double {
            weightedSum(batchNormTrainForwardNaive(input: x, gamma: g, beta: be, batch: b, channels: c, length: l).out, cot)
        }
        let (dx, dg, db) = batchNormTrainBackwardNaive(dOut: cot, input: x, gamma: gamma, batch: b, channels: c, length: l)
        #expect(maxRelativeDifference(dx, finiteDifferences(x) { f($0, gamma, beta) }) < 1e-6)
        #expect(maxRelativeDifference(dg, finiteDifferences(gamma) { f(x, $0, beta) }) < 1e-6)
        #expect(maxRelativeDifference(db, finiteDifferences(beta) { f(x, gamma, $0) }) < 1e-6)

        // Fast path: two shards of 2 samples each, channel-major per shard.
        let xf = x.floats, cf = cot.floats
        let shards = [0..<2, 2..<4]
        var means = [[Float]](), m2s = [[Float]](), shardX = [[Float]](), shardCot = [[Float]]()
        for r in shards {
            let xs = toChannelMajor(Array(xf[(r.lowerBound * c * l)..<(r.upperBound * c * l)]), batch: r.count, channels: c, length: l)
            let cs = toChannelMajor(Array(cf[(r.lowerBound * c * l)..<(r.upperBound * c * l)]), batch: r.count, channels: c, length: l)
            var m = [Float](repeating: 0, count: c), m2 = m
            batchNormShardStatistics(mean: &m, m2: &m2, input: xs, channels: c, count: r.count * l)
            means.append(m); m2s.append(m2); shardX.append(xs); shardCot.append(cs)
        }
        var mean = [Float](repeating: 0, count: c), variance = mean
        var runningMean = [Float](repeating: 0, count: c), runningVariance = [Float](repeating: 1, count: c)
        means[0].withUnsafeBufferPointer { m0 in means[1].withUnsafeBufferPointer { m1 in
            m2s[0].withUnsafeBufferPointer { s0 in m2s[1].withUnsafeBufferPointer { s1 in
                BatchNormStatistics.combine(shardMeans: [m0.baseAddress!, m1.baseAddress!], shardM2s: [s0.baseAddress!, s1.baseAddress!],
                                            counts: [2 * l, 2 * l], channels: c, mean: &mean, variance: &variance,
                                            runningMean: &runningMean, runningVariance: &runningVariance)
            } }
        } }
        let naive = batchNormTrainForwardNaive(input: x, gamma: gamma, beta: beta, batch: b, channels: c, length: l)
        #expect(maxRelativeDifference(mean, naive.mean.floats) < 1e-5)
        #expect(maxRelativeDifference(variance, naive.variance.floats) < 1e-5)
        let n = Double(b * l)
        for ch in 0..<c {   // PyTorch's running statistics: momentum 0.1, unbiased variance.
            #expect(abs(Double(runningMean[ch]) - 0.1 * naive.mean[ch]) < 1e-6)
            #expect(abs(Double(runningVariance[ch]) - (0.9 + 0.1 * naive.variance[ch] * n / (n - 1))) < 1e-5)
        }
        var dGamma = [Float](repeating: 0, count: c), dBeta = dGamma
        var outs = [[Float]](), xhats = [[Float]]()
        for s in 0..<2 {
            var out = [Float](repeating: 0, count: 2 * c * l), xhat = out
            batchNormForward(out: &out, xhat: &xhat, input: shardX[s], mean: mean, variance: variance, gamma: gamma.floats,
                             beta: beta.floats, channels: c, count: 2 * l)
            outs.append(out); xhats.append(xhat)
            batchNormBackwardReduce(dGamma: &dGamma, dBeta: &dBeta, dOut: shardCot[s], xhat: xhat, channels: c, count: 2 * l)
        }
        var dxFast = [Float]()
        var outFast = [Float]()
        for s in 0..<2 {
            var dxs = [Float](repeating: 0, count: 2 * c * l)
            batchNormBackwardInput(dInput: &dxs, dOut: shardCot[s], xhat: xhats[s], variance: variance, gamma: gamma.floats,
                                   sumDOut: dBeta, sumDOutXhat: dGamma, totalCount: b * l, channels: c, count: 2 * l)
            dxFast += fromChannelMajor(dxs, batch: 2, channels: c, length: l)
            outFast += fromChannelMajor(outs[s], batch: 2, channels: c, length: l)
        }
        #expect(maxRelativeDifference(outFast, naive.out.floats) < 1e-4)
        #expect(maxRelativeDifference(dxFast, dx.floats) < 1e-4)
        #expect(maxRelativeDifference(dGamma, dg.floats) < 1e-4)
        #expect(maxRelativeDifference(dBeta, db.floats) < 1e-4)
    }

    @Test("MaxPool1d and ReLU: backward matches finite differences; fast pool matches naive")
    func poolAndRelu() {
        let (b, c, l, pool) = (2, 3, 7, 2)
        let x = randomValues(b * c * l, seed: 13)
        let lp = l / pool
        let cot = randomValues(b * c * lp, seed: 14)
        // Fast forward/backward in the engine's layouts: channel-major in, [batch, channels·pooled] out.
        let xcm = toChannelMajor(x.floats, batch: b, channels: c, length: l)
        var out = [Float](repeating: 0, count: b * c * lp)
        maxPoolForward(out: &out, input: xcm, batch: b, channels: c, length: l, pool: pool)
        #expect(out == maxPoolForwardNaive(input: x.floats, batch: b, channels: c, length: l, pool: pool))
        var dx = [Float](repeating: 7, count: b * c * l)
        maxPoolBackward(dInput: &dx, dOut: cot.floats, input: xcm, batch: b, channels: c, length: l, pool: pool)
        let fd = finiteDifferences(x) { weightedSum(maxPoolForwardNaive(input: $0, batch: b, channels: c, length: l, pool: pool), cot) }
        #expect(maxRelativeDifference(fromChannelMajor(dx, batch: b, channels: c, length: l).doubles, fd, floor: 1e-3) < 1e-5)

        let y = randomValues(20, seed: 15), cy = randomValues(20, seed: 16)
        var r = [Float](repeating: 0, count: 20), dr = r
        reluForward(out: &r, input: y.floats, count: 20)
        reluBackward(dInput: &dr, dOut: cy.floats, out: r, count: 20)
        let fdr = finiteDifferences(y) { weightedSum($0.map { max(0, $0) }, cy) }
        #expect(maxRelativeDifference(dr.doubles, fdr, floor: 1e-3) < 1e-6)
    }

    @Test("Losses: gradients match finite differences, values match the naive reference",
          arguments: [LossKind.l1, .mse, .huber(delta: 1), .huber(delta: 0.3)])
    func losses(_ kind: LossKind) {
        let p = randomValues(9, seed: 17, scale: 2), t = randomValues(9, seed: 18)
        var grad = [Float](repeating: 0, count: 9)
        let total = lossForwardBackward(kind: kind, dPrediction: &grad, prediction: p.floats, target: t.floats, count: 9, totalCount: 9)
        #expect(abs(total / 9 - lossNaive(kind: kind, prediction: p, target: t)) < 1e-6)
        let fd = finiteDifferences(p) { lossNaive(kind: kind, prediction: $0, target: t) }
        #expect(maxRelativeDifference(grad.doubles, fd, floor: 1e-3) < 1e-5)
    }

    @Test("Dropout mask: rate, inverted scaling, deterministic per (seed, stream, row)")
    func dropout() {
        var a = [Float](repeating: 0, count: 64 * 128), b = a
        dropoutMask(mask: &a, rows: 64, columns: 128, firstRow: 0, probability: 0.3, seed: 1, stream: 2)
        // Rows 32… generated on their own give the same values (thread-count independence).
        dropoutMask(mask: &b, rows: 64, columns: 128, firstRow: 0, probability: 0.3, seed: 1, stream: 2)
        var c = [Float](repeating: 0, count: 32 * 128)
        dropoutMask(mask: &c, rows: 32, columns: 128, firstRow: 32, probability: 0.3, seed: 1, stream: 2)
        #expect(a == b)
        #expect(Array(a[(32 * 128)...]) == c)
        let dropped = a.filter { $0 == 0 }.count
        #expect(abs(Double(dropped) / Double(a.count) - 0.3) < 0.02)
        #expect(a.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
    }
}
