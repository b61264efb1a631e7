import Foundation

/// A k-d tree over points in row-major `[count × dimension]` Float storage, for exact k-nearest-
/// neighbour search (squared Euclidean distance) with an exclusion predicate.
///
/// Built by recursive median splits on the widest dimension, leaves of at most `leafSize` points.
/// The search skips a subtree once the distance from the query to its cell (the sum of the squared
/// offsets to the nearest split in each dimension on the way down, Arya and Mount's incremental
/// distance) reaches the k-th best: every point in that cell is at least that far (each offset is
/// rounded no larger than the point's own, summed in the same order), so none of them could have
/// entered the result, and the result (ties included) is the one visiting every cell in the same
/// order gives. The naive search (`bruteForceNearest`) stays beside it as its reference.
public struct KDTree: Sendable {
    public let dimension: Int
    public let count: Int
    let points: [Float]
    /// Each leaf's points again, 16 at a time, one vector per dimension (`Node.lanes` says where a
    /// leaf's start): a leaf's 16 distances are computed side by side, each lane summing in `distance2`'s
    /// order (so bit for bit the same squared distance).
    var lanes: [SIMD16<Float>] = []
    /// Point order after partitioning; leaves own contiguous ranges of it.
    var order: [Int32]
    var nodes: [Node] = []
    let leafSize: Int

    struct Node: Sendable {
        var splitDim: Int32      // -1 for a leaf
        var splitValue: Float
        var lo: Int32, hi: Int32 // leaf: range in `order`; inner: child node indices
        var lanes: Int32 = 0     // leaf: its first vector in `lanes`
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
        for n in nodes.indices where nodes[n].splitDim < 0 {
            nodes[n].lanes = Int32(lanes.count)
            var r = Int(nodes[n].lo)
            while r < Int(nodes[n].hi) {
                for d in 0..<dimension {
                    var v = SIMD16<Float>(repeating: 0)
                    for i in 0..<min(16, Int(nodes[n].hi) - r) { v[i] = points[Int(order[r + i]) * dimension + d] }
                    lanes.append(v)
                }
                r += 16
            }
        }
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
    static func select<Element>(_ buf: UnsafeMutableBufferPointer<Element>, _ lo0: Int, _ hi0: Int, _ k: Int, key: (Element) -> Float) {
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

    /// The `k` nearest points to `query` (length `dimension`) for which `include(index)` is true,
    /// nearest first, as (index, squared distance).
    public func nearest(to query: [Float], k: Int, include: (Int) -> Bool) -> [(index: Int, distance2: Float)] {
        var best: [(index: Int, distance2: Float)] = []
        nearest(to: query, k: k, into: &best, include: include)
        return best
    }

    /// `nearest(to:k:include:)` into a caller's array (emptied first, its capacity kept), so a caller
    /// that searches at every prediction does not allocate.
    ///
    /// `within` is a hint, a squared distance the k-th nearest is expected not to exceed (a caller whose
    /// queries move a little at a time knows one from its last result, by the triangle inequality): the
    /// search skips every cell and point farther than it. If fewer than k points turn out to lie within
    /// it, the search runs again without it, so the result is the same for any hint. With `sorted` false
    /// the k nearest come in no particular order (for a caller that only needs them as a set).
    public func nearest(to query: [Float], k: Int, into best: inout [(index: Int, distance2: Float)],
                        within hint: Float = .infinity, sorted: Bool = true, include: (Int) -> Bool) {
        best.removeAll(keepingCapacity: true)
        guard count > 0, k > 0, query.count == dimension else { return }
        best.reserveCapacity(k + 1)
        let k = min(k, count)
        query.withUnsafeBufferPointer { q in
            lanes.withUnsafeBufferPointer { l in
                order.withUnsafeBufferPointer { o in
                    nodes.withUnsafeBufferPointer { nd in
                        guard let qp = q.baseAddress, let lp = l.baseAddress, let op = o.baseAddress, let np = nd.baseAddress else { return }
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: dimension) { offsets in
                            withUnsafeTemporaryAllocation(of: Candidate.self, capacity: k) { heap in
                                offsets.initialize(repeating: 0)
                                var ctx = SearchContext(query: qp, lanes: lp, order: op, nodes: np, dimension: dimension, k: k,
                                                        offsets: offsets.baseAddress!, heap: heap.baseAddress!)
                                // Points at exactly the hint stay in: the limit is the next float above it.
                                if hint.isFinite && hint >= 0 { ctx.limit = hint.nextUp }
                                ctx.search(0, include)
                                if ctx.found < k && ctx.limit < .infinity {
                                    ctx = SearchContext(query: qp, lanes: lp, order: op, nodes: np, dimension: dimension, k: k,
                                                        offsets: offsets.baseAddress!, heap: heap.baseAddress!)
                                    ctx.search(0, include)
                                }
                                // Nearest first; among equal distances, the one found first first.
                                if sorted { ctx.sortFound() }
                                for c in UnsafeBufferPointer(start: heap.baseAddress, count: ctx.found) { best.append((Int(c.index), c.distance2)) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A point in the running k best: its squared distance, and the order in which it was found.
    private struct Candidate {
        var distance2: Float
        var sequence: Int32
        var index: Int32

        /// The result's order: by distance, then by discovery (the sorted-insertion order).
        @inline(__always)
        func precedes(_ other: Candidate) -> Bool {
            distance2 < other.distance2 || (distance2 == other.distance2 && sequence < other.sequence)
        }
    }

    /// The search's state. The k best are a max-heap in the `precedes` order, so the one a closer point
    /// replaces is the farthest, and among equally far ones the last found: the result is the one of
    /// keeping the k best sorted and dropping the last, with log k work per accepted point.
    private struct SearchContext {
        let query: UnsafePointer<Float>
        let lanes: UnsafePointer<SIMD16<Float>>
        let order: UnsafePointer<Int32>
        let nodes: UnsafePointer<Node>
        let dimension: Int
        let k: Int
        /// Per dimension, the query's offset to the cell being searched (0 where no split bounds it).
        let offsets: UnsafeMutablePointer<Float>
        /// The k best so far, `found` of them, heap-ordered with the last in `precedes` order at 0.
        let heap: UnsafeMutablePointer<Candidate>
        var found = 0
        var sequence: Int32 = 0
        /// Points and cells at this squared distance or farther are skipped until there are k (the
        /// caller's hint, or infinite).
        var limit: Float = .infinity

        /// Squared distance from the query to the cell `offsets` bound, summed as `distance2` sums.
        @inline(__always)
        func cellDistance2() -> Float {
            var s: Float = 0
            for d in 0..<dimension { let t = offsets[d]; s += t * t }
            return s
        }

        /// The distance a point must beat to enter the k best (`limit` until there are k; every point
        /// admitted is nearer than `limit`, so the k-th best is too).
        @inline(__always)
        var worst: Float { found == k ? heap[0].distance2 : limit }

        @inline(__always)
        mutating func admit(_ index: Int, _ d2: Float) {
            let c = Candidate(distance2: d2, sequence: sequence, index: Int32(index))
            sequence &+= 1
            if found < k {
                // Sift up.
                var i = found
                found += 1
                while i > 0 {
                    let parent = (i - 1) / 2
                    guard heap[parent].precedes(c) else { break }
                    heap[i] = heap[parent]
                    i = parent
                }
                heap[i] = c
                return
            }
            // Replace the last (the root) and sift down.
            siftDown(0, c, size: found)
        }

        /// Moves `heap[i]` down to its place in the max-heap `heap[0..<size]`.
        @inline(__always)
        func siftDown(_ start: Int, _ c: Candidate, size: Int) {
            var i = start
            while true {
                let left = 2 * i + 1
                guard left < size else { break }
                var child = left
                if left + 1 < size && heap[left].precedes(heap[left + 1]) { child = left + 1 }
                guard c.precedes(heap[child]) else { break }
                heap[i] = heap[child]
                i = child
            }
            heap[i] = c
        }

        /// Sorts the found candidates in `precedes` order in place (heap sort: no allocation).
        func sortFound() {
            var size = found
            while size > 1 {
                size -= 1
                let last = heap[size]
                heap[size] = heap[0]
                siftDown(0, last, size: size)
            }
        }

        mutating func search(_ nodeIndex: Int, _ include: (Int) -> Bool) {
            let node = nodes[nodeIndex]
            if node.splitDim < 0 {
                var r = Int(node.lo), vector = Int(node.lanes)
                let hi = Int(node.hi)
                while r < hi {
                    var s = SIMD16<Float>(repeating: 0)
                    for d in 0..<dimension {
                        let t = SIMD16<Float>(repeating: query[d]) - lanes[vector &+ d]
                        s += t * t
                    }
                    // Most leaves of a search hold no point that beats the k-th best: one comparison of all 16.
                    if !any(s .< SIMD16<Float>(repeating: worst)) {
                        r += 16
                        vector += dimension
                        continue
                    }
                    for i in 0..<min(16, hi - r) {
                        let d2 = s[i]
                        if d2 >= worst { continue }
                        let idx = Int(order[r &+ i])
                        guard include(idx) else { continue }
                        admit(idx, d2)
                    }
                    r += 16
                    vector += dimension
                }
                return
            }
            let split = Int(node.splitDim)
            let diff = query[split] - node.splitValue
            let (near, far) = diff < 0 ? (Int(node.lo), Int(node.hi)) : (Int(node.hi), Int(node.lo))
            search(near, include)
            // The far cell lies beyond this split: its offset in `split` is at least |diff|.
            let previous = offsets[split]
            offsets[split] = diff
            if (found < k && limit == .infinity) || cellDistance2() < worst {
                search(far, include)
            }
            offsets[split] = previous
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
