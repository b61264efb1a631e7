import VraplCore

/// Reads selected counters of a file of `name value` lines: `<procfs>/vmstat` (by default
/// `VmstatDefaults.counters`: pgfault, pgmajfault, pswpin, pswpout, plus any the caller names) or a
/// cgroup v2 `cpu.stat` (`CPUUsageReader`).
///
/// The file stays open; `read(into:)` is one `pread` pass and a byte-level parse that allocates nothing.
/// Every requested counter must be present: the initializer fails otherwise, naming the counter.
public final class KeyedCounterReader {
    /// The file read (`<procfs>/vmstat`, `<cgroupfs>/cpu.stat`).
    public let path: String
    /// The counters read, in the order of the values `read` returns.
    public let counters: [String]
    private let file: PolledFile
    /// The counter names as bytes, one buffer, with offsets (no per-read allocation).
    private let nameBytes: UnsafeMutableBufferPointer<UInt8>
    private let nameRanges: [Range<Int>]
    private let found: UnsafeMutableBufferPointer<Bool>
    /// Bytes to read so that every requested counter's line is complete (learnt from a full read,
    /// with room for the numbers before them to grow); 0: read the whole file.
    private var prefixLimit = 0

    /// Opens `<procfs>/vmstat` and parses it once. Duplicates in `counters` are removed (first kept).
    public convenience init(procfs: String = "/proc", counters: [String] = VmstatDefaults.counters) throws {
        try self.init(path: procfs.hasSuffix("/") ? procfs + "vmstat" : procfs + "/vmstat", counters: counters)
    }

    /// Opens `path` (`name value` lines) and parses it once; every counter must be there.
    public init(path: String, counters: [String]) throws {
        self.path = path
        var unique: [String] = []
        for name in counters where !unique.contains(name) {
            guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\n" || $0 == "\t" }) else {
                throw VraplError("invalid counter name '\(name)'")
            }
            unique.append(name)
        }
        self.counters = unique
        let all = unique.flatMap { Array($0.utf8) }
        nameBytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(all.count, 1))
        _ = nameBytes.initialize(from: all)
        var ranges: [Range<Int>] = []
        var offset = 0
        for name in unique {
            ranges.append(offset..<(offset + name.utf8.count))
            offset += name.utf8.count
        }
        nameRanges = ranges
        found = UnsafeMutableBufferPointer<Bool>.allocate(capacity: max(unique.count, 1))
        found.initialize(repeating: false)
        file = try PolledFile(path: path, capacity: 16 * 1024)
        var values = [UInt64](repeating: 0, count: unique.count)
        try readWhole(into: &values)
    }

    deinit {
        nameBytes.deallocate()
        found.deallocate()
    }

    /// Reads the file again; `values` must have `counters.count` elements (in that order).
    ///
    /// Only the start of the file up to the last requested counter (plus slack) is read: the kernel
    /// formats /proc/vmstat line by line as it is read, so the lines after it cost nothing. When a
    /// counter is not complete inside that prefix the whole file is read instead and the prefix relearnt.
    public func read(into values: inout [UInt64]) throws {
        precondition(values.count == counters.count, "values must have one slot per counter")
        if prefixLimit > 0 {
            let path = self.path
            let names = UnsafeBufferPointer(nameBytes)
            let ranges = nameRanges
            let found = self.found
            let complete = try values.withUnsafeMutableBufferPointer { out in
                try file.withPrefix(limit: prefixLimit) { bytes in
                    try KeyedCounterReader.parse(bytes, path: path, names: names, ranges: ranges, found: found, into: out,
                                           prefix: true) != nil
                }
            }
            if complete { return }
        }
        try readWhole(into: &values)
    }

    private func readWhole(into values: inout [UInt64]) throws {
        let path = self.path
        let names = UnsafeBufferPointer(nameBytes)
        let ranges = nameRanges
        let found = self.found
        let end = try values.withUnsafeMutableBufferPointer { out in
            try file.withContents { bytes in
                (try KeyedCounterReader.parse(bytes, path: path, names: names, ranges: ranges, found: found, into: out,
                                        prefix: false) ?? 0, bytes.count)
            }
        }
        // Slack for the numbers before the last counter to gain digits; never more than the file.
        prefixLimit = end.0 + 256 < end.1 ? end.0 + 256 : 0
    }

    /// Reads the file again into a new array (in `counters` order).
    public func read() throws -> [UInt64] {
        var values = [UInt64](repeating: 0, count: counters.count)
        try read(into: &values)
        return values
    }

    /// Parses the text of /proc/vmstat for the given counters (for tests and replay).
    public static func parse(text: String, counters: [String], path: String = "vmstat") throws -> [UInt64] {
        let all = counters.flatMap { Array($0.utf8) }
        var ranges: [Range<Int>] = []
        var offset = 0
        for name in counters { ranges.append(offset..<(offset + name.utf8.count)); offset += name.utf8.count }
        var found = [Bool](repeating: false, count: counters.count)
        var values = [UInt64](repeating: 0, count: counters.count)
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBytes { bytes in
            try all.withUnsafeBufferPointer { names in
                try found.withUnsafeMutableBufferPointer { f in
                    try values.withUnsafeMutableBufferPointer { out in
                        _ = try parse(bytes, path: path, names: names, ranges: ranges, found: f, into: out, prefix: false)
                    }
                }
            }
        }
        return values
    }

    /// Parses `name value` lines for the requested counters. Returns the byte offset just past the
    /// last requested line. With `prefix` (the bytes may stop inside a line), a counter whose line is
    /// cut off or absent makes it return nil instead of throwing, so the caller reads the whole file.
    static func parse(_ bytes: UnsafeRawBufferPointer, path: String, names: UnsafeBufferPointer<UInt8>, ranges: [Range<Int>],
                      found: UnsafeMutableBufferPointer<Bool>, into out: UnsafeMutableBufferPointer<UInt64>,
                      prefix: Bool) throws -> Int? {
        guard !bytes.isEmpty else {
            if prefix { return nil }
            throw VraplError("\(path) is empty")
        }
        for i in 0..<ranges.count { found[i] = false }
        var remaining = ranges.count
        var c = ByteCursor(bytes)
        while !c.atEnd, remaining > 0 {
            let lineStart = c.index
            let keyEnd = c.scanKey()
            var i = 0
            while i < ranges.count {
                if !found[i], c.equals(lineStart, keyEnd, UnsafeBufferPointer(rebasing: names[ranges[i]])) {
                    let at = c.index
                    let number = c.scanNumber()
                    if prefix, c.atEnd || c.bytes[c.index] != ByteCursor.newline { return nil }  // cut-off line
                    switch number {
                    case .value(let v): out[i] = v
                    case .endOfLine:
                        throw c.error(path, at: lineStart, "missing the number after '\(c.token(at: lineStart))' (truncated line?)")
                    case .garbage:
                        throw c.error(path, at: lineStart, "expected a number after '\(c.token(at: lineStart))', found '\(c.token(at: at))'")
                    case .overflow:
                        throw c.error(path, at: lineStart, "the number after '\(c.token(at: lineStart))' overflows 64 bits: '\(c.token(at: at))'")
                    }
                    found[i] = true
                    remaining -= 1
                    break
                }
                i += 1
            }
            c.skipLine()
        }
        if remaining > 0 {
            if prefix { return nil }
            var missing: [String] = []
            for i in 0..<ranges.count where !found[i] {
                missing.append("'" + String(decoding: UnsafeBufferPointer(rebasing: names[ranges[i]]), as: UTF8.self) + "'")
            }
            throw VraplError("\(path): no \(missing.joined(separator: ", ")) counter (truncated file, or a counter this kernel does not have?)")
        }
        return c.index
    }
}
