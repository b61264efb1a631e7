// Regression losses with mean reduction, as PyTorch's L1Loss, MSELoss and HuberLoss(delta) define them.

/// The training loss. `huber(delta)` is PyTorch's HuberLoss (delta = 1 is SmoothL1 too).
public enum LossKind: Sendable, Equatable {
    case l1, mse, huber(delta: Float)

    /// Parses `l1`, `mse`, `huber` (delta 1) or `huber:0.5`.
    public init?(name: String) {
        let parts = name.lowercased().split(separator: ":")
        switch parts.first {
        case "l1", "mae": self = .l1
        case "mse", "l2": self = .mse
        case "huber", "smooth_l1":
            if parts.count == 2 { guard let d = Float(parts[1]), d > 0 else { return nil }; self = .huber(delta: d) }
            else { self = .huber(delta: 1) }
        default: return nil
        }
    }

    /// `l1`, `mse`, `huber` (delta 1) or `huber:<delta>`: what `init(name:)` reads back.
    public var name: String {
        switch self {
        case .l1: return "l1"
        case .mse: return "mse"
        case .huber(let d): return d == 1 ? "huber" : "huber:\(d)"
        }
    }
}

/// Loss forward and backward in one pass over a (shard of a) batch: returns Σ per-sample losses (not yet
/// divided), and writes dPrediction[i] = ∂(Σ losses / totalCount)/∂prediction[i], i.e. the gradient of the
/// mean over the whole batch of `totalCount` samples.
public func lossForwardBackward(kind: LossKind, dPrediction: UnsafeMutablePointer<Float>?,
                                prediction: UnsafePointer<Float>, target: UnsafePointer<Float>,
                                count: Int, totalCount: Int) -> Double {
    let scale = 1 / Float(totalCount)
    var total = 0.0
    for i in 0..<count {
        let d = prediction[i] - target[i]
        let value: Float, gradient: Float
        switch kind {
        case .mse: value = d * d; gradient = 2 * d
        case .l1: value = abs(d); gradient = d > 0 ? 1 : (d < 0 ? -1 : 0)
        case .huber(let delta):
            if abs(d) < delta { value = 0.5 * d * d; gradient = d }
            else { value = delta * (abs(d) - 0.5 * delta); gradient = d > 0 ? delta : -delta }
        }
        total += Double(value)
        dPrediction?[i] = gradient * scale
    }
    return total
}

/// Naive reference: the mean loss in any floating-point type.
public func lossNaive<T: BinaryFloatingPoint>(kind: LossKind, prediction: [T], target: [T]) -> T {
    var total: T = 0
    for i in prediction.indices {
        let d = prediction[i] - target[i]
        switch kind {
        case .mse: total += d * d
        case .l1: total += abs(d)
        case .huber(let delta):
            let dl = T(delta)
            total += abs(d) < dl ? d * d / 2 : dl * (abs(d) - dl / 2)
        }
    }
    return total / T(prediction.count)
}
