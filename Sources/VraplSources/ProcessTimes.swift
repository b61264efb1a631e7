import Glibc
import VraplCore

/// CPU time of every process, from `<procfs>/<pid>/stat` (fields 14 and 15, utime + stime, USER_HZ
/// ticks), the per-process input of Kepler's split. `comm` is the text between the first `(` and the
/// last `)` (it may hold spaces and parentheses); a process that vanishes between listing and reading
/// is skipped, as is a file that does not parse (a read racing the process's exit).
public struct ProcessTimes: Sendable, Equatable {
    public struct Process: Sendable, Equatable {
        public var pid: Int32
        public var comm: String
        public var state: Character
        /// utime + stime, ticks.
        public var cpuTicks: UInt64
        public init(pid: Int32, comm: String, state: Character, cpuTicks: UInt64) {
            self.pid = pid; self.comm = comm; self.state = state; self.cpuTicks = cpuTicks
        }
    }

    /// Reads every numeric entry of `procfs`. Threads are counted in their process (its utime/stime
    /// include them).
    public static func read(procfs: String) -> [Process] {
        guard let dir = opendir(procfs) else { return [] }
        defer { closedir(dir) }
        var out: [Process] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid > 0 else { continue }
            let fd = open(procfs + "/" + name + "/stat", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard n > 0, let p = parse(Array(buffer[0..<n]), pid: pid) else { continue }
            out.append(p)
        }
        return out.sorted { $0.pid < $1.pid }
    }

    /// Parses one `stat` line; nil when it is not one.
    public static func parse(_ bytes: [UInt8], pid: Int32) -> Process? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close else { return nil }
        let comm = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let rest = bytes[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard rest.count >= 13, let state = rest[0].first,
              let utime = UInt64(String(decoding: rest[11], as: UTF8.self)), let stime = UInt64(String(decoding: rest[12], as: UTF8.self)) else { return nil }
        return Process(pid: pid, comm: comm, state: Character(UnicodeScalar(state)), cpuTicks: utime &+ stime)
    }
}
