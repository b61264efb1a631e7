import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplSources
@testable import VraplGuest

@Suite("Per-process split (kepler_process_cpu_*)")
struct ProcessSplitTests {
    func p(_ pid: Int32, _ ticks: UInt64, _ comm: String = "w") -> ProcessTimes.Process {
        .init(pid: pid, comm: comm, state: "R", cpuTicks: ticks)
    }

    @Test("/proc/<pid>/stat: comm with spaces and parentheses, utime + stime; a fixture tree is listed by pid")
    func parse() throws {
        let line = Array("4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0\n".utf8)
        let x = try #require(ProcessTimes.parse(line, pid: 4242))
        #expect(x.comm == "my (odd) proc" && x.state == "S" && x.cpuTicks == 300)
        #expect(ProcessTimes.parse(Array("4242 (trunc) S 1 2".utf8), pid: 4242) == nil)
        let dir = try Scratch.directory()
        for (pid, u) in [(7, 10), (12, 30)] {
            let d = dir.appendingPathComponent("\(pid)")
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try "\(pid) (job\(pid)) R 1 1 1 0 -1 0 0 0 0 0 \(u) 5 0 0 20 0 1 0 1 0 0\n".write(to: d.appendingPathComponent("stat"), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("self"), withIntermediateDirectories: true)
        try "garbage".write(to: dir.appendingPathComponent("99stat"), atomically: true, encoding: .utf8)
        let all = ProcessTimes.read(procfs: dir.path)
        #expect(all.map(\.pid) == [7, 12] && all.map(\.cpuTicks) == [15, 35] && all[1].comm == "job12")
    }

    @Test("shares by CPU-time delta; top N plus other; Σ = the active energy; other never decreases")
    func split() throws {
        let s = try ProcessSplit(procfs: "/nonexistent", topN: 2)
        s.update(activeJoules: 0, monotonicNs: 1_000_000_000, processes: [p(1, 100), p(2, 100), p(3, 100)])
        #expect(s.entries.isEmpty)  // the first reading is the baseline
        // 1 s, 10 J: deltas 60, 30, 10 ticks → 6, 3 and 1 J; pid 3 goes to other.
        s.update(activeJoules: 10, monotonicNs: 2_000_000_000, processes: [p(1, 160), p(2, 130), p(3, 110)])
        #expect(s.entries.map(\.pid) == [1, 2, nil])
        #expect(abs(s.entries[0].joules - 6) < 1e-9 && abs(s.entries[1].watts - 3) < 1e-9 && abs(s.entries[2].joules - 1) < 1e-9)
        // Next second, 20 J: pid 3 is busiest now, pid 2 falls out (its energy this interval is other's), pid 1 exits.
        s.update(activeJoules: 30, monotonicNs: 3_000_000_000, processes: [p(2, 140), p(3, 150), p(4, 50)])
        let total = s.entries.reduce(0) { $0 + $1.joules }
        #expect(s.entries.map(\.pid) == [4, 3, nil])
        #expect(abs(s.entries[0].joules - 10) < 1e-9 && abs(s.entries[1].joules - 8) < 1e-9)
        #expect(abs(s.entries[2].joules - (1 + 2)) < 1e-9)  // other: pid 3's 1 J before, pid 2's 2 J now
        #expect(total <= 30 + 1e-9)  // pid 1's and 2's earlier joules left with their series
        #expect(throws: VraplError.self) { _ = try ProcessSplit(procfs: "/proc", topN: 0) }
    }
}
