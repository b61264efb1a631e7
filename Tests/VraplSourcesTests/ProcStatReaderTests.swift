import Foundation
import Testing
import VraplCore
@testable import VraplSources

@Suite struct ProcStatReaderTests {
    @Test func thisMachineFixtureMatchesReferenceParser() throws {
        let dir = Fixtures.procfs("this-machine")
        let reader = try ProcStatReader(procfs: dir, includePerCPU: true)
        let s = try reader.read()
        let ref = try Fixtures.referenceLines(dir + "/stat")
        #expect(s.cpu.fields == ref["cpu"])
        #expect(s.contextSwitches == ref["ctxt"]?.first)
        #expect(s.interrupts == ref["intr"]?.first)
        #expect(s.processesCreated == ref["processes"]?.first)
        #expect(s.procsRunning == ref["procs_running"]?.first)
        #expect(s.procsBlocked == ref["procs_blocked"]?.first)
        let cpuLines = ref.keys.filter { $0.hasPrefix("cpu") && $0 != "cpu" }.count
        #expect(reader.cpuCount == cpuLines)
        #expect(s.perCPU.count == cpuLines)
        for (i, times) in s.perCPU.enumerated() { #expect(times.fields == ref["cpu\(i)"]) }
        // The aggregate is the sum of the per-CPU lines up to the kernel's per-CPU rounding to jiffies.
        let sum = s.perCPU.reduce(UInt64(0)) { $0 + $1.user }
        #expect(max(sum, s.cpu.user) - min(sum, s.cpu.user) <= UInt64(cpuLines))
    }

    @Test func perCPUOffByDefault() throws {
        let s = try ProcStatReader(procfs: Fixtures.procfs("this-machine")).read()
        #expect(s.perCPU.isEmpty)
        #expect(s.cpu.idle > 0)
    }

    @Test(arguments: [("old-kernel-4", 4), ("old-kernel-8", 8), ("this-machine", 10)])
    func olderKernelsFillMissingFieldsWithZero(tree: String, fields: Int) throws {
        let s = try ProcStatReader(procfs: Fixtures.procfs(tree), includePerCPU: true).read()
        let full = try ProcStatReader(procfs: Fixtures.procfs("this-machine")).read()
        for i in 0..<10 { #expect(s.cpu[i] == (i < fields ? full.cpu[i] : 0)) }
        #expect(s.perCPU.count == 2)
        #expect(s.contextSwitches == full.contextSwitches)
    }

    @Test func textWithFewerAndMoreFields() throws {
        let base = "ctxt 5\nintr 7 1 2 3\nprocesses 9\nprocs_running 2\nprocs_blocked 1\n"
        let s = try ProcStatReader.parse(text: "cpu  1 2 3 4 5 6 7 8 9 10 11\n" + base)
        #expect(s.cpu.fields == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])  // an 11th field from a future kernel is ignored
        #expect(s.interrupts == 7)
        #expect(s.procsBlocked == 1)
        let noNewline = try ProcStatReader.parse(text: "cpu 1 2 3 4\n" + base.dropLast())
        #expect(noNewline.procsBlocked == 1)
    }

    static let broken: [(tree: String, expected: [String])] = [
        ("broken-empty", ["broken-empty/stat is empty"]),
        ("broken-garbage", ["broken-garbage/stat: line", "'ctxt 12x45'", "expected a number after 'ctxt', found '12x45'"]),
        ("broken-garbage-cpu", ["line 1", "field 2 of the cpu line is not a number: 'n/a'"]),
        ("broken-truncated", ["line 1 ('cpu  17088 0')", "has 2 fields, expected 4 to 10"]),
        ("broken-truncated-tail", ["'procs_blocked'", "missing the number after 'procs_blocked'"]),
        ("broken-missing", ["broken-missing/stat: no 'ctxt' line"]),
        ("does-not-exist", ["cannot open", "does-not-exist/stat", "No such file or directory"]),
    ]

    @Test(arguments: broken)
    func brokenTreesFailWithFileAndText(c: (tree: String, expected: [String])) {
        let message = Fixtures.message { _ = try ProcStatReader(procfs: Fixtures.procfs(c.tree)) }
        #expect(message != nil)
        for part in c.expected { #expect(message?.contains(part) == true, "\(message ?? "no error") lacks \(part)") }
    }

    @Test func overflowIsAnError() {
        let m = Fixtures.message { _ = try ProcStatReader.parse(text: "cpu 1 2 3 99999999999999999999\nctxt 1\nintr 1\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n") }
        #expect(m?.contains("overflows 64 bits: '99999999999999999999'") == true)
    }

    @Test func liveProcStatIsMonotonic() throws {
        let reader = try ProcStatReader(procfs: "/proc", includePerCPU: true)
        var a = ProcStatSnapshot(), b = ProcStatSnapshot()
        try reader.read(into: &a)
        var x: UInt64 = 0
        for i in 0..<2_000_000 { x &+= UInt64(i) }  // burn a little CPU so counters move
        usleep(30_000)
        try reader.read(into: &b)
        #expect(x > 0)
        #expect(reader.cpuCount == ProcessInfo.processInfo.activeProcessorCount)
        #expect(b.perCPU.count == reader.cpuCount)
        #expect(b.contextSwitches > a.contextSwitches)
        #expect(b.processesCreated >= a.processesCreated)
        let ta = a.cpu.fields.reduce(0, +), tb = b.cpu.fields.reduce(0, +)
        #expect(tb > ta)
        for i in 0..<10 { #expect(b.cpu[i] >= a.cpu[i]) }
        #expect(b.procsRunning >= 1)  // this thread is running
    }
}
