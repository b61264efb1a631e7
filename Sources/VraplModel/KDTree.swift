import Foundation

/// A k-d tree over points in row-major `[count × dimension]` Float storage, for exact k-nearest-
/// neighbour search (squared Euclidean distance) with an exclusion predicate.
///
/// Built by recursive median splits on the widest dimension, leaves of at most `leafSize` points.
/// The naive search (`bruteForceNearest`) stays beside it as its reference.
public struct KDTree: Sendable {
    public let dimension: Int
    public let count: Int
    let points: [Float]
    /// Point order after partitioning; leaves own contiguous ranges of it.
    var order: [Int32]
    var nodes: [Node] = []
    let leafSize: Int

    struct Node: Sendable {
        var splitDim: Int32      // -1 for a leaf
        var splitValue: Float
        var lo: Int32, hi: Int32 // leaf: range in `order`; inner: child node indices
    }

    public init(points: [Float], dimension: Int, leafSize: Int = 16) {
        precondition(dimension > 0 && points.count % dimension == 0, "points must be count × dimension")
        self.dimension = dimension
        self.count = points.count / dimension
        self.points = points
        self.order = (0..<Int32(points.count / dimension)).map { $0 }
        self.leafSize = max(1, leafSize)
        nodes.reserveCapacity(2 * count / self.leafSize + 2)
        if count > 0 { _ = build(0, count) }
    }

    private mutating func build(_ lo: Int, _ hi: Int) -> Int32 {
        let me = Int32(nodes.count)
        nodes.append(Node(splitDim: -1, splitValue: 0, lo: Int32(lo), hi: Int32(hi)))
        if hi - lo <= leafSize { return me }
        // Widest dimension of the bounding box.
        var bestDim = 0, bestSpread: Float = -1
        for d in 0..<dimension {
            var mn = Float.infinity, mx = -Float.infinity
            for k in lo..<hi { let v = points[Int(order[k]) * dimension + d]; mn = min(mn, v); mx = max(mx, v) }
            if mx - mn > bestSpread { bestSpread = mx - mn; bestDim = d }
        }
        if bestSpread <= 0 { return me }   // all identical: keep as one (large) leaf
        let mid = (lo + hi) / 2
        let pts = points, dim = dimension, bd = bestDim
        order.withUnsafeMutableBufferPointer { buf in
            Self.select(buf, lo, hi - 1, mid) { pts[Int($0) * dim + bd] }
        }
        let splitValue = points[Int(order[mid]) * dimension + bestDim]
        let left = build(lo, mid)
        let right = build(mid, hi)
        nodes[Int(me)] = Node(splitDim: Int32(bestDim), splitValue: splitValue, lo: left, hi: right)
        return me
    }

    /// Quickselect: afterwards buf[k] holds the element of rank k within lo...hi by key, smaller before, larger after.
    private static func select(_ buf: UnsafeMutableBufferPointer<Int32>, _ lo0: Int, _ hi0: Int, _ k: Int, key: (Int32) -> Float) {
        var lo = lo0, hi = hi0
        while hi > lo {
            let pivot = key(buf[(lo + hi) / 2])
            var i = lo, j = hi
            while i <= j {
                while key(buf[i]) < pivot { i += 1 }
                while key(buf[j]) > pivot { j -= 1 }
                if i <= j { buf.swapAt(i, j); i += 1; j -= 1 }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }

    /// Squared distance between `query` and point `index`.
    func distance2(_ query: UnsafePointer<Float>, _ index: Int) -> Float {
        var s: Float = 0
        for d in 0..<dimension { let t = query[d] - points[index * dimension + d]; s += t * t }
        return s
    }

    @inline(__always)
    static func distance2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dimension: Int) -> Float {
        var s: Float = 0
        for d in 0..<dimension { let t = a[d] - b[d]; s += t * t }
        return s
    }

    /// The `k` nearest points to `query` (length `dimension`) for which `include(index)` is true,
    /// nearest first, as (index, squared distance).
    public func nearest(to query: [Float], k: Int, include: (Int) -> Bool) -> [(index: Int, distance2: Float)] {
        var best: [(index: Int, distance2: Float)] = []
        nearest(to: query, k: k, into: &best, include: include)
        return best
    }

    /// `nearest(to:k:include:)` into a caller's array (emptied first, its capacity kept), so a caller
    /// that searches at every prediction does not allocate.
    public func nearest(to query: [Float], k: Int, into best: inout [(index: Int, distance2: Float)], include: (Int) -> Bool) {
        best.removeAll(keepingCapacity: true)
        guard count > 0, k > 0, query.count == dimension else { return }
        best.reserveCapacity(k + 1)
        query.withUnsafeBufferPointer { q in
            points.withUnsafeBufferPointer { p in
                order.withUnsafeBufferPointer { o in
                    nodes.withUnsafeBufferPointer { nd in
                        guard let qp = q.baseAddress, let pp = p.baseAddress, let op = o.baseAddress, let np = nd.baseAddress else { return }
                        var ctx = SearchContext(query: qp, points: pp, order: op, nodes: np, dimension: dimension, k: k)
                        ctx.search(0, include, &best)
                    }
                }
            }
        }
    }

    private struct SearchContext {
        let query: UnsafePointer<Float>
        let points: UnsafePointer<Float>
        let order: UnsafePointer<Int32>
        let nodes: UnsafePointer<Node>
        let dimension: Int
        let k: Int

        mutating func search(_ nodeIndex: Int, _ include: (Int) -> Bool, _ best: inout [(index: Int, distance2: Float)]) {
            let node = nodes[nodeIndex]
            if node.splitDim < 0 {
                for r in Int(node.lo)..<Int(node.hi) {
                    let idx = Int(order[r])
                    let d2 = KDTree.distance2(query, points + idx * dimension, dimension)
                    if best.count == k, let worst = best.last, d2 >= worst.distance2 { continue }
                    guard include(idx) else { continue }
                    var pos = best.count
                    while pos > 0 && best[pos - 1].distance2 > d2 { pos -= 1 }
                    best.insert((idx, d2), at: pos)
                    if best.count > k { best.removeLast() }
                }
                return
            }
            let diff = query[Int(node.splitDim)] - node.splitValue
            let (near, far) = diff < 0 ? (Int(node.lo), Int(node.hi)) : (Int(node.hi), Int(node.lo))
            search(near, include, &best)
            if best.count < k || diff * diff < (best.last?.distance2 ?? .infinity) {
                search(far, include, &best)
            }
        }
    }

    /// Reference implementation: sort every included point by distance.
    public func bruteForceNearest(to query: [Float], k: Int, include: (Int) -> Bool) -> [(index: Int, distance2: Float)] {
        var all: [(index: Int, distance2: Float)] = []
        query.withUnsafeBufferPointer { q in
            guard let qp = q.baseAddress else { return }
            for i in 0..<count where include(i) { all.append((i, distance2(qp, i))) }
        }
        all.sort { $0.distance2 < $1.distance2 || ($0.distance2 == $1.distance2 && $0.index < $1.index) }
        return Array(all.prefix(k))
    }
}
