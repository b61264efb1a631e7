import VraplCore
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Per-call state a training forward leaves for `backward`.
struct ForwardRecord {
    var count = 0
    var ranges: [Range<Int>] = []
    var training = false
}

extension Network {
    // MARK: Public compute API

    /// Forward pass over `count` windows (`inputs` is [count, inputSize]); returns the predictions
    /// [count] (valid until the next call). Training mode uses batch statistics (and updates the running
    /// ones), and dropout; eval mode uses running statistics and no dropout.
    @discardableResult
    public func forward(inputs: UnsafePointer<Float>, count: Int, training: Bool) -> UnsafeBufferPointer<Float> {
        precondition(count >= 1 && count <= maxBatch, "Network.forward: batch \(count) outside 1…\(maxBatch)")
        precondition(!training || workspace.trains, "Network.forward: a training forward on an inference-only network")
        let ranges = shardRanges(count)
        record = ForwardRecord(count: count, ranges: ranges, training: training)
        if training { dropoutStep &+= 1 }
        let ws = workspace
        let stages = plan.convStages
        if training {
            for i in stages.indices {
                parallel(ranges.count) { s in
                    let r = ranges[s]
                    if i == 0 { self.copyInput(ws, inputs, r) } else { self.timed("bn+relu fwd \(i - 1)") { self.finishStage(i - 1, ws, r, training: true) } }
                    self.timed("conv fwd \(i)") { self.convStage(i, ws, r, shard: s) }
                    if let _ = stages[i].batchNorm { self.timed("bn stats \(i)") { self.shardStatistics(i, ws, r, shard: s) } }
                }
                if stages[i].batchNorm != nil { combineStatistics(i, ws, ranges) }
            }
            parallel(ranges.count) { s in
                let r = ranges[s]
                if stages.isEmpty { self.copyInput(ws, inputs, r) } else { self.timed("bn+relu fwd last") { self.finishStage(stages.count - 1, ws, r, training: true) } }
                self.timed("pool+dense fwd") { self.denseForward(ws, r, training: true) }
            }
        } else {
            parallel(ranges.count) { s in self.evalShard(ws, inputs, ranges[s], shard: s) }
        }
        return UnsafeBufferPointer(start: ws.out[plan.dense.count - 1].pointer, count: count)
    }

    /// Array convenience for `forward`.
    @discardableResult
    public func forward(inputs: [Float], training: Bool) -> [Float] {
        precondition(inputs.count % plan.inputSize == 0, "Network.forward: input not a multiple of \(plan.inputSize)")
        return inputs.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return [] }
            return Array(forward(inputs: base, count: inputs.count / plan.inputSize, training: training))
        }
    }

    /// Backward pass after a training-mode `forward`: `outputGradient` [count] is ∂loss/∂prediction.
    /// Adds the parameter gradients into `gradients` (call `zeroGradients()` once per step).
    public func backward(outputGradient: UnsafePointer<Float>) {
        backward(outputGradient: outputGradient, reduceGradients: true)
    }

    func backward(outputGradient: UnsafePointer<Float>, reduceGradients: Bool) {
        precondition(record.training && record.count > 0, "Network.backward needs a training-mode forward first")
        let ranges = record.ranges
        let ws = workspace
        let stages = plan.convStages
        let last = plan.dense.count - 1
        ws.dOut[last].pointer.update(from: outputGradient, count: record.count)
        for s in 1..<max(1, ranges.count) { shardGradients[s - 1].zero() }
        parallel(ranges.count) { s in
            let r = ranges[s]
            self.timed("dense bwd") { self.denseBackward(ws, r, grads: self.gradientBase(s)) }
            if !stages.isEmpty {
                self.timed("pool bwd") { self.poolBackward(ws, r) }
                self.timed("relu+bn reduce bwd last") { self.stageBackwardReduce(stages.count - 1, ws, r, shard: s) }
            }
        }
        var i = stages.count - 1
        while i >= 0 {
            if stages[i].batchNorm != nil { reduceBackwardSums(i, ranges.count) }
            parallel(ranges.count) { s in
                let r = ranges[s]
                self.timed("bn+conv bwd \(i)") { self.stageBackward(i, ws, r, grads: self.gradientBase(s), shard: s) }
                if i > 0 { self.timed("relu+bn reduce bwd \(i - 1)") { self.stageBackwardReduce(i - 1, ws, r, shard: s) } }
            }
            i -= 1
        }
        if reduceGradients { timed("reduce grads") { reduceShardGradients(shards: ranges.count) } }
    }

    /// One optimisation step on a batch: zero gradients, training forward, loss, backward, AdamW.
    /// Returns the mean loss over the batch (before the update).
    @discardableResult
    public func trainStep(inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, count: Int, loss: LossKind,
                          optimizer: inout AdamW) -> Double {
        zeroGradients()
        let predictions = forward(inputs: inputs, count: count, training: true)
        let dOut = lossGradient.pointer
        let total = lossForwardBackward(kind: loss, dPrediction: dOut, prediction: predictions.baseAddress ?? UnsafePointer(dOut),
                                        target: targets, count: count, totalCount: count)
        backward(outputGradient: dOut, reduceGradients: false)
        precondition(optimizer.m.count == parameterCount, "AdamW: parameter count changed")
        let step = optimizer.beginStep()
        // Sum the shards' gradients and update, in parallel over parameter ranges.
        let shards = record.ranges.count
        let chunks = max(1, min(shards, threads))
        let extra = (1..<max(1, shards)).map { shardGradients[$0 - 1].pointer }
        let g = gradients.pointer, p = parameters.pointer, n = parameterCount
        timed("reduce grads + adamw") {
            parallel(chunks) { c in
                var lo = n * c / chunks, hi = n * (c + 1) / chunks
                lo -= lo % 16; if c == chunks - 1 { hi = n } else { hi -= hi % 16 }
                for e in extra { for k in lo..<hi { g[k] += e[k] } }
                step.apply(parameters: p, gradients: g, range: lo..<hi)
            }
        }
        return total / Double(count)
    }

    /// Array convenience for `trainStep`.
    @discardableResult
    public func trainStep(inputs: [Float], targets: [Float], loss: LossKind, optimizer: inout AdamW) -> Double {
        precondition(inputs.count == targets.count * plan.inputSize, "Network.trainStep: inputs and targets disagree")
        return inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { t in
                guard let ib = i.baseAddress, let tb = t.baseAddress else { return .nan }
                return trainStep(inputs: ib, targets: tb, count: targets.count, loss: loss, optimizer: &optimizer)
            }
        }
    }

    /// Eval-mode prediction for one window [inputSize] on the calling thread, without allocating.
    /// The 64-d latent of this window is then in `latent`.
    public func predict(window: UnsafePointer<Float>) -> Float {
        evalShard(single, window, 0..<1, shard: 0)
        return single.out[plan.dense.count - 1].pointer[0]
    }

    /// Array convenience for `predict(window:)`.
    public func predict(window: [Float]) -> Float {
        precondition(window.count == plan.inputSize, "Network.predict: window must have \(plan.inputSize) values")
        return window.withUnsafeBufferPointer { p in p.baseAddress.map { predict(window: $0) } ?? .nan }
    }

    /// The latent vector [latentDim] of the last `predict(window:)`.
    public var latent: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: single.out[plan.latentLayer].pointer, count: plan.latentDim)
    }

    /// The latent vector of row `row` of the last `forward` (valid until the next call).
    public func latent(row: Int) -> UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: workspace.out[plan.latentLayer].pointer + row * plan.latentDim, count: plan.latentDim)
    }

    /// Eval-mode predictions for any number of windows, in chunks of `maxBatch`; writes [count] outputs.
    /// With `sharesSlidingWindows`, a chunk whose windows slide by one sample (`slide(_:count:)`) computes
    /// their shared convolution outputs once (`forwardSliding`; same results to float rounding).
    public func predict(inputs: UnsafePointer<Float>, count: Int, into outputs: UnsafeMutablePointer<Float>) {
        var start = 0
        let slide = sharesSlidingWindows && canSlide
        while start < count {
            let n = min(maxBatch, count - start)
            let chunk = inputs + start * plan.inputSize
            let p: UnsafeBufferPointer<Float>
            if slide, let direction = self.slide(chunk, count: n) {
                p = forwardSliding(inputs: chunk, count: n, slide: direction)
                slidingPasses += 1
            } else {
                p = forward(inputs: chunk, count: n, training: false)
            }
            if let base = p.baseAddress { (outputs + start).update(from: base, count: n) }
            start += n
        }
    }

    /// Input size (values per window) and latent size.
    public var inputSize: Int { plan.inputSize }
    public var latentDim: Int { plan.latentDim }
    /// Forward FLOPs per sample (a multiply-add counts 2); a training step is about 3× this.
    public var forwardFlopsPerSample: Double { plan.forwardFlopsPerSample }

    // MARK: Profiling

    /// Runs `body`, adding its wall time to `profile[name]` when `profile` is non-nil (single-threaded use).
    @inline(__always)
    func timed(_ name: @autoclosure () -> String, _ body: () -> Void) {
        guard profile != nil else { body(); return }
        let start = ProcessCPUTime.threadSeconds()
        body()
        profile?[name(), default: 0] += ProcessCPUTime.threadSeconds() - start
    }

    // MARK: Sharding

    func shardRanges(_ count: Int) -> [Range<Int>] {
        let shards = max(1, min(threads, pool.available, count / 8))
        var ranges: [Range<Int>] = []
        var start = 0
        for s in 0..<shards {
            let n = count / shards + (s < count % shards ? 1 : 0)
            ranges.append(start..<(start + n))
            start += n
        }
        return ranges
    }

    @inline(__always)
    func parallel(_ n: Int, _ body: (Int) -> Void) {
        if n == 1 { body(0) } else { pool.run(n, body) }
    }

    func gradientBase(_ shard: Int) -> UnsafeMutablePointer<Float> {
        shard == 0 ? gradients.pointer : shardGradients[shard - 1].pointer
    }

    func reduceShardGradients(shards: Int) {
        guard shards > 1 else { return }
        let total = parameterCount
        let chunks = min(shards, threads)
        let extra = (1..<shards).map { shardGradients[$0 - 1].pointer }
        let g = gradients.pointer
        parallel(chunks) { c in
            let lo = total * c / chunks, hi = total * (c + 1) / chunks
            for e in extra { for k in lo..<hi { g[k] += e[k] } }
        }
    }

    // MARK: Per-shard pieces

    func copyInput(_ ws: Workspace, _ inputs: UnsafePointer<Float>, _ r: Range<Int>) {
        let size = plan.inputSize
        (ws.input.pointer + r.lowerBound * size).update(from: inputs + r.lowerBound * size, count: r.count * size)
    }

    /// Input of conv stage i for shard r, and its layout.
    func convInput(_ i: Int, _ ws: Workspace, _ r: Range<Int>) -> (UnsafeMutablePointer<Float>, ConvInputLayout) {
        let st = plan.convStages[i]
        if i == 0 {
            return (ws.input.pointer + r.lowerBound * plan.inputSize, .sampleMajor(channels: st.inChannels, length: st.inLength))
        }
        let prev = plan.convStages[i - 1]
        return (ws.act[i - 1].pointer + r.lowerBound * prev.outChannels * prev.outLength,
                .channelMajor(batch: r.count, length: st.inLength))
    }

    /// Conv of stage i over shard r (chunked im2col + sgemm) into `pre`.
    func convStage(_ i: Int, _ ws: Workspace, _ r: Range<Int>, shard: Int, eval: Bool = false) {
        let st = plan.convStages[i]
        let (input, layout) = convInput(i, ws, r)
        conv1dForwardChunked(out: ws.pre[i].pointer + r.lowerBound * st.outChannels * st.outLength,
                             col: ws.col[shard].pointer, input: input, layout: layout,
                             weight: parameters.pointer + st.weight, bias: parameters.pointer + st.bias,
                             batch: r.count, inChannels: st.inChannels, outChannels: st.outChannels, length: st.inLength,
                             kernelSize: st.kernelSize, padding: st.padding, chunk: ws.chunk, smallBlocks: eval)
    }

    func statsPointer(shard: Int, stage: Int, slot: Int) -> UnsafeMutablePointer<Float> {
        let c = plan.maxChannels
        return shardStats.pointer + ((shard * plan.convStages.count + stage) * 4 + slot) * c
    }

    func shardStatistics(_ i: Int, _ ws: Workspace, _ r: Range<Int>, shard: Int) {
        let st = plan.convStages[i]
        let per = st.outChannels * st.outLength
        batchNormShardStatistics(mean: statsPointer(shard: shard, stage: i, slot: 0),
                                 m2: statsPointer(shard: shard, stage: i, slot: 1),
                                 input: ws.pre[i].pointer + r.lowerBound * per, channels: st.outChannels,
                                 count: r.count * st.outLength)
    }

    func combineStatistics(_ i: Int, _ ws: Workspace, _ ranges: [Range<Int>]) {
        let st = plan.convStages[i]
        guard let bn = st.batchNorm else { return }
        BatchNormStatistics.combine(
            shardMeans: ranges.indices.map { UnsafePointer(statsPointer(shard: $0, stage: i, slot: 0)) },
            shardM2s: ranges.indices.map { UnsafePointer(statsPointer(shard: $0, stage: i, slot: 1)) },
            counts: ranges.map { $0.count * st.outLength }, channels: st.outChannels,
            mean: ws.mean[i].pointer, variance: ws.variance[i].pointer,
            runningMean: buffers.pointer + bn.runningMean, runningVariance: buffers.pointer + bn.runningVariance)
        batchesTracked[bn.index] += 1
    }

    /// BatchNorm (batch or running statistics) and ReLU of stage i over shard r: `pre` → `act`.
    func finishStage(_ i: Int, _ ws: Workspace, _ r: Range<Int>, training: Bool) {
        let st = plan.convStages[i]
        let per = st.outChannels * st.outLength
        let pre = ws.pre[i].pointer + r.lowerBound * per, act = ws.act[i].pointer + r.lowerBound * per
        let count = r.count * st.outLength
        if let bn = st.batchNorm {
            if training {
                batchNormReLUForward(out: act, xhat: ws.xhat[i].pointer + r.lowerBound * per, input: pre,
                                     mean: ws.mean[i].pointer, variance: ws.variance[i].pointer,
                                     gamma: parameters.pointer + bn.gamma, beta: parameters.pointer + bn.beta,
                                     channels: st.outChannels, count: count)
            } else {
                finishEval(i, pre: pre, act: act, count: count)
            }
        } else {
            reluForward(out: act, input: pre, count: r.count * per)
        }
    }

    /// Eval-mode BatchNorm (running statistics) and ReLU of stage i over `count` positions of each
    /// channel, channel-major ([channels, count]): `pre` → `act`.
    func finishEval(_ i: Int, pre: UnsafePointer<Float>, act: UnsafeMutablePointer<Float>, count: Int) {
        let st = plan.convStages[i]
        if let bn = st.batchNorm {
            batchNormReLUForward(out: act, xhat: nil, input: pre,
                                 mean: buffers.pointer + bn.runningMean, variance: buffers.pointer + bn.runningVariance,
                                 gamma: parameters.pointer + bn.gamma, beta: parameters.pointer + bn.beta,
                                 channels: st.outChannels, count: count)
        } else {
            reluForward(out: act, input: pre, count: st.outChannels * count)
        }
    }

    /// Input of dense layer j for shard r (pool output, raw input, or previous layer's activation).
    func denseInput(_ j: Int, _ ws: Workspace, _ r: Range<Int>, training: Bool) -> UnsafeMutablePointer<Float> {
        if j == 0 {
            return plan.convStages.isEmpty ? ws.input.pointer + r.lowerBound * plan.inputSize
                                           : ws.pool.pointer + r.lowerBound * plan.flatSize
        }
        let prev = plan.dense[j - 1]
        let useMask = prev.activation && training && plan.dropout > 0
        return (useMask ? ws.masked[j - 1] : ws.out[j - 1]).pointer + r.lowerBound * prev.outFeatures
    }

    /// Pooling (CNN) and the dense layers of shard r.
    func denseForward(_ ws: Workspace, _ r: Range<Int>, training: Bool) {
        if !plan.convStages.isEmpty {
            let st = plan.convStages[plan.convStages.count - 1]
            let out = ws.pool.pointer + r.lowerBound * plan.flatSize
            let input = ws.act[plan.convStages.count - 1].pointer + r.lowerBound * st.outChannels * st.outLength
            if plan.pool == 2 {
                maxPool2Forward(out: out, input: input, batch: r.count, channels: st.outChannels, length: st.outLength)
            } else {
                maxPoolForward(out: out, input: input, batch: r.count, channels: st.outChannels, length: st.outLength, pool: plan.pool)
            }
        }
        denseLayersForward(ws, r, training: training)
    }

    /// The dense layers of shard r, from their input (`denseInput`: the pool output or the raw input).
    func denseLayersForward(_ ws: Workspace, _ r: Range<Int>, training: Bool) {
        for (j, layer) in plan.dense.enumerated() {
            let out = ws.out[j].pointer + r.lowerBound * layer.outFeatures
            linearForward(out: out, input: denseInput(j, ws, r, training: training), weight: parameters.pointer + layer.weight,
                          bias: parameters.pointer + layer.bias, batch: r.count, inFeatures: layer.inFeatures,
                          outFeatures: layer.outFeatures, smallBlocks: !training)
            guard layer.activation else { continue }
            let n = r.count * layer.outFeatures
            reluInPlace(out, count: n)
            if training && plan.dropout > 0 {
                let mask = ws.mask[j].pointer + r.lowerBound * layer.outFeatures
                dropoutMask(mask: mask, rows: r.count, columns: layer.outFeatures, firstRow: r.lowerBound,
                            probability: plan.dropout, seed: dropoutSeed, stream: dropoutStep &* 64 &+ UInt64(j))
                applyMask(out: ws.masked[j].pointer + r.lowerBound * layer.outFeatures, input: out, mask: mask, count: n)
            }
        }
    }

    func evalShard(_ ws: Workspace, _ inputs: UnsafePointer<Float>, _ r: Range<Int>, shard: Int) {
        copyInput(ws, inputs, r)
        for i in plan.convStages.indices {
            convStage(i, ws, r, shard: shard, eval: true)
            finishStage(i, ws, r, training: false)
        }
        denseForward(ws, r, training: false)
    }

    func denseBackward(_ ws: Workspace, _ r: Range<Int>, grads: UnsafeMutablePointer<Float>) {
        var j = plan.dense.count - 1
        while j >= 0 {
            let layer = plan.dense[j]
            let dOut = ws.dOut[j].pointer + r.lowerBound * layer.outFeatures
            let dInput: UnsafeMutablePointer<Float>?
            if j > 0 { dInput = ws.dOut[j - 1].pointer + r.lowerBound * layer.inFeatures }
            else if !plan.convStages.isEmpty { dInput = ws.dPool.pointer + r.lowerBound * plan.flatSize }
            else { dInput = nil }
            linearBackward(dInput: dInput, dWeight: grads + layer.weight, dBias: grads + layer.bias, dOut: dOut,
                           input: denseInput(j, ws, r, training: true), weight: parameters.pointer + layer.weight, batch: r.count,
                           inFeatures: layer.inFeatures, outFeatures: layer.outFeatures)
            if j > 0, let dIn = dInput, plan.dense[j - 1].activation {
                let n = r.count * layer.inFeatures
                maskReLUBackwardInPlace(dIn, mask: plan.dropout > 0 ? UnsafePointer(ws.mask[j - 1].pointer + r.lowerBound * layer.inFeatures) : nil,
                                        out: ws.out[j - 1].pointer + r.lowerBound * layer.inFeatures, count: n)
            }
            j -= 1
        }
    }

    func poolBackward(_ ws: Workspace, _ r: Range<Int>) {
        let last = plan.convStages.count - 1
        let st = plan.convStages[last]
        let per = st.outChannels * st.outLength
        if plan.pool == 2 {   // also applies the ReLU gate (see stageBackwardReduce)
            maxPool2ReLUBackward(dInput: ws.dAct[last].pointer + r.lowerBound * per, dOut: ws.dPool.pointer + r.lowerBound * plan.flatSize,
                                 input: ws.act[last].pointer + r.lowerBound * per, batch: r.count, channels: st.outChannels,
                                 length: st.outLength)
        } else {
            maxPoolBackward(dInput: ws.dAct[last].pointer + r.lowerBound * per, dOut: ws.dPool.pointer + r.lowerBound * plan.flatSize,
                            input: ws.act[last].pointer + r.lowerBound * per, batch: r.count, channels: st.outChannels,
                            length: st.outLength, pool: plan.pool)
        }
    }

    /// ReLU backward of stage i's output, then BatchNorm's shard sums (Σ dy, Σ dy·xhat) into scratch.
    func stageBackwardReduce(_ i: Int, _ ws: Workspace, _ r: Range<Int>, shard: Int) {
        let st = plan.convStages[i]
        let per = st.outChannels * st.outLength
        let dAct = ws.dAct[i].pointer + r.lowerBound * per
        let act = ws.act[i].pointer + r.lowerBound * per
        // The last stage's ReLU gate was applied by the fused max-pool(2) backward.
        let gateDone = i == plan.convStages.count - 1 && plan.pool == 2
        guard st.batchNorm != nil else {
            if !gateDone { reluBackward(dInput: dAct, dOut: dAct, out: act, count: r.count * per) }
            return
        }
        let sumD = statsPointer(shard: shard, stage: i, slot: 2), sumDH = statsPointer(shard: shard, stage: i, slot: 3)
        sumD.update(repeating: 0, count: st.outChannels)
        sumDH.update(repeating: 0, count: st.outChannels)
        reluBatchNormBackwardReduce(dAct: dAct, act: act, xhat: ws.xhat[i].pointer + r.lowerBound * per, sumD: sumD,
                                    sumDXhat: sumDH, channels: st.outChannels, count: r.count * st.outLength,
                                    applyReLU: !gateDone)
    }

    /// Sums the shards' BatchNorm sums of stage i into shard 0's slots and adds them to the gradients.
    func reduceBackwardSums(_ i: Int, _ shards: Int) {
        let st = plan.convStages[i]
        guard let bn = st.batchNorm else { return }
        let sumD = statsPointer(shard: 0, stage: i, slot: 2), sumDH = statsPointer(shard: 0, stage: i, slot: 3)
        for s in 1..<max(1, shards) {
            let d = statsPointer(shard: s, stage: i, slot: 2), dh = statsPointer(shard: s, stage: i, slot: 3)
            for c in 0..<st.outChannels { sumD[c] += d[c]; sumDH[c] += dh[c] }
        }
        for c in 0..<st.outChannels {
            gradients[bn.beta + c] += sumD[c]
            gradients[bn.gamma + c] += sumDH[c]
        }
    }

    /// BatchNorm input gradient and conv backward of stage i over shard r (dInput into stage i−1's dAct).
    func stageBackward(_ i: Int, _ ws: Workspace, _ r: Range<Int>, grads: UnsafeMutablePointer<Float>, shard: Int) {
        let st = plan.convStages[i]
        let per = st.outChannels * st.outLength
        let dPre = ws.dAct[i].pointer + r.lowerBound * per
        if let bn = st.batchNorm { timed("  bn input \(i)") {
            batchNormBackwardInputFast(dInput: dPre, dOut: dPre, xhat: ws.xhat[i].pointer + r.lowerBound * per,
                                   variance: ws.variance[i].pointer, gamma: parameters.pointer + bn.gamma,
                                   sumDOut: statsPointer(shard: 0, stage: i, slot: 2),
                                   sumDOutXhat: statsPointer(shard: 0, stage: i, slot: 3),
                                   totalCount: record.count * st.outLength, channels: st.outChannels,
                                   count: r.count * st.outLength)
        } }
        var dInput: UnsafeMutablePointer<Float>? = nil
        if i > 0 {
            let prevPer = plan.convStages[i - 1].outChannels * plan.convStages[i - 1].outLength
            dInput = ws.dAct[i - 1].pointer + r.lowerBound * prevPer
            dInput?.update(repeating: 0, count: r.count * prevPer)
        }
        let (input, layout) = convInput(i, ws, r)
        conv1dBackwardChunked(dInput: dInput, dCol: ws.dCol[shard].pointer, col: ws.col[shard].pointer,
                              dWeight: grads + st.weight, dBias: grads + st.bias, dOut: dPre, input: input, layout: layout,
                              weight: parameters.pointer + st.weight, batch: r.count, inChannels: st.inChannels,
                              outChannels: st.outChannels, length: st.inLength, kernelSize: st.kernelSize,
                              padding: st.padding, chunk: ws.chunk)
    }
}
