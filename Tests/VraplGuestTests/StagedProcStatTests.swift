import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplSources
@testable import VraplGuest

@Suite("Batched loop's staged /proc/stat: parsed later, the same samples")
struct StagedProcStatTests {
    /// A /proc/stat text whose counters depend on `t`, `irqs` interrupt numbers long on its intr line.
    static func statText(_ t: UInt64, irqs: Int = 40) -> String {
        let intr = (0..<irqs).map { String(($0 * 7 + Int(t)) % 1000) }.joined(separator: " ")
        return """
        cpu  \(100 + t * 3) \(t) \(50 + t * 2) \(9000 + t * 5) \(t % 7) 0 \(t / 3) 1 0 0
        cpu0 \(50 + t) 0 \(25 + t) 4500 0 0 0 0 0 0
        cpu1 \(50 + t * 2) \(t) \(25 + t) \(4500 + t * 5) \(t % 7) 0 \(t / 3) 1 0 0
        intr \(1000 + t * 11) \(intr)
        ctxt \(77 + t * 13)
        btime 1700000000
        processes \(300 + t)
        procs_running \(1 + t % 3)
        procs_blocked 0
        softirq 5 1 1 1 1 1 0 0 0 0 0

        """
    }

    @Test("every staged tick parses to what reading it then would have given, in order, across a slot growth")
    func stagedEqualsImmediate() throws {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("stat").path
        try Self.statText(0).write(toFile: path, atomically: false, encoding: .utf8)
        let reader = try ProcStatReader(procfs: dir.path)
        // 64-byte slots: the first read already overflows, and a later, longer text (more interrupts)
        // overflows again with ticks staged.
        let stage = StagedProcStat(reader: reader, slots: 8, slotBytes: 64)
        var expected: [(ProcStatSnapshot, UInt64)] = []
        for t in UInt64(1)...6 {
            let text = Self.statText(t, irqs: t < 4 ? 40 : 400)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            try stage.capture()
            stage.commit(monotonicNs: t * 16_000_000, wallClockUnix: Double(t), pageFaults: t * 2, cpuUsage: nil)
            expected.append((try ProcStatReader.parse(text: text), t))
        }
        #expect(stage.count == 6 && stage.slotBytes >= 2048)
        var snapshot = ProcStatSnapshot()
        var retry = ReadRetry(limit: 3)
        var got: [(ProcStatSnapshot, Int, StagedProcStat.Stamp)] = []
        try stage.drain(into: &snapshot, retry: &retry) { got.append(($0, $1, $2)) }
        #expect(got.count == 6 && stage.count == 0 && retry.skippedTicks == 0)
        for (i, (snap, cpus, stamp)) in got.enumerated() {
            #expect(snap == expected[i].0)
            #expect(cpus == 2)
            #expect(stamp.monotonicNs == expected[i].1 * 16_000_000 && stamp.pageFaults == expected[i].1 * 2)
        }
    }

    @Test("a staged text that does not parse skips its tick and is counted; a run of them is the persistent error")
    func brokenStagedText() throws {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("stat").path
        try Self.statText(0).write(toFile: path, atomically: false, encoding: .utf8)
        let reader = try ProcStatReader(procfs: dir.path)
        let stage = StagedProcStat(reader: reader, slots: 8)
        func tick(_ text: String, _ t: UInt64) throws {
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            try stage.capture()
            stage.commit(monotonicNs: t, wallClockUnix: 0, pageFaults: nil, cpuUsage: nil)
        }
        try tick(Self.statText(1), 1)
        try tick("cpu  1 2 3\n", 2)  // too few fields
        try tick(Self.statText(3), 3)
        var snapshot = ProcStatSnapshot()
        var retry = ReadRetry(limit: 2)
        var seen: [UInt64] = []
        try stage.drain(into: &snapshot, retry: &retry) { seen.append($2.monotonicNs); _ = ($0, $1) }
        #expect(seen == [1, 3] && retry.skippedTicks == 1)
        try tick("garbage\n", 4)
        try tick("", 5)
        let message = errorMessage { try stage.drain(into: &snapshot, retry: &retry) { _, _, _ in } }
        #expect(message == path + " is empty (2 samples in a row could not be read; 3 skipped in all)", "\(message ?? "accepted")")
    }
}
