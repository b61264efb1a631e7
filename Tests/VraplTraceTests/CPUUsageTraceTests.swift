import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

@Suite("Busy time in µs in traces (/cpu_usage)")
struct CPUUsageTraceTests {
    @Test("the streaming writer records the readings (a missing one holds the previous) across flushes; h5py reads them with their source")
    func streaming() throws {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("u.h5").path
        let writer = try TraceWriter(path: path, metadata: TraceMetadata(), vmstatNames: [], raplZones: [],
                                     cpuUsageSource: "cgroup2:/fixture/cpu.stat",
                                     options: .init(flushIntervalNs: 50_000_000, chunkRows: 16, reserveBytes: 0))
        for s in 0..<40 {
            let usage: CPUUsage? = s == 7 ? nil : CPUUsage(userUsec: UInt64(s) * 1000, systemUsec: UInt64(s) * 300)
            try writer.append(monotonicNs: UInt64(s + 1) * 16_000_000, wallClockNs: 0, stat: ProcStatSnapshot(),
                              vmstat: [], energyUj: [], cpuUsage: usage)
        }
        try writer.close()
        #expect(writer.flushCount > 2)
        let back = try TraceReader.read(path)
        let u = try #require(back.cpuUsage)
        #expect(u.source == "cgroup2:/fixture/cpu.stat")
        #expect(u.userUsec.count == 40 && u.userUsec[7] == 6000 && u.userUsec[39] == 39_000 && u.systemUsec[20] == 6000)
        let (status, out) = try ChildProcess.python3("""
        import h5py, sys
        f = h5py.File(sys.argv[1], "r")
        g = f["cpu_usage"]
        assert g.attrs["source"] == "cgroup2:/fixture/cpu.stat", g.attrs["source"]
        assert g["user_usec"].shape == (40,) and g["user_usec"][39] == 39000 and g["system_usec"][1] == 300
        print("ok")
        """, [path])
        #expect(status == 0, "\(out)")
        // A trace without it reads as before (no /cpu_usage).
        let plain = dir.appendingPathComponent("plain.h5").path
        try TraceWriter.write(TraceTestSupport.sampleTrace(samples: 10, withHidden: false), to: plain)
        #expect(try TraceReader.read(plain).cpuUsage == nil)
    }

    @Test("a whole trace round-trips its busy time; a column of the wrong length is refused naming it")
    func whole() throws {
        let dir = try Scratch.directory()
        var t = TraceTestSupport.sampleTrace(samples: 10, withHidden: false)
        t.cpuUsage = CPUUsageSeries(source: "sim:test", userUsec: (0..<10).map { UInt64($0) * 4000 }, systemUsec: Array(repeating: 8000, count: 10))
        let path = dir.appendingPathComponent("w.h5").path
        try TraceWriter.write(t, to: path)
        #expect(try TraceReader.read(path).cpuUsage == t.cpuUsage)
        t.cpuUsage?.systemUsec.removeLast()
        do {
            try TraceWriter.write(t, to: dir.appendingPathComponent("bad.h5").path)
            Issue.record("wrote a short /cpu_usage/system_usec")
        } catch {
            #expect("\(error)".contains("/cpu_usage/system_usec"), "\(error)")
        }
    }
}
