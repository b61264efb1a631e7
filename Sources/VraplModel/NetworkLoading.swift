import VraplCore
import VraplNN

extension Network: NamedParameterSink {
    /// Every float tensor of the state_dict (parameters and BatchNorm running statistics).
    public var namedParameterShapes: [(name: String, shape: [Int])] {
        tensors.filter(\.isFloat).map { ($0.name, $0.shape) }
    }

    public func setParameter(named name: String, values: [Float]) throws {
        try setValues(of: name, to: values)
    }
}

extension ModelFile {
    /// Builds this model's network (eval use: `predict(window:)`, `latent`) and loads every tensor by
    /// name, checking shapes. Errors name the model file, the tensor and both shapes. `inferenceOnly`
    /// leaves out the training buffers (`Network.init`): what a daemon that only predicts wants.
    public func makeNetwork(maxBatch: Int = 1, threads: Int = 1, inferenceOnly: Bool = false) throws -> Network {
        let source = path ?? displayName
        let network: Network
        do {
            network = try Network(architecture: architecture, maxBatch: maxBatch, threads: threads, inferenceOnly: inferenceOnly)
        } catch {
            throw VraplError("\(source): cannot build the \(architecture.kind.rawValue) network: \(error)")
        }
        try load(into: network)
        return network
    }

    /// Loads every tensor of this model into an existing network by name (float tensors and the int64
    /// `num_batches_tracked` counters), checking names and shapes: the one path by which weights enter a
    /// network, for the guest, `vrapl predict`, evaluation and resumed training alike.
    public func load(into network: Network) throws {
        let source = path ?? displayName
        let networkNames = Set(network.tensors.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !networkNames.contains($0) }) {
            throw VraplError("\(source): tensor '\(extra)' is not part of the \(architecture.kind.rawValue) network")
        }
        var sink = network
        try loadWeights(into: &sink)
        for tensor in network.tensors where !tensor.isFloat {
            guard case .batchesTracked(let slot) = tensor.storage else { continue }
            guard let stored = tensors[tensor.name] else {
                throw VraplError("\(source): model has no tensor '\(tensor.name)' that the network needs")
            }
            guard stored.shape == tensor.shape else {
                throw VraplError("\(source): tensor '\(tensor.name)' has shape \(stored.shape) in the file but the network expects \(tensor.shape)")
            }
            if case .int64(let values) = stored.values, let first = values.first {
                network.batchesTracked[slot] = first
            }
        }
        try checkFiniteOutputs(of: network, source: source)
    }

    /// Refuses weights that cannot give finite estimates (FLT_MAX weights overflowing, and whatever
    /// `validate` cannot see from single numbers): windows of scaled inputs all 0, all ½ and all 1,
    /// the corners and centre of the training range, must predict finite watts.
    func checkFiniteOutputs(of network: Network, source: String) throws {
        for level: Float in [0, 0.5, 1] {
            let watts = network.predict(window: [Float](repeating: level, count: network.inputSize))
            guard watts.isFinite else {
                throw VraplError("\(source): invalid model: it predicts \(watts) W for a window of scaled inputs all \(level), "
                                 + "so it cannot produce finite estimates (weights too large?)")
            }
        }
    }

    /// The network's state_dict as safetensors tensors (F32, and I64 for `num_batches_tracked`):
    /// what a trainer stores in `ModelFile.tensors`.
    public static func tensors(from network: Network) throws -> [String: SafetensorsTensor] {
        var out: [String: SafetensorsTensor] = [:]
        for tensor in network.tensors {
            switch tensor.storage {
            case .batchesTracked(let slot):
                out[tensor.name] = SafetensorsTensor(shape: tensor.shape, int64s: [network.batchesTracked[slot]])
            default:
                out[tensor.name] = SafetensorsTensor(shape: tensor.shape, floats: try network.values(of: tensor.name))
            }
        }
        return out
    }
}
