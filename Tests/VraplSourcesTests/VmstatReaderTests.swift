import Foundation
import Testing
import VraplCore
@testable import VraplSources

@Suite struct VmstatReaderTests {
    @Test func defaultsFromThisMachineFixture() throws {
        let dir = Fixtures.procfs("this-machine")
        let reader = try VmstatReader(procfs: dir)
        #expect(reader.counters == ["pgfault", "pgmajfault", "pswpin", "pswpout"])
        let ref = try Fixtures.referenceLines(dir + "/vmstat")
        let values = try reader.read()
        #expect(values == reader.counters.map { ref[$0]?.first ?? UInt64.max })
        #expect(values[0] > 0)
    }

    @Test func configurableCountersInRequestedOrder() throws {
        let dir = Fixtures.procfs("this-machine")
        let names = ["nr_free_pages", "pgfault", "pgfault", "workingset_refault_file", "pswpout"]
        let reader = try VmstatReader(procfs: dir, counters: names)
        #expect(reader.counters == ["nr_free_pages", "pgfault", "workingset_refault_file", "pswpout"])
        let ref = try Fixtures.referenceLines(dir + "/vmstat")
        #expect(try reader.read() == reader.counters.map { ref[$0]?.first ?? UInt64.max })
    }

    @Test func prefixOfAnotherNameDoesNotMatch() throws {
        let v = try VmstatReader.parse(text: "pgfaults 1\npgfault 2\npgfault_x 3\n", counters: ["pgfault"])
        #expect(v == [2])
    }

    static let broken: [(tree: String, counters: [String], expected: [String])] = [
        ("broken-empty", VmstatDefaults.counters, ["broken-empty/vmstat is empty"]),
        ("broken-garbage", VmstatDefaults.counters, ["broken-garbage/vmstat: line", "'pgfault lots'", "expected a number after 'pgfault', found 'lots'"]),
        ("broken-truncated", VmstatDefaults.counters, ["'pgmajfault'", "missing the number after 'pgmajfault'"]),
        ("broken-missing", VmstatDefaults.counters, ["broken-missing/vmstat: no 'pswpin' counter"]),
        ("this-machine", ["pgfault", "no_such_counter"], ["this-machine/vmstat: no 'no_such_counter' counter"]),
        ("does-not-exist", VmstatDefaults.counters, ["cannot open", "does-not-exist/vmstat"]),
    ]

    @Test(arguments: broken)
    func brokenTreesFailWithFileAndText(c: (tree: String, counters: [String], expected: [String])) {
        let message = Fixtures.message { _ = try VmstatReader(procfs: Fixtures.procfs(c.tree), counters: c.counters) }
        #expect(message != nil)
        for part in c.expected { #expect(message?.contains(part) == true, "\(message ?? "no error") lacks \(part)") }
    }

    @Test func liveVmstat() throws {
        let reader = try VmstatReader(procfs: "/proc", counters: VmstatDefaults.counters + ["nr_free_pages"])
        var a = [UInt64](repeating: 0, count: 5), b = a
        try reader.read(into: &a)
        let touched = [UInt8](repeating: 1, count: 8 << 20)  // fault in fresh pages
        try reader.read(into: &b)
        #expect(touched.count == 8 << 20)
        #expect(b[0] >= a[0])
        #expect(b[0] - a[0] < 1_000_000_000)
        #expect(a[4] > 0)  // free pages
    }
}
