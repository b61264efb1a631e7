import VraplCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Eval-mode forward over windows that slide by one step (the guest's batch: the window of every
// sample since the last export). Window b + 1 is window b moved one sample on, so with "same"
// convolutions (kernel 2p + 1, padding p) most of every convolution output is shared: stage i's
// output at window position q only sees the window's zero padding when q < aᵢ or q > d − 1 − aᵢ,
// where aᵢ = p₀ + … + pᵢ. The interior is computed once over the whole run of samples (one long
// "valid" convolution per stage), the 2aᵢ edge positions of each window by their own im2col and
// sgemm, and the window's activations assembled from both; pooling and the dense layers then run
// per window as in `forward`. For the v4.1 CNN (d = 25, k = 5) that is 11 instead of 25 positions of
// the 64×32×5 convolution per window in chunks of 8 (10 in the guest's chunks of 16), about 40 % of
// the forward's multiply-adds.
//
// Same products and sums as `forward`; only the grouping of columns into sgemm calls differs, so the
// outputs agree to float rounding (tested against `forward`, the reference, in SlidingForwardTests).

/// Buffers of the sliding forward, for runs of up to `windows` windows.
final class SlidingWorkspace: @unchecked Sendable {
    let windows: Int
    /// The run's samples, [features, windows + d − 1], in the windows' own order (window b's position
    /// j at n − 1 − b + j when position 0 is a window's newest sample, at b + j when it is its oldest).
    let sequence: FloatBuffer
    /// Per stage: the long convolution's output before and after BatchNorm/ReLU, [channels, L − 2aᵢ].
    var longPre: [FloatBuffer] = [], longAct: [FloatBuffer] = []
    let longCol: FloatBuffer
    /// Per stage, the edge positions of every window: im2col, then output before and after BN/ReLU.
    let edgeCol: FloatBuffer, edgePre: FloatBuffer, edgeAct: FloatBuffer

    init(plan: Plan, windows: Int) {
        self.windows = windows
        let d = plan.sequenceLength, length = windows + d - 1
        sequence = FloatBuffer(count: plan.numFeatures * length)
        var margin = 0, longCol = 0, edgeCol = 0, edgeOut = 0
        for s in plan.convStages {
            margin += s.padding
            let longLength = length - 2 * margin
            longPre.append(FloatBuffer(count: s.outChannels * longLength))
            longAct.append(FloatBuffer(count: s.outChannels * longLength))
            longCol = max(longCol, s.inChannels * s.kernelSize * longLength)
            edgeCol = max(edgeCol, s.inChannels * s.kernelSize * windows * 2 * margin)
            edgeOut = max(edgeOut, s.outChannels * windows * 2 * margin)
        }
        self.longCol = FloatBuffer(count: longCol)
        self.edgeCol = FloatBuffer(count: edgeCol)
        edgePre = FloatBuffer(count: edgeOut)
        edgeAct = FloatBuffer(count: edgeOut)
    }
}

extension Network {
    /// Whether this network's convolutions keep the window length (odd kernels, padding k / 2) and
    /// leave an interior that no window's padding reaches: the sliding forward applies.
    var canSlide: Bool {
        guard plan.convStages.count > 0 else { return false }
        let margin = plan.convStages.reduce(0) { $0 + $1.padding }
        return plan.convStages.allSatisfy { $0.outLength == $0.inLength && $0.kernelSize == 2 * $0.padding + 1 }
            && 2 * margin < plan.sequenceLength
    }

    /// How the windows of a batch follow each other, when each is the one before moved one sample on:
    /// `newestFirst` when position 0 holds a window's newest sample (window b + 1 from position 1
    /// equals window b from position 0, feature row by feature row, bit for bit), `oldestFirst` when
    /// position 0 holds its oldest (DECODE-RAPL's order: window b + 1 from 0 equals window b from 1).
    enum Slide { case newestFirst, oldestFirst }

    /// The direction in which the `count` windows of `inputs` [count, features·d] slide, or nil.
    func slide(_ inputs: UnsafePointer<Float>, count: Int) -> Slide? {
        let d = plan.sequenceLength
        guard count >= 2, d >= 2 else { return nil }
        if slides(inputs, count: count, newerShift: 1, olderShift: 0) { return .newestFirst }
        if slides(inputs, count: count, newerShift: 0, olderShift: 1) { return .oldestFirst }
        return nil
    }

    private func slides(_ inputs: UnsafePointer<Float>, count: Int, newerShift: Int, olderShift: Int) -> Bool {
        let f = plan.numFeatures, d = plan.sequenceLength, size = plan.inputSize
        for b in 0..<(count - 1) {
            for c in 0..<f {
                let older = inputs + b * size + c * d + olderShift, newer = inputs + (b + 1) * size + c * d + newerShift
                if memcmp(newer, older, (d - 1) * MemoryLayout<Float>.stride) != 0 { return false }
            }
        }
        return true
    }

    /// Eval forward of `count` windows that slide as `slide` says (`canSlide` holds, count ≤ maxBatch):
    /// the same outputs and latents as `forward(inputs:count:training: false)` up to float rounding.
    func forwardSliding(inputs: UnsafePointer<Float>, count n: Int, slide: Slide) -> UnsafeBufferPointer<Float> {
        precondition(n >= 1 && n <= maxBatch && canSlide)
        if sliding == nil || sliding!.windows < maxBatch { sliding = SlidingWorkspace(plan: plan, windows: maxBatch) }
        let sw = sliding!, ws = workspace
        let f = plan.numFeatures, d = plan.sequenceLength, size = plan.inputSize, length = n + d - 1
        copyInput(ws, inputs, 0..<n)
        // The run's samples: window b's position j is sequence position offset(b) + j.
        let newestFirst = slide == .newestFirst
        @inline(__always) func offset(_ b: Int) -> Int { newestFirst ? n - 1 - b : b }
        for c in 0..<f {
            let row = sw.sequence.pointer + c * length
            for b in 0..<n { (row + offset(b)).update(from: inputs + b * size + c * d, count: d) }
        }
        var margin = 0
        for (i, st) in plan.convStages.enumerated() {
            let previousMargin = margin
            margin += st.padding
            let inLength = length - 2 * previousMargin, longLength = length - 2 * margin
            let weight = parameters.pointer + st.weight, bias = parameters.pointer + st.bias
            // Interior: one valid convolution over the run, then BatchNorm/ReLU.
            let longInput = i == 0 ? sw.sequence.pointer : sw.longAct[i - 1].pointer
            conv1dForward(out: sw.longPre[i].pointer, col: sw.longCol.pointer, input: longInput,
                          layout: .sampleMajor(channels: st.inChannels, length: inLength), weight: weight, bias: bias,
                          batch: 1, inChannels: st.inChannels, outChannels: st.outChannels, length: inLength,
                          kernelSize: st.kernelSize, padding: 0, smallBlocks: true)
            finishEval(i, pre: sw.longPre[i].pointer, act: sw.longAct[i].pointer, count: longLength)
            // Edges: positions 0..<margin and d − margin..<d of every window, from the window's own
            // input (zero padded), by im2col and one sgemm.
            let edges = 2 * margin, columns = n * edges
            let (input, layout) = convInput(i, ws, 0..<n)
            edgeColumns(sw.edgeCol.pointer, input: input, layout: layout, windows: n, channels: st.inChannels,
                        kernelSize: st.kernelSize, padding: st.padding, margin: margin, length: d)
            convolveColumns(out: sw.edgePre.pointer, col: sw.edgeCol.pointer, weight: weight, bias: bias,
                            outChannels: st.outChannels, rows: st.inChannels * st.kernelSize, columns: columns, smallBlocks: true)
            finishEval(i, pre: sw.edgePre.pointer, act: sw.edgeAct.pointer, count: columns)
            // The windows' activations, channel-major as `forward` leaves them: interior from the long
            // output (window b's position `margin` is long position offset(b)), edges from their sgemm.
            let act = ws.act[i].pointer, interior = d - edges
            for c in 0..<st.outChannels {
                let long = sw.longAct[i].pointer + c * longLength, edge = sw.edgeAct.pointer + c * columns
                for b in 0..<n {
                    let dst = act + c * n * d + b * d
                    (dst + margin).update(from: long + offset(b), count: interior)
                    dst.update(from: edge + b * edges, count: margin)
                    (dst + d - margin).update(from: edge + b * edges + margin, count: margin)
                }
            }
        }
        denseForward(ws, 0..<n, training: false)
        return UnsafeBufferPointer(start: ws.out[plan.dense.count - 1].pointer, count: n)
    }
}

/// The edge patches of one stage, im2col style: row (c·K + k) of `col` [inChannels·K, windows·2·margin]
/// holds, for each window b in turn, the tap-k inputs of its positions 0..<margin and then of its positions
/// d − margin..<d (window b's channel c at `input + b·sampleStride + c·channelStride`), 0 where the tap
/// falls in the window's zero padding. Tap k reads position q + k − padding; as 2·margin < d, only the left
/// edge can reach below 0 and only the right one past d − 1, so each tap's zeros are one run at one end.
@inline(__always)
private func edgeColumns(_ col: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, layout: ConvInputLayout, windows n: Int,
                         channels: Int, kernelSize: Int, padding: Int, margin: Int, length d: Int) {
    let edges = 2 &* margin, columns = n &* edges
    for k in 0..<kernelSize {
        let shift = k &- padding
        // Left edge: positions shift ..< shift + margin, the first `leftZeros` of them below 0.
        let leftZeros = min(margin, max(0, -shift))
        // Right edge: positions d − margin + shift ..< d + shift, those from d on past the end.
        let rightCopy = min(margin, margin &- shift), rightFrom = d &- margin &+ shift
        for c in 0..<channels {
            var dst = col + (c &* kernelSize &+ k) &* columns
            var src = input + c &* layout.channelStride
            for _ in 0..<n {
                var j = 0
                while j < leftZeros { dst[j] = 0; j &+= 1 }
                while j < margin { dst[j] = src[shift &+ j]; j &+= 1 }
                j = 0
                while j < rightCopy { dst[margin &+ j] = src[rightFrom &+ j]; j &+= 1 }
                while j < margin { dst[margin &+ j] = 0; j &+= 1 }
                dst += edges
                src += layout.sampleStride
            }
        }
    }
}
