import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

@Suite("Per-CPU lines in traces (/percpu)")
struct PerCPUTraceTests {
    @Test("the streaming writer records samples × CPUs; a CPU whose line vanishes holds its last values, across flushes; h5py reads it 2-D")
    func streaming() throws {
        let path = try Scratch.file("p.h5")
        var meta = TraceMetadata()
        meta.topology = CPUTopology(logicalCPUs: 3, online: [0, 1, 2])
        let writer = try TraceWriter(path: path, metadata: meta, vmstatNames: [], raplZones: [], perCPUIDs: [0, 1, 2],
                                     options: .init(flushIntervalNs: 50_000_000, chunkRows: 16, reserveBytes: 0))
        var stat = ProcStatSnapshot()
        for s in 0..<40 {
            stat.perCPU = (0..<(s >= 20 && s < 30 ? 2 : 3)).map { c in  // CPU 2 is offline for samples 20…29
                var t = CPUTimes()
                t.user = UInt64(s * 10 + c)
                t.idle = UInt64(s * 100)
                return t
            }
            try writer.append(monotonicNs: UInt64(s + 1) * 16_000_000, wallClockNs: 0, stat: stat, vmstat: [], energyUj: [])
        }
        try writer.close()
        #expect(writer.flushCount > 2)
        let back = try TraceReader.read(path)
        let per = try #require(back.perCPU)
        #expect(per.cpuIDs == [0, 1, 2] && per.sampleCount == 40)
        #expect(per.value(field: 0, sample: 15, column: 1) == 151)
        #expect(per.value(field: 0, sample: 25, column: 2) == 192)  // held from sample 19
        #expect(per.value(field: 0, sample: 35, column: 2) == 352)
        #expect(back.metadata.topology?.logicalCPUs == 3)
        let (status, out) = try ChildProcess.python3("""
        import h5py, json, sys
        f = h5py.File(sys.argv[1], "r")
        u = f["percpu/cpu_user"]
        assert u.shape == (40, 3), u.shape
        assert json.loads(f["percpu"].attrs["cpus"]) == [0, 1, 2]
        assert u[25, 2] == 192 and u[39, 0] == 390
        assert json.loads(f.attrs["topology"])["logical_cpus"] == 3
        print("ok")
        """, [path])
        #expect(status == 0, "\(out)")
    }

    @Test("a 1-D dataset where a 2-D one belongs, or a column count that disagrees with @cpus, is refused naming it")
    func damaged() throws {
        let dir = try Scratch.directory()
        var t = TraceTestSupport.sampleTrace(samples: 10, withHidden: false)
        t.perCPU = PerCPUSeries(cpuIDs: [0, 1], fields: Array(repeating: Array(repeating: 1, count: 20), count: 10))
        let path = dir.appendingPathComponent("d.h5").path
        try TraceWriter.write(t, to: path)
        let (status, out) = try ChildProcess.python3("""
        import h5py, sys, json
        f = h5py.File(sys.argv[1], "r+")
        f["percpu"].attrs["cpus"] = json.dumps([0, 1, 2])
        """, [path])
        #expect(status == 0, "\(out)")
        do {
            _ = try TraceReader.read(path)
            Issue.record("accepted a column count that disagrees with @cpus")
        } catch let e as TraceError {
            #expect("\(e)".contains("/percpu/cpu_user") && "\(e)".contains("2 columns for the 3 CPUs"))
        }
    }
}
