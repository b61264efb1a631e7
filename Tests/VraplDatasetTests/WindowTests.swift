import Foundation
import Testing
import VraplCore
import VraplTrace
@testable import VraplDataset

/// A synthetic series whose feature f at sample t is 1000·f + t (+ 100 000·trace), so every gathered
/// value says where it came from.
func codedSeries(_ n: Int, features: Int = 2, trace: Int = 0, firstValid: Int = 1) -> FeatureSeries {
    var v = [Float](repeating: 0, count: n * features)
    for f in 0..<features { for t in 0..<n { v[f * n + t] = Float(100_000 * trace + 1000 * f + t) } }
    return FeatureSeries(featureNames: (0..<features).map { "f\($0)" }, count: n, values: v, firstValid: firstValid,
                         timestampsUnix: (0..<n).map(Double.init))
}

func build(_ parts: [(FeatureSeries, [TraceSegment])], d: Int, tau: Int, skip: Int, cross: Bool = false) throws -> WindowDataset {
    var b = WindowDatasetBuilder(featureNames: parts[0].0.featureNames,
                                 options: WindowOptions(embedding: DelayEmbedding(d: d, tau: tau), skipSamples: skip, crossSegments: cross))
    for (i, (s, segs)) in parts.enumerated() {
        let targets = (0..<s.count).map { Float(i * 1000 + $0) }
        try b.add(series: s, targets: targets, segments: segs, name: "trace\(i)", powerSource: .simulated(profile: "t"))
    }
    return b.build()
}

@Suite struct WindowTests {
    @Test func windowEndsWithoutSegments() throws {
        // n 20, d 3, tau 2 (span 4), skip 2, features from sample 1: first end = max(0+2, 1+4) = 5.
        let ds = try build([(codedSeries(20), [])], d: 3, tau: 2, skip: 2)
        #expect(ds.windowEnds == (5...19).map { Int32($0) })
        #expect(ds.inputSize == 6)
        // skip larger than the span decides.
        let ds2 = try build([(codedSeries(20), [])], d: 3, tau: 2, skip: 9)
        #expect(ds2.windowEnds.first == 9)
    }

    @Test func gatherIsFeatureMajorNewestFirst() throws {
        let ds = try build([(codedSeries(20), [])], d: 3, tau: 2, skip: 0)
        let (x, y) = ds.gather(windows: [0, 3])      // ends 5 and 8
        #expect(Array(x[0..<6]) == [5, 3, 1, 1005, 1003, 1001])
        #expect(Array(x[6..<12]) == [8, 6, 4, 1008, 1006, 1004])
        #expect(y == [5, 8])
    }

    @Test func segmentBoundariesAndSkip() throws {
        let segs = [TraceSegment(name: "cpu-1", firstSample: 0, lastSample: 9),
                    TraceSegment(name: "io-1", firstSample: 10, lastSample: 19)]
        // skip 1, span 4: seg 0 → max(1, 1+4, 0+4) = 5…9; seg 1 → max(11, 5, 14) = 14…19.
        let inside = try build([(codedSeries(20), segs)], d: 3, tau: 2, skip: 1)
        #expect(inside.windowEnds == ([5, 6, 7, 8, 9] + [14, 15, 16, 17, 18, 19]).map { Int32($0) })
        #expect(inside.windowSegments == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(inside.segments[1].family == "io")
        // Crossing allowed: seg 1 starts at its skip, 11.
        let crossing = try build([(codedSeries(20), segs)], d: 3, tau: 2, skip: 1, cross: true)
        #expect(crossing.windowEnds.filter { $0 >= 10 } == (11...19).map { Int32($0) })
        // Samples outside every segment are never targets.
        let partial = try build([(codedSeries(20), [TraceSegment(name: "a", firstSample: 6, lastSample: 12)])], d: 2, tau: 1, skip: 0)
        #expect(partial.windowEnds == (7...12).map { Int32($0) })
    }

    @Test func windowsNeverCrossTraces() throws {
        let ds = try build([(codedSeries(10, trace: 0), []), (codedSeries(10, trace: 1), [])], d: 3, tau: 1, skip: 0)
        // trace 0: ends 3…9; trace 1 (global offset 10): ends 13…19.
        #expect(ds.windowEnds == ((3...9).map { Int32($0) } + (13...19).map { Int32($0) }))
        let (x, _) = ds.gather(windows: [7])          // global end 13 = trace 1, sample 3
        #expect(Array(x[0..<3]) == [100_003, 100_002, 100_001])
        #expect(ds.location(ofWindow: 7) == (trace: 1, position: 3))
        #expect(ds.traces[1].globalStart == 10)
    }

    @Test func nonFiniteTargetsAreSkipped() throws {
        var b = WindowDatasetBuilder(featureNames: ["f0", "f1"], options: WindowOptions(embedding: DelayEmbedding(d: 2, tau: 1), skipSamples: 0))
        var targets = [Float](repeating: 1, count: 10)
        targets[5] = .nan
        try b.add(series: codedSeries(10), targets: targets, segments: [], name: "t", powerSource: .rapl)
        #expect(b.build().windowEnds == [2, 3, 4, 6, 7, 8, 9])
    }

    @Test func fromTraceEndToEnd() throws {
        var b = WindowDatasetBuilder(featureNames: FeatureSet.decodeRapl4.featureNames,
                                     options: WindowOptions(embedding: DelayEmbedding(d: 25, tau: 1), skipSamples: 100))
        try b.add(trace: TestTraces.ramp(300), featureSet: .decodeRapl4, name: "ramp")
        let ds = b.build()
        #expect(ds.windowCount == 200)                 // ends 100…299
        let (x, y) = ds.gather(windows: [0])
        #expect(abs(y[0] - Float(100 % 5 + 1)) < 1e-4)  // ramp power at t = 100 is 1 W
        for f in 0..<4 { for k in 0..<25 {
            let expected = TestTraces.rampFeature(f, 100 - k)
            #expect(abs(x[f * 25 + k] - expected) <= 1e-4 * max(1, abs(expected)))
        } }
        #expect(ds.powerSources == [.simulated(profile: "test")])
    }

    @Test func scalerPerPositionOnTrainingWindowsOnly() throws {
        let ds = try build([(codedSeries(20), [])], d: 3, tau: 2, skip: 0)
        // training windows: ends 6 and 10 (ids 1 and 5).
        let s = MinMaxScaler.fit(dataset: ds, windows: [5, 1])
        // position f·3+k sees f·1000 + end − 2k for ends {6, 10}: min = f·1000 + 6 − 2k, range 4.
        #expect(s.featureMin == [6, 4, 2, 1006, 1004, 1002])
        #expect(s.featureRange == [4, 4, 4, 4, 4, 4])
        let (x, _) = ds.gather(windows: [5], scaler: s)
        #expect(x == [1, 1, 1, 1, 1, 1])
        // one window: zero range → 1 (guard), so x' = x − min.
        let one = MinMaxScaler.fit(dataset: ds, windows: [1])
        #expect(one.featureRange == [1, 1, 1, 1, 1, 1])
        let json = try s.metadataJSON()
        #expect(json.contains("\"type\":\"minmax\""))
        #expect(try MinMaxScaler(metadataJSON: json) == s)
        #expect(throws: VraplError.self) { try MinMaxScaler(metadataJSON: #"{"type":"zscore","feature_min":[],"feature_range":[]}"#) }
    }

    @Test func limitedKeepsOrderAndIsSeeded() throws {
        let ds = try build([(codedSeries(200), [])], d: 2, tau: 1, skip: 0)
        let a = ds.limited(toWindows: 50, seed: 1), b = ds.limited(toWindows: 50, seed: 1)
        #expect(a.windowCount == 50)
        #expect(a.windowEnds == b.windowEnds)
        #expect(a.windowEnds == a.windowEnds.sorted())
        #expect(ds.limited(toWindows: 50, seed: 2).windowEnds != a.windowEnds)
    }
}
