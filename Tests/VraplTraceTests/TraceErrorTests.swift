import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

@Suite("Trace reader errors")
struct TraceErrorTests {
    @Test("missing file")
    func missing() throws {
        let error = #expect(throws: TraceError.self) { try TraceReader.read("/nonexistent/dir/trace.h5") }
        #expect(error?.description == "/nonexistent/dir/trace.h5: no such file")
    }

    @Test("not an HDF5 file")
    func notHDF5() throws {
        let path = try Scratch.file("text.h5")
        try "timestamp_unix,user_percent\n1,2\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(error?.path == path)
        #expect(error?.message.contains("not an HDF5 file") == true)
    }

    /// Writes a valid trace, then edits one root attribute with h5py.
    static func traceWithAttribute(_ name: String, _ pythonValue: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("edited.h5").path
        try TraceWriter.write(TraceTestSupport.sampleTrace(samples: 3), to: path)
        let script = "import sys, h5py\nf = h5py.File(sys.argv[1], 'a')\nf.attrs['\(name)'] = \(pythonValue)\nf.close()"
        let (status, output) = try ChildProcess.python3(script, [path])
        try #require(status == 0, "\(output)")
        return path
    }

    @Test("wrong format attribute")
    func wrongFormat() throws {
        let dir = try Scratch.directory()
        let path = try Self.traceWithAttribute("format", "'something-else'", in: dir)
        let error = #expect(throws: TraceError.self) { try TraceReader.readMetadata(path) }
        #expect(error?.object == "/@format")
        #expect(error?.message.contains("not a vrapl trace") == true)
        #expect(error?.message.contains("something-else") == true)
    }

    @Test("an HDF5 file that is not a trace")
    func foreignHDF5() throws {
        let path = try Scratch.file("other.h5")
        let (status, output) = try ChildProcess.python3("import sys, h5py\nh5py.File(sys.argv[1], 'w')['x'] = [1, 2]", [path])
        try #require(status == 0, "\(output)")
        let error = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(error?.message.contains("no `format` attribute") == true)
    }

    @Test("newer format_version is refused, older accepted")
    func versions() throws {
        let dir = try Scratch.directory()
        let newer = try Self.traceWithAttribute("format_version", "\(TraceMetadata.currentFormatVersion + 1)", in: dir)
        let error = #expect(throws: TraceError.self) { try TraceReader.read(newer) }
        #expect(error?.message.contains("newer vrapl") == true)
        #expect(error?.message.contains("format_version \(TraceMetadata.currentFormatVersion + 1)") == true)

        // An older-style file: version 1 written as a 32-bit integer, no labels, no tool version.
        let older = try Self.traceWithAttribute("format_version", "__import__('numpy').int32(1)", in: dir)
        let script = "import sys, h5py\nf = h5py.File(sys.argv[1], 'a')\ndel f.attrs['labels']\ndel f.attrs['tool_version']\nf.close()"
        _ = try ChildProcess.python3(script, [older])
        let data = try TraceReader.read(older)
        #expect(data.metadata.formatVersion == 1)
        #expect(data.metadata.labels.isEmpty)
        #expect(data.sampleCount == 3)
    }

    @Test("unknown power source is an error naming the attribute")
    func badPowerSource() throws {
        let dir = try Scratch.directory()
        let path = try Self.traceWithAttribute("power_source", "'wattmeter'", in: dir)
        let error = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(error?.object == "/@power_source")
    }

    @Test("creating a trace in a missing directory names the file")
    func createFails() throws {
        let error = #expect(throws: TraceError.self) {
            try TraceWriter.write(TraceTestSupport.sampleTrace(samples: 2), to: "/nonexistent/dir/out.h5")
        }
        #expect(error?.path == "/nonexistent/dir/out.h5")
        #expect(error?.message.contains("creating the HDF5 file failed") == true)
    }
}

@Suite("Trace reader robustness")
struct TraceRobustnessTests {
    @Test("per-sample datasets of unequal length (a crash mid-flush) read to the shortest")
    func unequalLengths() throws {
        let path = try Scratch.file("ragged.h5")
        let data = TraceTestSupport.sampleTrace(samples: 10)
        try TraceWriter.write(data, to: path)
        let script = "import sys, h5py\nf = h5py.File(sys.argv[1], 'a')\nd = f['rapl/intel-rapl_1/energy_uj']\nd.resize((7,))\nf.close()"
        let (status, output) = try ChildProcess.python3(script, [path])
        try #require(status == 0, "\(output)")
        let back = try TraceReader.read(path)
        #expect(back.sampleCount == 7)
        #expect(back.cpuFields.allSatisfy { $0.count == 7 } && back.rapl.allSatisfy { $0.energyUj.count == 7 })
        #expect(back.monotonicNs == Array(data.monotonicNs.prefix(7)))
        #expect(try TraceReader.readHeader(path).sampleCount == 7)
    }

    /// The probe's ragged trace: 101 of 6,001 samples in one dataset used to be silently cut to 101.
    @Test("datasets that differ by more than one flush are refused as damage, naming both")
    func raggedBeyondAFlush() throws {
        let path = try Scratch.file("ragged.h5")
        try TraceWriter.write(TraceTestSupport.sampleTrace(samples: 6001), to: path)
        let script = "import sys, h5py\nf = h5py.File(sys.argv[1], 'a')\nf['cpu_user'].resize((101,))\nf.close()"
        let (status, output) = try ChildProcess.python3(script, [path])
        try #require(status == 0, "\(output)")
        let error = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(error?.object == "/cpu_user")
        #expect(error?.message.contains("has 101 samples but") == true && error?.message.contains("6001") == true, "\(error?.description ?? "")")
    }

    @Test("a segment table whose columns differ in length, or a segment outside the trace, is an error")
    func brokenSegments() throws {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("segments.h5").path
        var data = TraceTestSupport.sampleTrace(samples: 200)
        data.segments = (0..<15).map { TraceSegment(name: "s\($0)", firstSample: $0 * 10, lastSample: $0 * 10 + 9) }
        try TraceWriter.write(data, to: path)
        #expect(try TraceReader.read(path).segments.count == 15)
        let short = "import sys, h5py\nf = h5py.File(sys.argv[1], 'a')\nf['segments/last_sample'].resize((5,))\nf.close()"
        try #require(try ChildProcess.python3(short, [path]).0 == 0)
        let error = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(error?.message.contains("15 names, 15 first_sample, 5 last_sample") == true, "\(error?.description ?? "")")

        data.segments = [TraceSegment(name: "late", firstSample: 10, lastSample: 90_000)]
        let latePath = dir.appendingPathComponent("late.h5").path  // a new file: nothing of the first one is reused
        try TraceWriter.write(data, to: latePath)
        let outside = #expect(throws: TraceError.self) { try TraceReader.read(latePath) }
        #expect(outside?.message.contains("segment 0 'late' spans samples 10…90000, outside the trace's 0…199") == true, "\(outside?.description ?? "")")
    }

    /// The probe's counters: a step back read as a wrap (16 MW) and an out-of-range value (10^15 W).
    @Test("implausible RAPL readings become NaN, are counted and shown, never a megawatt", arguments: [
        ("step back", UInt64(100)), ("far above the range", UInt64(1) << 62),
    ])
    func implausiblePower(_ label: String, _ bad: UInt64) throws {
        var data = TraceTestSupport.sampleTrace(samples: 50, withHidden: false)
        let zone = data.rapl.firstIndex { $0.name == "package-0" }!
        let before = data.rapl[zone].energyUj[20]
        data.rapl[zone].energyUj[21] = bad == 100 ? before - 100 : bad
        let derived = DerivedSeries(data)
        #expect(derived.implausiblePowerIntervals == (bad == 100 ? [20] : [20, 21]), "\(label)")
        #expect(derived.zones[zone].watts[20].isNaN)
        #expect(derived.packageWatts?.filter { !$0.isNaN }.allSatisfy { $0 < 100 } == true)
        let summary = TraceSummary(trace: data, path: "t.h5").render()
        #expect(summary.contains("WARNING: \(derived.implausiblePowerIntervals.count) intervals with an implausible RAPL reading"), "\(summary)")
        #expect(!summary.contains("nan"), "\(summary)")
    }

    @Test("overlapping segments and monotonic time running backwards are errors")
    func overlapAndBackwardsTime() throws {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("t.h5").path
        var data = TraceTestSupport.sampleTrace(samples: 100)
        data.segments = [TraceSegment(name: "a", firstSample: 0, lastSample: 60), TraceSegment(name: "b", firstSample: 50, lastSample: 99)]
        try TraceWriter.write(data, to: path)
        let overlap = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(overlap?.message == "segments 'a' (0…60) and 'b' (50…99) overlap", "\(overlap?.description ?? "")")
        data = TraceTestSupport.sampleTrace(samples: 100)
        data.monotonicNs[40] = data.monotonicNs[39] - 1
        let backwardsPath = dir.appendingPathComponent("backwards.h5").path
        try TraceWriter.write(data, to: backwardsPath)
        let backwards = #expect(throws: TraceError.self) { try TraceReader.read(backwardsPath) }
        #expect(backwards?.object == "/timestamp_monotonic_ns" && backwards?.message.hasPrefix("runs backwards at sample 40") == true,
                "\(backwards?.description ?? "")")
    }
}
