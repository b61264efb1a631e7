import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplDataset

@Suite struct LoaderTests {

    @Test func tracesAndCSVThroughTheStore() throws {
        let dir = try Scratch.directory()
        let trace = TestTraces.ramp(300, segments: [TraceSegment(name: "cpu-1", firstSample: 0, lastSample: 149),
                                                    TraceSegment(name: "io-1", firstSample: 150, lastSample: 299)])
        try TraceWriter.write(trace, to: dir.appendingPathComponent("a.h5").path)
        let csv = "timestamp_unix,user_percent,system_percent,iowait_percent,ctx_switches_per_sec,package_power_watts\n" +
            (0..<200).map { "\(1_700_000_000 + Double($0) * 0.016),\($0 % 50),5,0,1000,\(20 + $0 % 7)" }.joined(separator: "\n")
        try csv.write(to: dir.appendingPathComponent("b.csv"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)

        let files = try DatasetLoader.expand([dir.path])
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent } == ["a.h5", "b.csv"])
        #expect(try DatasetLoader.expand([dir.path + "/*.h5"]).count == 1)
        #expect(throws: VraplError.self) { try DatasetLoader.expand([dir.path + "/missing.h5"]) }

        let options = WindowOptions(embedding: DelayEmbedding(d: 25, tau: 1), skipSamples: 100)
        let (ds, prov) = try DatasetLoader.load(paths: files, featureSet: .decodeRapl4, options: options)
        // a.h5: segments 0…149 → ends 100…149 (50), 150…299 → ends 250…299 (50); b.csv: ends 100…199 (100).
        #expect(prov.map(\.windows) == [100, 100])
        #expect(ds.windowCount == 200)
        #expect(prov[0].sha256.count == 64)
        #expect(prov[0].powerSource == .simulated(profile: "test"))
        #expect(ds.segments.map(\.name) == ["cpu-1", "io-1", "b.csv"])
        // The trace read back gives the same features as the in-memory one.
        let (x, y) = ds.gather(windows: [0])
        #expect(abs(x[0] - TestTraces.rampFeature(0, 100)) < 1e-4)
        #expect(abs(y[0] - 1) < 1e-4)
        // CSV rows: target is the row's power.
        let (_, yc) = ds.gather(windows: [100])
        #expect(yc[0] == Float(20 + 100 % 7))
    }
}
