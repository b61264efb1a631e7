import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

@Suite("Trace writer/reader round trip")
struct TraceRoundTripTests {
    @Test("whole-trace write then read returns every field", arguments: [0, 1, 7, 5000])
    func wholeTraceRoundTrip(samples: Int) throws {
        let path = try Scratch.file("t.h5")
        let data = TraceTestSupport.sampleTrace(samples: samples)
        try TraceWriter.write(data, to: path)
        let back = try TraceReader.read(path)
        #expect(back.sampleCount == samples)
        #expect(back.metadata == data.metadata)
        #expect(back.rapl.map(\.key) == ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:1", "intel-rapl:0:1"])
        #expect(back.vmstat.map(\.name) == VmstatDefaults.counters)
        #expect(back.sameContent(as: data))
    }

    @Test("a trace without hidden power has no sim_hidden_w")
    func noHidden() throws {
        let path = try Scratch.file("t.h5")
        let data = TraceTestSupport.sampleTrace(samples: 10, withHidden: false)
        try TraceWriter.write(data, to: path)
        let back = try TraceReader.read(path)
        #expect(back.simHiddenWatts == nil)
        #expect(back.sameContent(as: data))
        let header = try TraceReader.readHeader(path)
        #expect(header.sampleCount == 10)
        #expect(!header.hasSimHiddenWatts)
        #expect(header.segments == data.segments)
    }

    @Test("streaming writer with small buffers writes the same trace as the whole-trace writer")
    func streamingMatchesWhole() throws {
        let path = try Scratch.file("s.h5")
        let data = TraceTestSupport.sampleTrace(samples: 1000)
        let writer = try TraceWriter(path: path, metadata: data.metadata, vmstatNames: data.vmstat.map(\.name),
                                     raplZones: data.rapl, recordsSimHiddenWatts: true,
                                     options: .init(flushIntervalNs: 100_000_000, chunkRows: 64, bufferRows: 37))
        var vm = [UInt64](repeating: 0, count: data.vmstat.count)
        var energy = [UInt64](repeating: 0, count: data.rapl.count)
        for i in 0..<data.sampleCount {
            var stat = ProcStatSnapshot()
            var fields = stat.cpu.fields
            for f in 0..<10 { fields[f] = data.cpuFields[f][i] }
            stat.cpu.fields = fields
            stat.contextSwitches = data.contextSwitches[i]; stat.interrupts = data.interrupts[i]
            stat.processesCreated = data.processesCreated[i]; stat.procsRunning = data.procsRunning[i]
            stat.procsBlocked = data.procsBlocked[i]
            for v in 0..<vm.count { vm[v] = data.vmstat[v].values[i] }
            for z in 0..<energy.count { energy[z] = data.rapl[z].energyUj[i] }
            try writer.append(monotonicNs: data.monotonicNs[i], wallClockNs: data.wallClockNs[i], stat: stat,
                              vmstat: vm, energyUj: energy, simHiddenWatts: data.simHiddenWatts?[i])
            if i == 499 { writer.addSegment(data.segments[0]) }
        }
        writer.addSegment(data.segments[1])
        #expect(writer.flushCount > 20)  // 16 s of samples at 0.1 s flushes, 37-row buffers
        try writer.close()
        let back = try TraceReader.read(path)
        #expect(back.sameContent(as: data))
    }

    @Test("append with the wrong number of values throws and names the group")
    func appendValidation() throws {
        let path = try Scratch.file("v.h5")
        let writer = try TraceWriter(path: path, metadata: TraceMetadata(), vmstatNames: ["pgfault"],
                                     raplZones: [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 100)])
        #expect(throws: TraceError.self) {
            try writer.append(monotonicNs: 1, wallClockNs: 1, stat: ProcStatSnapshot(), vmstat: [], energyUj: [1])
        }
        #expect(throws: TraceError.self) {
            try writer.append(monotonicNs: 1, wallClockNs: 1, stat: ProcStatSnapshot(), vmstat: [1], energyUj: [1], simHiddenWatts: 3)
        }
        try writer.append(monotonicNs: 1, wallClockNs: 1, stat: ProcStatSnapshot(), vmstat: [1], energyUj: [1])
        try writer.close()
        #expect(try TraceReader.read(path).sampleCount == 1)
    }

    @Test("whole-trace write rejects columns of different lengths")
    func ragged() throws {
        let dir = try Scratch.directory()
        var data = TraceTestSupport.sampleTrace(samples: 5)
        data.rapl[1].energyUj.removeLast()
        let error = #expect(throws: TraceError.self) {
            try TraceWriter.write(data, to: dir.appendingPathComponent("r.h5").path)
        }
        #expect(error?.object == "/rapl/intel-rapl_0_0/energy_uj")
    }
}

@Suite("Trace compression")
struct TraceCompressionTests {
    @Test("deflate-compressed traces read back identically, in Swift and in h5py, and are smaller")
    func compressed() throws {
        let dir = try Scratch.directory()
        let plain = dir.appendingPathComponent("plain.h5").path
        let packed = dir.appendingPathComponent("packed.h5").path
        let data = SyntheticTrace.make(samples: 20_000)
        try TraceWriter.write(data, to: plain)
        try TraceWriter.write(data, to: packed, deflateLevel: 1)
        #expect(try TraceReader.read(packed).sameContent(as: data))
        let size = { (p: String) in (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? NSNumber)?.intValue ?? 0 }
        #expect(size(packed) * 3 < size(plain), "compressed \(size(packed)) vs plain \(size(plain)) bytes")
        let script = "import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r')\nd = f['cpu_user']\nprint(d.compression, int(d[:].sum()), len(f['rapl/intel-rapl_1/energy_uj']))"
        let (status, output) = try ChildProcess.python3(script, [packed])
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "gzip \(data.cpuFields[0].reduce(0, +)) 20000")
    }
}
