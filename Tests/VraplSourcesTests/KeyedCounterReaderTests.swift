import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplSources

@Suite struct KeyedCounterReaderTests {
    @Test func defaultsFromThisMachineFixture() throws {
        let dir = Fixtures.procfs("this-machine")
        let reader = try KeyedCounterReader(procfs: dir)
        #expect(reader.counters == ["pgfault", "pgmajfault", "pswpin", "pswpout"])
        let ref = try Fixtures.referenceLines(dir + "/vmstat")
        let values = try reader.read()
        #expect(values == reader.counters.map { ref[$0]?.first ?? UInt64.max })
        #expect(values[0] > 0)
    }

    @Test func configurableCountersInRequestedOrder() throws {
        let dir = Fixtures.procfs("this-machine")
        let names = ["nr_free_pages", "pgfault", "pgfault", "workingset_refault_file", "pswpout"]
        let reader = try KeyedCounterReader(procfs: dir, counters: names)
        #expect(reader.counters == ["nr_free_pages", "pgfault", "workingset_refault_file", "pswpout"])
        let ref = try Fixtures.referenceLines(dir + "/vmstat")
        #expect(try reader.read() == reader.counters.map { ref[$0]?.first ?? UInt64.max })
    }

    @Test func prefixOfAnotherNameDoesNotMatch() throws {
        let v = try KeyedCounterReader.parse(text: "pgfaults 1\npgfault 2\npgfault_x 3\n", counters: ["pgfault"])
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
        let message = Fixtures.message { _ = try KeyedCounterReader(procfs: Fixtures.procfs(c.tree), counters: c.counters) }
        #expect(message != nil)
        for part in c.expected { #expect(message?.contains(part) == true, "\(message ?? "no error") lacks \(part)") }
    }

    @Test func liveVmstat() throws {
        let reader = try KeyedCounterReader(procfs: "/proc", counters: VmstatDefaults.counters + ["nr_free_pages"])
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

/// The prefix read: only the start of /proc/vmstat up to the last requested counter is read each tick.
@Suite struct VmstatPrefixTests {
    static func write(_ text: String, to url: URL) throws {
        // Overwrite in place (the reader keeps its file descriptor, as with procfs).
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data(text.utf8))
        try h.close()
    }

    static func vmstat(early: String, pgfault: UInt64, tailLines: Int = 200) -> String {
        var lines = ["nr_free_pages \(early)", "nr_zone_inactive_anon 12", "pswpin 3", "pswpout 4", "pgfault \(pgfault)", "pgmajfault 6"]
        lines += (0..<tailLines).map { "tail_counter_\($0) \($0)" }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func followsChangesAndFallsBackWhenTheCountersMovePastThePrefix() throws {
        let dir = try Scratch.directory()
        let file = dir.appendingPathComponent("vmstat")
        try Self.write(Self.vmstat(early: "1", pgfault: 5), to: file)
        let reader = try KeyedCounterReader(procfs: dir.path)
        #expect(try reader.read() == [5, 6, 3, 4])
        try Self.write(Self.vmstat(early: "22", pgfault: 77), to: file)  // within the slack
        #expect(try reader.read() == [77, 6, 3, 4])
        // 600 more bytes before the counters: beyond the prefix, so the whole file is read again.
        try Self.write(Self.vmstat(early: String(repeating: "9", count: 15) + " " + String(repeating: "x", count: 600), pgfault: 123_456),
                       to: file)
        #expect(try reader.read() == [123_456, 6, 3, 4])
        try Self.write(Self.vmstat(early: "1", pgfault: 8), to: file)
        #expect(try reader.read() == [8, 6, 3, 4])
        // Garbage inside the prefix still fails with the file and the text.
        try Self.write(Self.vmstat(early: "1", pgfault: 8).replacingOccurrences(of: "pgfault 8", with: "pgfault 8z"), to: file)
        let message = Fixtures.message { _ = try reader.read() }
        #expect(message?.contains("expected a number after 'pgfault', found '8z'") == true, "\(message ?? "no error")")
    }

    @Test func aCutOffLineIsNotTrusted() throws {
        let names = Array("pgfault".utf8)
        var found = [false], out: [UInt64] = [0]
        let result = try Array("pswpin 1\npgfault 12".utf8).withUnsafeBytes { bytes in
            try names.withUnsafeBufferPointer { n in
                try found.withUnsafeMutableBufferPointer { f in
                    try out.withUnsafeMutableBufferPointer { o in
                        try KeyedCounterReader.parse(bytes, path: "vmstat", names: n, ranges: [0..<7], found: f, into: o, prefix: true)
                    }
                }
            }
        }
        #expect(result == nil)  // "pgfault 12" may be "pgfault 12345" cut short
    }

    @Test func liveReaderAgreesWithAWholeRead() throws {
        let reader = try KeyedCounterReader(procfs: "/proc", counters: ["pgmajfault", "pswpin", "pswpout"])
        let before = try KeyedCounterReader.parse(text: try String(contentsOfFile: "/proc/vmstat", encoding: .utf8), counters: reader.counters)
        let now = try reader.read()
        let after = try KeyedCounterReader.parse(text: try String(contentsOfFile: "/proc/vmstat", encoding: .utf8), counters: reader.counters)
        for i in 0..<3 { #expect(before[i] <= now[i] && now[i] <= after[i]) }
    }
}
