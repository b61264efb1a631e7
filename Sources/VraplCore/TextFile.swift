import Glibc

/// Whole-file text I/O and directory listing over POSIX calls, for the recording chain, which does
/// not link Foundation (see `String(cFormat:_:)`). Every error names the path and the system's reason.
public enum TextFile {
    /// The contents of `path` as UTF-8 (invalid bytes become U+FFFD).
    public static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VraplError("cannot read \(path): \(systemReason())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VraplError("cannot read \(path): \(systemReason())")
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `text` to `path` through a hidden temporary file in the same directory
    /// (`.<name>.tmp-<pid>`, which globs such as node_exporter's `*.prom` skip) and a rename, so
    /// readers see the old file or the new one, never a part. The project's one atomic text writer.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let name = lastComponent(path)
        let directory = path.hasSuffix("/" + name) ? String(path.dropLast(name.utf8.count)) : ""
        let temporary = directory + "." + name + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VraplError("cannot write \(path): \(systemReason())") }
        let utf8 = Array(text.utf8)
        var written = 0
        while written < utf8.count {
            let n = utf8.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n == 0 ? "no space left (write returned 0)" : systemReason()
                close(fd); unlink(temporary)
                throw VraplError("cannot write \(path): \(reason)")
            }
            written += n
        }
        guard close(fd) == 0 else {
            let reason = systemReason()
            unlink(temporary)
            throw VraplError("cannot write \(path): \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = systemReason()
            unlink(temporary)
            throw VraplError("cannot write \(path): \(reason)")
        }
    }

    /// Whether `path` exists (following symbolic links).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Whether `path` is a directory (following symbolic links).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in directory `path` without `.` and `..`, in no particular order.
    public static func directoryEntries(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw VraplError("cannot list \(path): \(systemReason())") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The last path component (`/a/b/c.csv` → `c.csv`).
    public static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        let name = trimmed[trimmed.index(after: slash)...]
        return name.isEmpty ? String(trimmed) : String(name)
    }

    static func systemReason() -> String { String(cString: strerror(errno)) }
}
