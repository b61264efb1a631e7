import Foundation
import VraplCore

/// How windows are divided into training, validation and test sets.
public enum SplitKind: String, Sendable, CaseIterable, Codable {
    /// Seeded global shuffle of all windows, then 80/10/10 (DECODE-RAPL's protocol; neighbouring
    /// windows overlap, so this is the optimistic figure).
    case shuffle
    /// Whole labelled segments are held out (seeded choice; optionally stratified by the campaign's
    /// design: family, guest size, neighbour load) for validation and test.
    case segment
    /// Every segment of one workload family is the test set; validation is whole segments of the rest.
    case family
    /// The last part of each trace: per trace, the first 80 % of its windows train, the next 10 %
    /// validate, the last 10 % test; windows whose inputs reach back into the previous part are dropped.
    case time
}

/// Split parameters (the `split:` block of a training config).
public struct SplitOptions: Sendable, Equatable {
    public var kind: SplitKind
    public var seed: UInt64
    public var validationFraction: Double
    public var testFraction: Double
    /// `family` split: the family to hold out; nil picks one with `seed` (families sorted by name).
    public var holdoutFamily: String?
    /// `segment` split: hold out every design stratum in proportion (`stratifiedByDesign`), so that
    /// validation and test have the mix of the whole data (config `split.stratify: design`).
    public var stratifyByDesign = false

    public init(kind: SplitKind = .shuffle, seed: UInt64 = 42, validationFraction: Double = 0.1,
                testFraction: Double = 0.1, holdoutFamily: String? = nil, stratifyByDesign: Bool = false) {
        self.kind = kind; self.seed = seed; self.validationFraction = validationFraction
        self.testFraction = testFraction; self.holdoutFamily = holdoutFamily; self.stratifyByDesign = stratifyByDesign
    }
}

/// Window indices (into `WindowDataset.windowEnds`) of the three sets, each in ascending order
/// except `shuffle`'s, which keep the shuffled order. Deterministic for a given dataset and seed.
public struct DatasetSplit: Sendable, Equatable {
    public var train: [Int32]
    public var validation: [Int32]
    public var test: [Int32]
    /// What was held out, for the model card (segment names or the family).
    public var heldOut: [String]

    public init(train: [Int32], validation: [Int32], test: [Int32], heldOut: [String] = []) {
        self.train = train; self.validation = validation; self.test = test; self.heldOut = heldOut
    }

    public static func make(dataset: WindowDataset, options: SplitOptions) throws -> DatasetSplit {
        guard options.validationFraction >= 0, options.testFraction >= 0,
              options.validationFraction + options.testFraction < 1 else {
            throw VraplError("split fractions must be non-negative and leave a training part (validation \(options.validationFraction), test \(options.testFraction))")
        }
        guard dataset.windowCount > 0 else { throw VraplError("the dataset has no windows to split") }
        switch options.kind {
        case .shuffle: return shuffle(dataset, options)
        case .segment: return try segment(dataset, options)
        case .family: return try family(dataset, options)
        case .time: return time(dataset, options)
        }
    }

    static func shuffle(_ ds: WindowDataset, _ o: SplitOptions) -> DatasetSplit {
        var ids = (0..<ds.windowCount).map { Int32($0) }
        var rng = SplitMix64(seed: o.seed)
        rng.shuffle(&ids)
        let n = ids.count
        let nTest = Int((Double(n) * o.testFraction).rounded(.down))
        let nVal = Int((Double(n) * o.validationFraction).rounded(.down))
        let nTrain = n - nVal - nTest
        return DatasetSplit(train: Array(ids[0..<nTrain]), validation: Array(ids[nTrain..<(nTrain + nVal)]),
                            test: Array(ids[(nTrain + nVal)...]))
    }

    /// Windows grouped by segment, ascending.
    static func windowsBySegment(_ ds: WindowDataset) -> [[Int32]] {
        var groups = Array(repeating: [Int32](), count: ds.segments.count)
        for (i, s) in ds.windowSegments.enumerated() { groups[Int(s)].append(Int32(i)) }
        return groups
    }

    /// Assigns whole segments (given in a seeded order) to test, then validation, until each holds
    /// its fraction of `total` windows; the rest train.
    static func assignSegments(order: [Int], groups: [[Int32]], total: Int, testFraction: Double,
                               validationFraction: Double, names: [String]) -> DatasetSplit {
        let testTarget = Double(total) * testFraction, valTarget = Double(total) * validationFraction
        var test: [Int32] = [], val: [Int32] = [], train: [Int32] = []
        var held: [String] = []
        for s in order {
            let g = groups[s]
            if g.isEmpty { continue }
            if Double(test.count) < testTarget { test += g; held.append("test:" + names[s]) }
            else if Double(val.count) < valTarget { val += g; held.append("validation:" + names[s]) }
            else { train += g }
        }
        return DatasetSplit(train: train.sorted(), validation: val.sorted(), test: test.sorted(), heldOut: held)
    }

    /// Interleaves a shuffled segment order so that every prefix holds the strata in proportion: a
    /// stratum's j-th segment (of n) is placed at (j + u)/n, u uniform, and the order is sorted by that
    /// key. Test and validation, taken from the front, then have the mix of the whole data, so an
    /// interval calibrated on validation windows meets test windows of the same mix (a plain shuffle
    /// gave the demo's guest model 33 cpu segments to validate and 63 to test).
    static func stratifiedByDesign(_ order: [Int], strata families: [String], rng: inout SplitMix64) -> [Int] {
        var count: [String: Int] = [:]
        for s in order { count[families[s], default: 0] += 1 }
        var seen: [String: Int] = [:]
        var keyed: [(key: Double, segment: Int)] = []
        for s in order {
            let f = families[s], j = seen[f, default: 0]
            seen[f] = j + 1
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            keyed.append(((Double(j) + u) / Double(count[f] ?? 1), s))
        }
        return keyed.sorted { $0.key != $1.key ? $0.key < $1.key : $0.segment < $1.segment }.map(\.segment)
    }

    static func segment(_ ds: WindowDataset, _ o: SplitOptions) throws -> DatasetSplit {
        let groups = windowsBySegment(ds)
        var order = groups.indices.filter { !groups[$0].isEmpty }
        guard order.count >= 3 else {
            throw VraplError("segment split needs at least 3 labelled segments with windows (found \(order.count)); use --split shuffle or time")
        }
        var rng = SplitMix64(seed: o.seed)
        rng.shuffle(&order)
        if o.stratifyByDesign { order = stratifiedByDesign(order, strata: ds.segments.map(\.designStratum), rng: &rng) }
        // Keep at least one segment for training: never give away the last one.
        let split = assignSegments(order: Array(order.dropLast()), groups: groups, total: ds.windowCount,
                                   testFraction: o.testFraction, validationFraction: o.validationFraction,
                                   names: ds.segments.map(\.name))
        var train = split.train
        if let last = order.last { train = (train + groups[last]).sorted() }
        return DatasetSplit(train: train, validation: split.validation, test: split.test, heldOut: split.heldOut)
    }

    static func family(_ ds: WindowDataset, _ o: SplitOptions) throws -> DatasetSplit {
        let groups = windowsBySegment(ds)
        let families = Array(Set(ds.segments.indices.filter { !groups[$0].isEmpty }.map { ds.segments[$0].family })).sorted()
        guard families.count >= 2 else {
            throw VraplError("family split needs at least 2 workload families (found \(families.joined(separator: ", ")))")
        }
        var rng = SplitMix64(seed: o.seed)
        let held: String
        if let h = o.holdoutFamily {
            guard families.contains(h) else {
                throw VraplError("family '\(h)' is not in the data (families: \(families.joined(separator: ", ")))")
            }
            held = h
        } else {
            held = families[rng.nextIndex(below: families.count)]
        }
        var test: [Int32] = []
        var rest: [Int] = []
        for s in groups.indices where !groups[s].isEmpty {
            if ds.segments[s].family == held { test += groups[s] } else { rest.append(s) }
        }
        guard rest.count >= 2 else {
            throw VraplError("family split: fewer than 2 segments remain outside family '\(held)' for training and validation")
        }
        rng.shuffle(&rest)
        let remaining = ds.windowCount - test.count
        let valTarget = Double(remaining) * o.validationFraction / max(1e-9, 1 - o.testFraction)
        var val: [Int32] = [], train: [Int32] = []
        var names = ["test:family=" + held]
        for (i, s) in rest.enumerated() {
            // the last remaining segment always trains
            if i < rest.count - 1, Double(val.count) < valTarget {
                val += groups[s]; names.append("validation:" + ds.segments[s].name)
            } else { train += groups[s] }
        }
        return DatasetSplit(train: train.sorted(), validation: val.sorted(), test: test.sorted(), heldOut: names)
    }

    static func time(_ ds: WindowDataset, _ o: SplitOptions) -> DatasetSplit {
        var byTrace = Array(repeating: [Int32](), count: ds.traces.count)
        for i in 0..<ds.windowCount {
            byTrace[ds.segments[Int(ds.windowSegments[i])].trace].append(Int32(i))
        }
        let span = ds.embedding.span
        var train: [Int32] = [], val: [Int32] = [], test: [Int32] = []
        for var ids in byTrace where !ids.isEmpty {
            ids.sort { ds.windowEnds[Int($0)] < ds.windowEnds[Int($1)] }
            let n = ids.count
            let nTest = Int((Double(n) * o.testFraction).rounded(.down))
            let nVal = Int((Double(n) * o.validationFraction).rounded(.down))
            let nTrain = n - nVal - nTest
            let tr = Array(ids[0..<nTrain])
            // Purge: a window whose oldest sample is not after the previous part's last target.
            var boundary = tr.last.map { Int(ds.windowEnds[Int($0)]) } ?? Int.min
            var va: [Int32] = []
            for w in ids[nTrain..<(nTrain + nVal)] where Int(ds.windowEnds[Int(w)]) - span > boundary { va.append(w) }
            if nVal > 0 { boundary = Int(ds.windowEnds[Int(ids[nTrain + nVal - 1])]) }
            var te: [Int32] = []
            for w in ids[(nTrain + nVal)...] where Int(ds.windowEnds[Int(w)]) - span > boundary { te.append(w) }
            train += tr; val += va; test += te
        }
        return DatasetSplit(train: train.sorted(), validation: val.sorted(), test: test.sorted(), heldOut: ["last \(Int(o.testFraction * 100))% of each trace"])
    }
}

extension DatasetSegment {
    /// The cell of the campaign's design a segment belongs to: its workload family and, for guest
    /// views, its guest size and neighbour load (`family|vcpus|neighbour_load`).
    public var designStratum: String {
        [family, parameters["vcpus"] ?? "", parameters["neighbour_load"] ?? ""].joined(separator: "|")
    }
}
