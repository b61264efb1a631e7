import VraplCore
#if canImport(Glibc)
import Glibc
#endif

/// The layer list and memory plan of a `Network`: offsets of every tensor in the flat parameter and
/// buffer arrays, in PyTorch `state_dict` order, and the per-sample activation sizes.
struct Plan: Sendable {
    struct BatchNormSlots: Sendable {
        var gamma: Int, beta: Int              // parameter offsets
        var runningMean: Int, runningVariance: Int  // buffer offsets
        var index: Int                         // into batchesTracked
    }
    struct ConvStage: Sendable {
        var inChannels: Int, outChannels: Int, kernelSize: Int, padding: Int
        var inLength: Int, outLength: Int
        var weight: Int, bias: Int             // parameter offsets
        var batchNorm: BatchNormSlots?
    }
    struct DenseLayer: Sendable {
        var inFeatures: Int, outFeatures: Int
        var weight: Int, bias: Int
        /// ReLU then Dropout after this layer.
        var activation: Bool
    }

    var inputSize: Int
    var numFeatures: Int, sequenceLength: Int     // CNN input [features, sequence]
    var convStages: [ConvStage] = []
    var pool: Int = 1
    var pooledLength: Int = 0
    var flatSize: Int
    var dense: [DenseLayer] = []
    var latentLayer: Int = 0
    var latentDim: Int
    var dropout: Float
    var parameterCount = 0
    var bufferCount = 0
    var tensors: [NamedTensor] = []

    /// Hidden width of the CNN encoder's MLP (`encoder.mlp.0`), fixed in DECODE-RAPL v4.1.
    static let cnnEncoderHidden = 128

    init(architecture a: Architecture) throws {
        latentDim = a.latentDim
        dropout = Float(a.dropout)
        guard a.latentDim > 0, a.dropout >= 0, a.dropout < 1 else {
            throw VraplError("architecture: latent_dim \(a.latentDim) must be > 0 and dropout \(a.dropout) in [0, 1)")
        }
        switch a.kind {
        case .cnn1d:
            guard let f = a.numFeatures, let l = a.sequenceLength, let channels = a.cnnChannels, let k = a.cnnKernelSize,
                  f > 0, l > 0, !channels.isEmpty, channels.allSatisfy({ $0 > 0 }), k > 0 else {
                throw VraplError("architecture: cnn1d needs num_features, sequence_length, cnn_channels, cnn_kernel_size")
            }
            let pool = a.poolSize ?? 2
            let batchNorm = a.useBatchNorm ?? true
            numFeatures = f; sequenceLength = l; inputSize = f * l
            var inChannels = f, length = l, index = 0, bnIndex = 0
            flatSize = 0
            for c in channels {
                let outLength = conv1dOutputLength(length: length, kernelSize: k, padding: k / 2)
                guard outLength > 0 else { throw VraplError("architecture: sequence too short for the kernel") }
                var stage = ConvStage(inChannels: inChannels, outChannels: c, kernelSize: k, padding: k / 2,
                                      inLength: length, outLength: outLength, weight: 0, bias: 0, batchNorm: nil)
                stage.weight = addParameter("encoder.cnn.\(index).weight", [c, inChannels, k])
                stage.bias = addParameter("encoder.cnn.\(index).bias", [c])
                if batchNorm {
                    let p = "encoder.cnn.\(index + 1)"
                    let gamma = addParameter(p + ".weight", [c])
                    let beta = addParameter(p + ".bias", [c])
                    let mean = addBuffer(p + ".running_mean", [c])
                    let variance = addBuffer(p + ".running_var", [c])
                    tensors.append(NamedTensor(name: p + ".num_batches_tracked", shape: [], storage: .batchesTracked(index: bnIndex)))
                    stage.batchNorm = BatchNormSlots(gamma: gamma, beta: beta, runningMean: mean, runningVariance: variance,
                                                     index: bnIndex)
                    bnIndex += 1
                    index += 3
                } else {
                    index += 2
                }
                convStages.append(stage)
                inChannels = c; length = outLength
            }
            guard pool >= 1, length / pool > 0 else { throw VraplError("architecture: pool_size too large") }
            self.pool = pool
            pooledLength = length / pool
            flatSize = inChannels * pooledLength
            addDense(prefix: "encoder.mlp", widths: [Self.cnnEncoderHidden], input: flatSize, output: a.latentDim,
                     finalActivation: false)
        case .mlp:
            guard let inputDim = a.inputDim, inputDim > 0, let layers = a.encoderLayers, layers.allSatisfy({ $0 > 0 }) else {
                throw VraplError("architecture: mlp needs input_dim and encoder_layers")
            }
            numFeatures = 0; sequenceLength = 0; inputSize = inputDim; flatSize = inputDim
            addDense(prefix: "encoder.network", widths: layers, input: inputDim, output: a.latentDim, finalActivation: false)
        }
        latentLayer = dense.count - 1
        guard a.powerHeadLayers.allSatisfy({ $0 > 0 }) else { throw VraplError("architecture: power_head_layers must be > 0") }
        addDense(prefix: "power_head.network", widths: a.powerHeadLayers, input: a.latentDim, output: 1, finalActivation: false)
    }

    private mutating func addParameter(_ name: String, _ shape: [Int]) -> Int {
        let offset = parameterCount
        tensors.append(NamedTensor(name: name, shape: shape, storage: .parameter(offset: offset)))
        parameterCount += shape.reduce(1, *)
        return offset
    }

    private mutating func addBuffer(_ name: String, _ shape: [Int]) -> Int {
        let offset = bufferCount
        tensors.append(NamedTensor(name: name, shape: shape, storage: .buffer(offset: offset)))
        bufferCount += shape.reduce(1, *)
        return offset
    }

    /// Linear/ReLU/Dropout blocks (indices 3j, 3j+1, 3j+2) then a final Linear at index 3·widths.count.
    private mutating func addDense(prefix: String, widths: [Int], input: Int, output: Int, finalActivation: Bool) {
        var inFeatures = input
        for (j, w) in (widths + [output]).enumerated() {
            let weight = addParameter("\(prefix).\(3 * j).weight", [w, inFeatures])
            let bias = addParameter("\(prefix).\(3 * j).bias", [w])
            dense.append(DenseLayer(inFeatures: inFeatures, outFeatures: w, weight: weight, bias: bias,
                                    activation: j < widths.count || finalActivation))
            inFeatures = w
        }
    }

    var maxChannels: Int { convStages.map(\.outChannels).max() ?? 1 }

    /// Forward FLOPs per sample (multiply-add = 2), for GFLOP/s figures; training ≈ 3× this.
    var forwardFlopsPerSample: Double {
        var flops = 0.0
        for s in convStages { flops += 2.0 * Double(s.outChannels * s.inChannels * s.kernelSize * s.outLength) }
        for d in dense { flops += 2.0 * Double(d.inFeatures * d.outFeatures) }
        return flops
    }
}

/// Activation buffers for a fixed batch capacity. Every buffer is [batch × per-sample size]; a shard of
/// samples [start, start+n) uses the contiguous block at `start × per-sample size` (for the channel-major
/// convolution buffers that block is itself a [channels, n·length] matrix).
final class Workspace: @unchecked Sendable {
    let batch: Int
    let input: FloatBuffer
    // per conv stage
    var col: [FloatBuffer] = [], dCol: [FloatBuffer] = []
    var pre: [FloatBuffer] = [], xhat: [FloatBuffer] = [], act: [FloatBuffer] = [], dAct: [FloatBuffer] = []
    var mean: [FloatBuffer] = [], variance: [FloatBuffer] = []
    let pool: FloatBuffer, dPool: FloatBuffer
    // per dense layer
    var out: [FloatBuffer] = [], masked: [FloatBuffer] = [], mask: [FloatBuffer] = [], dOut: [FloatBuffer] = []

    /// Samples per im2col chunk (see `conv1dForwardChunked`); `col[shard]`, `dCol[shard]` hold one chunk.
    let chunk: Int
    let shards: Int

    /// Whether the buffers only training reads (gradients, BatchNorm's x̂, dropout masks) exist.
    let trains: Bool

    /// - Parameter training: false leaves out every buffer only a training forward or a backward
    ///   uses (an inference-only network: less resident memory).
    init(plan: Plan, batch: Int, shards: Int, training: Bool = true) {
        self.batch = batch
        self.shards = max(1, shards)
        trains = training
        let t = training ? 1 : 0
        input = FloatBuffer(count: batch * plan.inputSize)
        let maxColPerSample = plan.convStages.map { $0.inChannels * $0.kernelSize * $0.outLength }.max() ?? 0
        // About 256 KiB of im2col per chunk: it and the chunk's GEMM operands stay in a 1–2 MiB L2.
        var chunkSamples = (1 << 16) / max(1, maxColPerSample)
        if let text = getenv("VRAPL_NN_CHUNK"), let value = Int(String(cString: text)), value > 0 { chunkSamples = value }
        chunk = max(1, min(batch, chunkSamples))
        for _ in 0..<self.shards {
            col.append(FloatBuffer(count: chunk * maxColPerSample))
            dCol.append(FloatBuffer(count: t * chunk * maxColPerSample))
        }
        for s in plan.convStages {
            let actSize = s.outChannels * s.outLength
            pre.append(FloatBuffer(count: batch * actSize))
            xhat.append(FloatBuffer(count: s.batchNorm == nil ? 0 : t * batch * actSize))
            act.append(FloatBuffer(count: batch * actSize))
            dAct.append(FloatBuffer(count: t * batch * actSize))
            mean.append(FloatBuffer(count: s.outChannels))
            variance.append(FloatBuffer(count: s.outChannels))
        }
        pool = FloatBuffer(count: plan.convStages.isEmpty ? 0 : batch * plan.flatSize)
        dPool = FloatBuffer(count: plan.convStages.isEmpty ? 0 : t * batch * plan.flatSize)
        for d in plan.dense {
            out.append(FloatBuffer(count: batch * d.outFeatures))
            masked.append(FloatBuffer(count: d.activation ? t * batch * d.outFeatures : 0))
            mask.append(FloatBuffer(count: d.activation ? t * batch * d.outFeatures : 0))
            dOut.append(FloatBuffer(count: t * batch * d.outFeatures))
        }
    }
}
