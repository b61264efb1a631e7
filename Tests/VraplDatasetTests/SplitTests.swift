import Foundation
import Testing
import VraplCore
import VraplTrace
@testable import VraplDataset

@Suite struct SplitTests {
    /// 6 segments of 20 samples (families cpu ×2, io ×2, vm ×2); d 2, tau 1, skip 0, in-segment windows:
    /// 19 windows per segment (the first sample of each has no full window), 114 in all.
    func labelled() throws -> WindowDataset {
        let names = ["cpu-a", "cpu-b", "io-a", "io-b", "vm-a", "vm-b"]
        let segs = names.enumerated().map { TraceSegment(name: $1, firstSample: $0 * 20, lastSample: $0 * 20 + 19) }
        return try build([(codedSeries(120, firstValid: 0), segs)], d: 2, tau: 1, skip: 0)
    }

    func checkPartition(_ s: DatasetSplit, total: Int) {
        let all = s.train + s.validation + s.test
        #expect(Set(all).count == all.count)
        #expect(all.count == total)
    }

    @Test func shuffleIs801010AndSeeded() throws {
        let ds = try build([(codedSeries(1002), [])], d: 2, tau: 1, skip: 0)     // 1000 windows
        let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .shuffle, seed: 42))
        #expect(s.train.count == 800 && s.validation.count == 100 && s.test.count == 100)
        checkPartition(s, total: 1000)
        #expect(try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .shuffle, seed: 42)) == s)
        #expect(try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .shuffle, seed: 7)) != s)
        #expect(s.train != s.train.sorted())          // actually shuffled
    }

    @Test func generatorIsStable() {
        // SplitMix64 reference values for seed 0 (Vigna's splitmix64.c).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
    }

    @Test func segmentHoldsOutWholeSegments() throws {
        let ds = try labelled()
        let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment, seed: 3))
        checkPartition(s, total: 114)
        func segmentsOf(_ ids: [Int32]) -> Set<Int32> { Set(ids.map { ds.windowSegments[Int($0)] }) }
        #expect(segmentsOf(s.test).isDisjoint(with: segmentsOf(s.train)))
        #expect(segmentsOf(s.validation).isDisjoint(with: segmentsOf(s.train)))
        #expect(segmentsOf(s.test).isDisjoint(with: segmentsOf(s.validation)))
        // 10 % of 114 = 11.4 windows → one segment (19 windows) each.
        #expect(s.test.count == 19 && s.validation.count == 19)
        #expect(try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment, seed: 3)) == s)
    }

    /// 60 segments of 10 samples: 30 cpu, 20 io, 10 vm. With 20 % each to test and validation the
    /// held-out sets hold the families in proportion (6 : 4 : 2 segments, ± 1) whatever the seed, so
    /// an interval calibrated on validation meets the same mix in test.
    @Test func segmentSplitIsStratifiedByFamily() throws {
        let families = Array(repeating: "cpu", count: 30) + Array(repeating: "io", count: 20) + Array(repeating: "vm", count: 10)
        let segs = families.enumerated().map { TraceSegment(name: "\($1)-\($0)", firstSample: $0 * 10, lastSample: $0 * 10 + 9,
                                                            parameters: ["family": $1]) }
        let ds = try build([(codedSeries(600, firstValid: 0), segs)], d: 2, tau: 1, skip: 0)   // 9 windows per segment
        for seed in UInt64(1)...20 {
            let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment, seed: seed, validationFraction: 0.2, testFraction: 0.2,
                                                                                          stratifyByDesign: true))
            checkPartition(s, total: 540)
            #expect(ds.segments[0].designStratum == "cpu||")
            for part in [s.test, s.validation] {
                var perFamily: [String: Int] = [:]
                for seg in Set(part.map { ds.windowSegments[Int($0)] }) { perFamily[ds.segments[Int(seg)].family, default: 0] += 1 }
                let n = perFamily.values.reduce(0, +)
                for (family, total) in [("cpu", 30), ("io", 20), ("vm", 10)] {
                    let expected = Double(total) * Double(n) / 60
                    #expect(abs(Double(perFamily[family] ?? 0) - expected) <= 1.01, "seed \(seed): \(perFamily) of \(n)")
                }
            }
        }
    }

    /// Guest views: one family, 30 segments of 2-vCPU guests and 10 of 8-vCPU guests; the design
    /// strata (family × vcpus × neighbour_load) keep the guest sizes in proportion too (3 : 1 of 10).
    @Test func designStrataIncludeGuestSize() throws {
        let sizes = Array(repeating: "2", count: 30) + Array(repeating: "8", count: 10)
        let segs = sizes.enumerated().map { TraceSegment(name: "cpu-k\($1)-\($0)", firstSample: $0 * 10, lastSample: $0 * 10 + 9,
                                                         parameters: ["family": "cpu", "vcpus": $1, "neighbour_load": "0"]) }
        let ds = try build([(codedSeries(400, firstValid: 0), segs)], d: 2, tau: 1, skip: 0)
        #expect(ds.segments[0].designStratum == "cpu|2|0")
        for seed in UInt64(1)...20 {
            let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment, seed: seed, validationFraction: 0.25, testFraction: 0.25,
                                                                              stratifyByDesign: true))
            for part in [s.test, s.validation] {
                let held = Set(part.map { ds.windowSegments[Int($0)] })
                let large = held.filter { ds.segments[Int($0)].parameters["vcpus"] == "8" }.count
                #expect(abs(Double(large) - Double(held.count) / 4) <= 1.01, "seed \(seed): \(large) of \(held.count)")
            }
        }
    }

    @Test func familyLeavesOneFamilyOut() throws {
        let ds = try labelled()
        let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .family, seed: 1, holdoutFamily: "io"))
        checkPartition(s, total: 114)
        #expect(Set(s.test.map { ds.segments[Int(ds.windowSegments[Int($0)])].family }) == ["io"])
        #expect(s.test.count == 38)
        #expect(!(s.train + s.validation).contains { ds.segments[Int(ds.windowSegments[Int($0)])].family == "io" })
        #expect(s.validation.count == 19)     // one whole segment of the 4 remaining
        #expect(throws: VraplError.self) {
            try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .family, holdoutFamily: "gpu"))
        }
        let picked = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .family, seed: 5))
        #expect(picked.test.count == 38)
    }

    @Test func timeTakesTheEndOfEachTraceAndPurgesOverlap() throws {
        // Two traces of 102 samples, d 3 tau 1 (span 2), skip 0, firstValid 0: ends 2…101 → 100 windows each.
        let ds = try build([(codedSeries(102, firstValid: 0), []), (codedSeries(102, trace: 1, firstValid: 0), [])], d: 3, tau: 1, skip: 0)
        let s = try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .time))
        let ends = { (ids: [Int32]) in ids.map { Int(ds.windowEnds[Int($0)]) } }
        // trace 0: train ends 2…81; validation 82…91 minus those reaching back to ≤ 81 (82, 83) → 84…91;
        // test 92…101 minus 92, 93 → 94…101. Trace 1 the same, shifted by 102.
        #expect(ends(s.train) == Array(2...81) + Array(104...183))
        #expect(ends(s.validation) == Array(84...91) + Array(186...193))
        #expect(ends(s.test) == Array(94...101) + Array(196...203))
    }

    @Test func tooFewSegmentsIsAClearError() throws {
        let ds = try build([(codedSeries(50), [])], d: 2, tau: 1, skip: 0)
        #expect(throws: VraplError.self) { try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .segment)) }
        #expect(throws: VraplError.self) { try DatasetSplit.make(dataset: ds, options: SplitOptions(kind: .family)) }
    }
}
