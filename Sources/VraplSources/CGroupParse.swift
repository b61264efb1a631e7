import VraplCore

/// A cgroup v2 limit: a number of bytes, or the literal `max` (no limit).
public enum CGroupLimit: Hashable, Sendable, CustomStringConvertible {
    case bytes(UInt64)
    case max

    public var description: String {
        switch self {
        case .bytes(let b): return String(b)
        case .max: return "max"
        }
    }

    /// The byte count, or nil for `max`.
    public var byteCount: UInt64? { if case .bytes(let b) = self { return b } else { return nil } }
}

/// `io.stat` summed over all devices. Each value is a raw cumulative counter.
public struct CGroupIOStat: Hashable, Sendable {
    public var readBytes: UInt64 = 0
    public var writeBytes: UInt64 = 0
    public var readOps: UInt64 = 0
    public var writeOps: UInt64 = 0
    public init(readBytes: UInt64 = 0, writeBytes: UInt64 = 0, readOps: UInt64 = 0, writeOps: UInt64 = 0) {
        self.readBytes = readBytes; self.writeBytes = writeBytes; self.readOps = readOps; self.writeOps = writeOps
    }
    /// Read plus written bytes: the storage model's input.
    public var totalBytes: UInt64 { readBytes &+ writeBytes }
}

/// Why a cgroup file could not be used. Every case names the file or directory.
public enum CGroupReadError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The cgroup directory does not exist (never created, or removed: a vanished cgroup).
    case cgroupMissing(path: String)
    /// The cgroup exists but this file does not (controller not enabled, older kernel).
    case fileMissing(path: String)
    /// The file exists but its content is not what the kernel writes.
    case malformed(path: String, detail: String)
    /// Any other failure to read (permissions, I/O), with errno's text.
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .cgroupMissing(let p): return "cgroup \(p): no such cgroup (not created yet, or removed)"
        case .fileMissing(let p): return "cgroup file \(p): missing (controller not enabled?)"
        case .malformed(let p, let d): return "cgroup file \(p): \(d)"
        case .unreadable(let p, let r): return "cgroup file \(p): cannot read: \(r)"
        }
    }

    public var path: String {
        switch self {
        case .cgroupMissing(let p), .fileMissing(let p), .malformed(let p, _), .unreadable(let p, _): return p
        }
    }
}

/// Pure parsers for the cgroup v2 interface files. `path` is only used in error messages.
public enum CGroupParse {
    /// A flat-keyed file (`cpu.stat`, `memory.stat`): one `key value` pair per line.
    public static func flatKeyed(_ text: String, path: String) throws -> [String: UInt64] {
        var result: [String: UInt64] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(rawLine).trimmingWhitespace()
            if line.isEmpty { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2 else {
                throw CGroupReadError.malformed(path: path, detail: "line \(number + 1) '\(clip(line))': expected 'key value'")
            }
            guard let value = UInt64(parts[1]) else {
                throw CGroupReadError.malformed(path: path, detail: "line \(number + 1) '\(clip(line))': '\(clip(String(parts[1])))' is not a non-negative integer")
            }
            result[String(parts[0])] = value
        }
        return result
    }

    /// `usage_usec` from `cpu.stat`: total CPU time used by the cgroup and its descendants, µs.
    public static func cpuUsageUsec(_ text: String, path: String) throws -> UInt64 {
        let keys = try flatKeyed(text, path: path)
        guard let usage = keys["usage_usec"] else {
            throw CGroupReadError.malformed(path: path, detail: "no usage_usec line")
        }
        return usage
    }

    /// A single-value limit file (`memory.max`, `memory.high`): a byte count or `max`.
    public static func limit(_ text: String, path: String) throws -> CGroupLimit {
        let value = text.trimmingWhitespace()
        if value == "max" { return .max }
        guard let bytes = UInt64(value) else {
            throw CGroupReadError.malformed(path: path, detail: "'\(clip(value))' is neither a byte count nor 'max'")
        }
        return .bytes(bytes)
    }

    /// A single unsigned integer (`memory.current`).
    public static func integer(_ text: String, path: String) throws -> UInt64 {
        let value = text.trimmingWhitespace()
        guard let number = UInt64(value) else {
            throw CGroupReadError.malformed(path: path, detail: "'\(clip(value))' is not a non-negative integer")
        }
        return number
    }

    /// `io.stat`: lines `MAJ:MIN rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…`, summed over devices.
    /// Unknown keys are ignored (kernels add keys); an empty file means no I/O yet.
    public static func ioStat(_ text: String, path: String) throws -> CGroupIOStat {
        var stat = CGroupIOStat()
        for (number, rawLine) in text.split(separator: "\n").enumerated() {
            let line = String(rawLine).trimmingWhitespace()
            if line.isEmpty { continue }
            let fields = line.split(separator: " ")
            guard let device = fields.first, device.contains(":") else {
                throw CGroupReadError.malformed(path: path, detail: "line \(number + 1) '\(clip(line))': expected 'MAJ:MIN key=value …'")
            }
            for field in fields.dropFirst() {
                let kv = field.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let value = UInt64(kv[1]) else {
                    throw CGroupReadError.malformed(path: path, detail: "line \(number + 1): '\(clip(String(field)))' is not key=integer")
                }
                switch kv[0] {
                case "rbytes": stat.readBytes &+= value
                case "wbytes": stat.writeBytes &+= value
                case "rios": stat.readOps &+= value
                case "wios": stat.writeOps &+= value
                default: break
                }
            }
        }
        return stat
    }

    /// `/proc/<pid>/cgroup` (or `/proc/self/cgroup`): the cgroup v2 path (the `0::` line), or nil when
    /// the process is only in v1 hierarchies.
    public static func unifiedCGroupPath(fromProcCGroup text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            return String(line.dropFirst(3))
        }
        return nil
    }

    /// Shortened, with control characters and invalid bytes shown as `?` (errors stay one readable line).
    static func clip(_ s: String) -> String {
        let printable = String(s.unicodeScalars.map { ($0.value < 0x20 || $0.value == 0x7F || $0 == "\u{FFFD}") ? "?" : Character($0) })
        return printable.count > 60 ? String(printable.prefix(57)) + "..." : printable
    }
}
