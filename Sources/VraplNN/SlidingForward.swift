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
// sgemm. No window's activations are assembled: each edge im2col gathers its inputs from the stage
// before's long output and edge outputs (or the run's samples), and the pooling reads the last
// stage's the same way; the dense layers then run per window as in `forward`. For the v4.1 CNN
// (d = 25, k = 5) that is 11 instead of 25 positions of the 64×32×5 convolution per window in chunks
// of 8 (10 in the guest's chunks of 16), about 40 % of the forward's multiply-adds.
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
    /// The edge positions of every window: im2col and output before BN/ReLU (one stage at a time), and
    /// per stage the output after it, [channels, 2aᵢ · windows] (edge column e of window u at e·n + u).
    let edgeCol: FloatBuffer, edgePre: FloatBuffer
    var edgeAct: [FloatBuffer] = []
    /// One pooled position of every window (`poolSliding`).
    let poolScratch: FloatBuffer

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
            edgeAct.append(FloatBuffer(count: s.outChannels * windows * 2 * margin))
            longCol = max(longCol, s.inChannels * s.kernelSize * longLength)
            edgeCol = max(edgeCol, s.inChannels * s.kernelSize * windows * 2 * margin)
            edgeOut = max(edgeOut, s.outChannels * windows * 2 * margin)
        }
        self.longCol = FloatBuffer(count: longCol)
        self.edgeCol = FloatBuffer(count: edgeCol)
        edgePre = FloatBuffer(count: edgeOut)
        poolScratch = FloatBuffer(count: windows)
    }
}

/// One stage's output over a run of sliding windows, as the sliding forward keeps it, windows in run
/// order (window u of the run starts at sample u): the long (interior) output [channels, longLength]
/// (window u's position q, for margin ≤ q < d − margin, at long position u + q − margin) and the edge
/// outputs [channels, 2·margin · windows] (window u's position q < margin at column q·n + u, position
/// d − margin + e at (margin + e)·n + u).
/// The run's samples are the stage before the first: margin 0, no edges.
struct SlidingStageOutput {
    let long: UnsafePointer<Float>
    let longLength: Int
    let edges: UnsafePointer<Float>?
    let margin: Int
}

/// Where each window of a run starts in the run: window b at `count − 1 − b` when position 0 holds a
/// window's newest sample, at b when it holds its oldest.
struct WindowOffsets {
    let count: Int
    let newestFirst: Bool

    @inline(__always) subscript(_ b: Int) -> Int { newestFirst ? count &- 1 &- b : b }
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
        // The run's samples: window b's position j is sequence position offset(b) + j.
        let newestFirst = slide == .newestFirst
        let offsets = WindowOffsets(count: n, newestFirst: newestFirst)
        for c in 0..<f {
            let row = sw.sequence.pointer + c * length
            for b in 0..<n { (row + offsets[b]).update(from: inputs + b * size + c * d, count: d) }
        }
        var previous = SlidingStageOutput(long: sw.sequence.pointer, longLength: length, edges: nil, margin: 0)
        for (i, st) in plan.convStages.enumerated() {
            let margin = previous.margin + st.padding, longLength = length - 2 * margin
            let weight = parameters.pointer + st.weight, bias = parameters.pointer + st.bias
            // Interior: one valid convolution over the run, then BatchNorm/ReLU.
            conv1dForward(out: sw.longPre[i].pointer, col: sw.longCol.pointer, input: previous.long,
                          layout: .sampleMajor(channels: st.inChannels, length: previous.longLength), weight: weight, bias: bias,
                          batch: 1, inChannels: st.inChannels, outChannels: st.outChannels, length: previous.longLength,
                          kernelSize: st.kernelSize, padding: 0, smallBlocks: true)
            finishEval(i, pre: sw.longPre[i].pointer, act: sw.longAct[i].pointer, count: longLength)
            // Edges: positions 0..<margin and d − margin..<d of every window, gathered from the stage
            // before (zero padded), by im2col and one sgemm.
            let columns = n * 2 * margin
            gatherEdgeColumns(sw.edgeCol.pointer, from: previous, windows: n, channels: st.inChannels,
                              kernelSize: st.kernelSize, padding: st.padding, margin: margin, length: d)
            convolveColumns(out: sw.edgePre.pointer, col: sw.edgeCol.pointer, weight: weight, bias: bias,
                            outChannels: st.outChannels, rows: st.inChannels * st.kernelSize, columns: columns, smallBlocks: true)
            finishEval(i, pre: sw.edgePre.pointer, act: sw.edgeAct[i].pointer, count: columns)
            previous = SlidingStageOutput(long: sw.longAct[i].pointer, longLength: longLength,
                                          edges: sw.edgeAct[i].pointer, margin: margin)
        }
        let last = plan.convStages[plan.convStages.count - 1]
        poolSliding(out: ws.pool.pointer, scratch: sw.poolScratch.pointer, from: previous, offsets: offsets,
                    channels: last.outChannels, length: d, pool: plan.pool)
        denseLayersForward(ws, 0..<n, training: false)
        return UnsafeBufferPointer(start: ws.out[plan.dense.count - 1].pointer, count: n)
    }
}

/// Window position of edge column `e` of a stage with `margin`: e < margin is position e (the left
/// edge), the rest d − 2·margin + e (the right edge).
@inline(__always)
private func edgePosition(_ e: Int, margin: Int, length d: Int) -> Int { e < margin ? e : d &- 2 &* margin &+ e }

/// The `n` values, one per window in run order, of window position q of a stage's output (`from`): a
/// row of its edges or a stretch of its long output (both contiguous), or nil where q is padding.
@inline(__always)
private func runRow(_ input: SlidingStageOutput, channel c: Int, position q: Int, windows n: Int, length d: Int) -> UnsafePointer<Float>? {
    let a = input.margin
    if q < 0 || q >= d { return nil }
    if let edges = input.edges, q < a || q >= d &- a {
        let e = q < a ? q : a &+ q &- (d &- a)
        return edges + (c &* 2 &* a &+ e) &* n
    }
    return input.long + (c &* input.longLength &+ q &- a)
}

/// The edge patches of one stage, im2col style: row (c·K + k) of `col` [inChannels·K, 2·margin·windows]
/// holds, for each edge column e (positions 0..<margin, then d − margin..<d) the tap-k inputs of every
/// window in run order (window u of the run at column e·n + u), 0 where the tap falls in the window's zero
/// padding. Tap k of position q reads position r = q + k − padding of the stage before (`from`), and
/// across the run's windows that is one contiguous row: of its edges (r near the window's ends), of its
/// long output (window u's r at long position u + r − a), or zeros. So each row is one copy.
@inline(__always)
private func gatherEdgeColumns(_ col: UnsafeMutablePointer<Float>, from input: SlidingStageOutput, windows n: Int,
                               channels: Int, kernelSize: Int, padding: Int, margin: Int, length d: Int) {
    let edges = 2 &* margin
    for c in 0..<channels {
        for k in 0..<kernelSize {
            var dst = col + (c &* kernelSize &+ k) &* edges &* n
            for e in 0..<edges {
                let r = edgePosition(e, margin: margin, length: d) &+ k &- padding
                if let src = runRow(input, channel: c, position: r, windows: n, length: d) {
                    dst.update(from: src, count: n)
                } else {
                    dst.update(repeating: 0, count: n)
                }
                dst += n
            }
        }
    }
}

/// Max pooling (kernel and stride `pool`, as `maxPool2Forward`/`maxPoolForward`) of the last stage's
/// output over a run of sliding windows, read where the sliding forward keeps it (`from`), into `out`
/// [windows, channels · (d / pool)] (the dense layers' input, `forward`'s flatten order, window b of
/// the batch at row b: run position `offsets[b]`). `scratch` holds `windows` floats.
@inline(__always)
private func poolSliding(out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, from input: SlidingStageOutput,
                         offsets: WindowOffsets, channels: Int, length d: Int, pool: Int) {
    let n = offsets.count, pooled = d / pool, flat = channels &* pooled
    for c in 0..<channels {
        for m in 0..<pooled {
            // Every window's maximum over positions m·pool ..< (m + 1)·pool, in run order.
            guard let first = runRow(input, channel: c, position: m &* pool, windows: n, length: d) else { continue }
            scratch.update(from: first, count: n)
            for t in 1..<max(1, pool) {
                guard let row = runRow(input, channel: c, position: m &* pool &+ t, windows: n, length: d) else { continue }
                for u in 0..<n { scratch[u] = max(scratch[u], row[u]) }
            }
            let column = out + (c &* pooled &+ m)
            if offsets.newestFirst {
                for b in 0..<n { column[b &* flat] = scratch[n &- 1 &- b] }
            } else {
                for b in 0..<n { column[b &* flat] = scratch[b] }
            }
        }
    }
}
