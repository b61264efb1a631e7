import VraplCore

extension CPUTimes {
    /// Sets a field by kernel index 0…9 (no allocation, unlike `fields`).
    @inline(__always)
    mutating func set(_ index: Int, _ value: UInt64) {
        switch index {
        case 0: user = value
        case 1: nice = value
        case 2: system = value
        case 3: idle = value
        case 4: iowait = value
        case 5: irq = value
        case 6: softirq = value
        case 7: steal = value
        case 8: guest = value
        default: guestNice = value
        }
    }
}

/// Reads `<procfs>/stat` into a `ProcStatSnapshot`: the aggregate `cpu` line (4 to 10 fields; older
/// kernels print fewer, the missing ones read as 0), `ctxt`, the `intr` total, `processes`,
/// `procs_running`, `procs_blocked`, and, when asked, the per-CPU lines.
///
/// The file stays open; each `read(into:)` is one `pread` pass into a reused buffer and a byte-level
/// parse that allocates nothing (per-CPU entries are written in place once the array has its size).
public final class ProcStatReader {
    /// `<procfs>/stat`.
    public let path: String
    /// Whether `cpuN` lines are parsed into `ProcStatSnapshot.perCPU` (index N).
    public let includePerCPU: Bool
    /// Number of `cpuN` lines found by the latest read (online CPUs; 0 when the file has none).
    public private(set) var cpuCount: Int = 0
    private let file: PolledFile

    /// Opens `<procfs>/stat` and parses it once, so a broken file fails here with a clear message.
    public init(procfs: String = "/proc", includePerCPU: Bool = false) throws {
        path = procfs.hasSuffix("/") ? procfs + "stat" : procfs + "/stat"
        self.includePerCPU = includePerCPU
        file = try PolledFile(path: path, capacity: 64 * 1024, oneShot: true)
        var first = ProcStatSnapshot()
        cpuCount = try file.withContents { bytes in
            try ProcStatReader.parse(bytes, path: path, includePerCPU: includePerCPU, into: &first)
        }
    }

    /// Reads the file again into `snapshot` (every field is overwritten).
    @inline(__always)
    public func read(into snapshot: inout ProcStatSnapshot) throws {
        let path = self.path, perCPU = includePerCPU
        cpuCount = try file.withContents { bytes in
            try ProcStatReader.parse(bytes, path: path, includePerCPU: perCPU, into: &snapshot)
        }
    }

    /// Reads the file's bytes into `buffer` without parsing them (one `pread`); `parse(_:path:includePerCPU:into:)`
    /// turns them into a snapshot later. A count equal to `buffer.count` means the text may be cut short.
    @inline(__always)
    public func capture(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try file.read(into: buffer)
    }

    /// The open descriptor of the file (`PolledFile.descriptor`): one `pread` from offset 0 is all of it.
    public var descriptor: Int32 { file.descriptor }

    /// Reads the file again into a new snapshot.
    public func read() throws -> ProcStatSnapshot {
        var s = ProcStatSnapshot()
        try read(into: &s)
        return s
    }

    /// Parses the text of /proc/stat (for tests and replay).
    public static func parse(text: String, path: String = "stat", includePerCPU: Bool = false) throws -> ProcStatSnapshot {
        var s = ProcStatSnapshot()
        var utf8 = Array(text.utf8)
        _ = try utf8.withUnsafeMutableBytes { raw in
            try parse(UnsafeRawBufferPointer(raw), path: path, includePerCPU: includePerCPU, into: &s)
        }
        utf8.removeAll()
        return s
    }

    private struct Seen: OptionSet {
        let rawValue: UInt8
        static let cpu = Seen(rawValue: 1), ctxt = Seen(rawValue: 2), intr = Seen(rawValue: 4)
        static let processes = Seen(rawValue: 8), running = Seen(rawValue: 16), blocked = Seen(rawValue: 32)
        static let all: Seen = [.cpu, .ctxt, .intr, .processes, .running, .blocked]
    }

    /// Parses the bytes of /proc/stat into `snapshot`; returns the number of `cpuN` lines.
    /// Throws a message naming `path`, the line and the offending text.
    @discardableResult
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String, includePerCPU: Bool,
                             into snapshot: inout ProcStatSnapshot) throws -> Int {
        guard !bytes.isEmpty else { throw VraplError("\(path) is empty") }
        var c = ByteCursor(bytes)
        var seen: Seen = []
        var cpuLines = 0
        while !c.atEnd {
            let lineStart = c.index
            let keyEnd = c.scanKey()
            let keyLength = keyEnd - lineStart
            if keyLength >= 3, c.equals(lineStart, lineStart + 3, "cpu") {
                if keyLength == 3 {
                    try parseCPULine(&c, path: path, lineStart: lineStart, into: &snapshot.cpu)
                    seen.insert(.cpu)
                } else {
                    cpuLines += 1
                    if includePerCPU {
                        guard let n = cpuIndex(c.bytes, lineStart + 3, keyEnd) else {
                            throw c.error(path, at: lineStart, "expected 'cpu' followed by a CPU number, found '\(c.token(at: lineStart))'")
                        }
                        if n >= snapshot.perCPU.count {
                            snapshot.perCPU.append(contentsOf: repeatElement(CPUTimes(), count: n + 1 - snapshot.perCPU.count))
                        }
                        try parseCPULine(&c, path: path, lineStart: lineStart, into: &snapshot.perCPU[n])
                    }
                }
            } else if c.equals(lineStart, keyEnd, "ctxt") {
                snapshot.contextSwitches = try number(&c, path: path, key: "ctxt", lineStart: lineStart)
                seen.insert(.ctxt)
            } else if c.equals(lineStart, keyEnd, "intr") {
                snapshot.interrupts = try number(&c, path: path, key: "intr", lineStart: lineStart)
                seen.insert(.intr)
            } else if c.equals(lineStart, keyEnd, "processes") {
                snapshot.processesCreated = try number(&c, path: path, key: "processes", lineStart: lineStart)
                seen.insert(.processes)
            } else if c.equals(lineStart, keyEnd, "procs_running") {
                snapshot.procsRunning = try number(&c, path: path, key: "procs_running", lineStart: lineStart)
                seen.insert(.running)
            } else if c.equals(lineStart, keyEnd, "procs_blocked") {
                snapshot.procsBlocked = try number(&c, path: path, key: "procs_blocked", lineStart: lineStart)
                seen.insert(.blocked)
            }
            c.skipLine()
        }
        if seen != Seen.all { throw missingError(path: path, seen: seen) }
        return cpuLines
    }

    private static func missingError(path: String, seen: Seen) -> VraplError {
        let names: [(Seen, String)] = [(.cpu, "cpu"), (.ctxt, "ctxt"), (.intr, "intr"), (.processes, "processes"),
                                       (.running, "procs_running"), (.blocked, "procs_blocked")]
        let missing = names.filter { !seen.contains($0.0) }.map { "'\($0.1)'" }
        return VraplError("\(path): no \(missing.joined(separator: ", ")) line (truncated or not a /proc/stat file?)")
    }

    @inline(__always)
    private static func cpuIndex(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Int? {
        guard end > start, end - start <= 6 else { return nil }
        var n = 0
        for i in start..<end {
            let d = Int(bytes[i]) - 0x30
            guard d >= 0, d <= 9 else { return nil }
            n = n * 10 + d
        }
        return n
    }

    /// The fields after `cpu`/`cpuN`: at least 4 (user nice system idle), at most 10 are stored.
    @inline(__always)
    private static func parseCPULine(_ c: inout ByteCursor, path: String, lineStart: Int, into times: inout CPUTimes) throws {
        var count = 0
        while true {
            let at = c.index
            switch c.scanNumber() {
            case .value(let v):
                if count < 10 { times.set(count, v) }
                count += 1
            case .endOfLine:
                guard count >= 4 else {
                    throw c.error(path, at: lineStart, "the cpu line has \(count) fields, expected 4 to 10 (user nice system idle [iowait irq softirq steal guest guest_nice]); truncated?")
                }
                var i = count
                while i < 10 { times.set(i, 0); i += 1 }
                return
            case .garbage:
                throw c.error(path, at: lineStart, "field \(count + 1) of the cpu line is not a number: '\(c.token(at: at))'")
            case .overflow:
                throw c.error(path, at: lineStart, "field \(count + 1) of the cpu line overflows 64 bits: '\(c.token(at: at))'")
            }
        }
    }

    @inline(__always)
    private static func number(_ c: inout ByteCursor, path: String, key: StaticString, lineStart: Int) throws -> UInt64 {
        let at = c.index
        switch c.scanNumber() {
        case .value(let v): return v
        case .endOfLine: throw c.error(path, at: lineStart, "missing the number after '\(key)' (truncated line?)")
        case .garbage: throw c.error(path, at: lineStart, "expected a number after '\(key)', found '\(c.token(at: at))'")
        case .overflow: throw c.error(path, at: lineStart, "the number after '\(key)' overflows 64 bits: '\(c.token(at: at))'")
        }
    }
}
