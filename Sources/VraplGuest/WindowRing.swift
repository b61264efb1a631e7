import VraplCore
import VraplDataset

/// The live window: a ring buffer of the last (d − 1)·τ + 1 feature rows, from which the model's
/// input is assembled exactly as training does (docs/model-format.md "Windows"): feature-major, newest first,
/// position `f·d + j` = feature f at t − j·τ, then min-max scaled with the model's `MinMaxScaler`.
///
/// Preallocated; `push` and `makeWindow` do not allocate.
public final class WindowRing {
    public let featureCount: Int
    public let d: Int
    public let tau: Int
    /// Rows held: (d − 1)·τ + 1.
    public let capacity: Int
    private var rows: [Float]
    private var newest = -1
    /// Rows pushed so far (saturates at `capacity` for `isFull`).
    public private(set) var count = 0

    /// Where the newest sample sits in each feature's block (the model's `embedding.order`).
    public let order: WindowOrder

    public init(featureCount: Int, d: Int, tau: Int, order: WindowOrder = .newestFirst) {
        self.featureCount = featureCount
        self.d = d
        self.tau = tau
        self.order = order
        capacity = (d - 1) * tau + 1
        rows = [Float](repeating: 0, count: capacity * featureCount)
    }

    public var isFull: Bool { count >= capacity }

    /// Forgets every row (after a gap in the readings).
    public func reset() {
        count = 0
        newest = -1
    }

    /// A pointer to the slot for the next row (`featureCount` values, stride 1); call `commit` after
    /// writing it. Lets `FeatureExtractor.push(_:into:stride:)` write straight into the ring.
    @inline(__always)
    public func withNextRow<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let slot = (newest + 1) % capacity
        return rows.withUnsafeMutableBufferPointer { buffer in
            // The buffer is never empty (capacity ≥ 1, featureCount ≥ 1).
            body(buffer.baseAddress! + slot * featureCount)
        }
    }

    /// Makes the row written by `withNextRow` the newest.
    @inline(__always)
    public func commit() {
        newest = (newest + 1) % capacity
        if count < capacity { count += 1 }
    }

    /// Appends one row (array form, for tests).
    public func push(_ row: [Float]) {
        precondition(row.count == featureCount)
        withNextRow { p in for i in 0..<featureCount { p[i] = row[i] } }
        commit()
    }

    /// Writes the raw (unscaled) window, `featureCount × d` values in model input order.
    @inline(__always)
    public func makeRawWindow(into out: UnsafeMutablePointer<Float>) {
        rows.withUnsafeBufferPointer { buffer in
            for j in 0..<d {
                let slot = ((newest - j * tau) % capacity + capacity) % capacity
                let row = slot * featureCount
                let position = order == .newestFirst ? j : d - 1 - j
                for f in 0..<featureCount { out[f * d + position] = buffer[row + f] }
            }
        }
    }
}
