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
            stage.commit(monotonicNs: t * 16_000_000, wallNs: Int64(t) * 1_000_000_000, pageFaults: t * 2, cpuUsage: nil)
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
            #expect(stamp.wallClockUnix == Double(expected[i].1))
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
            stage.commit(monotonicNs: t, wallNs: 0, pageFaults: nil, cpuUsage: nil)
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

@Suite("Batched loop's C ticks: the floor's sleep and pread into the same slots")
struct CTickLoopTests {
    static let intervalNs: UInt64 = 2_000_000

    /// A fixture /proc/stat, its reader and a stage of `slots` slots.
    static func stage(slots: Int, slotBytes: Int = 4096, text: String = StagedProcStatTests.statText(5)) throws -> (StagedProcStat, String) {
        let dir = try Scratch.directory()
        let path = dir.appendingPathComponent("stat").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return (StagedProcStat(reader: try ProcStatReader(procfs: dir.path), slots: slots, slotBytes: slotBytes), path)
    }

    @Test("each tick is staged after its deadline with its clocks; the run hands back the tick that reaches `until`")
    func stagesUntil() throws {
        let text = StagedProcStatTests.statText(5)
        let (stage, _) = try Self.stage(slots: 16, text: text)
        let start = SampleClock.monotonicNs()
        let wallStart = Double(SampleClock.wallNs()) / 1e9
        var deadline = start + Self.intervalNs, late = 0
        var retry = ReadRetry(limit: 3)
        let until = start + 5 * Self.intervalNs
        let last = try #require(stage.runTicks(deadlineNs: &deadline, untilNs: until, intervalNs: Self.intervalNs,
                                               lateTicks: &late, retry: &retry))
        #expect(last >= until)
        // The last tick's deadline is the caller's to advance; every staged tick came after its own.
        #expect(stage.count >= 1 && stage.count <= 5 && deadline <= last)
        var snapshot = ProcStatSnapshot()
        var got: [StagedProcStat.Stamp] = []
        try stage.drain(into: &snapshot, retry: &retry) { snap, cpus, stamp in
            #expect(snap == (try? ProcStatReader.parse(text: text)) && cpus == 2)
            got.append(stamp)
        }
        #expect(got.count >= 1 && got.last?.monotonicNs == last)
        for (i, stamp) in got.enumerated() {
            #expect(stamp.monotonicNs >= start + UInt64(i + 1) * Self.intervalNs)
            #expect(stamp.byteCount == text.utf8.count && stamp.pageFaults == nil && stamp.cpuUsage == nil)
            #expect(stamp.wallClockUnix >= wallStart && stamp.wallClockUnix < wallStart + 5)
        }
        #expect(zip(got, got.dropFirst()).allSatisfy { $0.monotonicNs < $1.monotonicNs })
    }

    @Test("a run ends when the slots are full; deadlines a late tick missed are counted and skipped")
    func fullAndLate() throws {
        let (stage, _) = try Self.stage(slots: 3)
        let now = SampleClock.monotonicNs()
        // Ten intervals behind: the first tick runs at once and is late for the deadlines it passed.
        var deadline = now - 10 * Self.intervalNs, late = 0
        var retry = ReadRetry(limit: 3)
        let last = stage.runTicks(deadlineNs: &deadline, untilNs: .max, intervalNs: Self.intervalNs, lateTicks: &late, retry: &retry)
        #expect(last != nil && stage.isFull)
        #expect(late >= 10, "late \(late)")
        #expect(deadline > now && (deadline - now) % Self.intervalNs == 0)
    }

    @Test("a tick whose read needs Swift, or a set stop flag, is handed back untouched", arguments: ["outgrown", "empty", "stop"])
    func yields(_ reason: String) throws {
        let (stage, path) = try Self.stage(slots: 4, slotBytes: 64)
        if reason == "empty" { try "".write(toFile: path, atomically: false, encoding: .utf8) }
        if reason == "stop" { try StagedProcStatTests.statText(1, irqs: 0).prefix(60).write(toFile: path, atomically: false, encoding: .utf8) }
        var flag = sig_atomic_t(reason == "stop" ? SIGTERM : 0)
        let start = SampleClock.monotonicNs()
        var deadline = start, late = 0
        var retry = ReadRetry(limit: 3)
        let last = stage.runTicks(deadlineNs: &deadline, untilNs: .max, intervalNs: Self.intervalNs, lateTicks: &late, retry: &retry, stop: &flag)
        #expect(last == nil && stage.count == 0 && deadline == start && late == 0)
        if reason == "outgrown" {
            // The Swift tick reads it instead, growing the slots.
            try stage.capture()
            stage.commit(monotonicNs: 1, wallNs: 1_000_000_000, pageFaults: nil, cpuUsage: nil)
            #expect(stage.count == 1 && stage.slotBytes > 64)
        }
    }
}
