import Glibc

/// Whole-file text I/O and directory listing over POSIX calls, for the recording chain, which does
/// not link Foundation (see `String(cFormat:_:)`). Every error names the path and the system's reason.
public enum TextFile {
    /// The bytes of the regular file at `path`. Errors say what the path is when it is not a file (a
    /// directory, a FIFO, a device: a FIFO would block the reader forever) and give the system's
    /// reason otherwise: "no such file", "Permission denied".
    public static func readRegularFile(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw VraplError(errno == ENOENT ? "no such file" : "cannot read: \(systemReason())")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw VraplError("is a directory, not a file")
        case S_IFIFO: throw VraplError("is a FIFO, not a regular file")
        case S_IFCHR, S_IFBLK: throw VraplError("is a device, not a regular file")
        default: throw VraplError("is not a regular file")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VraplError("cannot read: \(systemReason())") }
        defer { close(fd) }
        return try readAll(fd, sizeHint: Int(info.st_size), what: "cannot read")
    }

    /// Everything `fd` gives until end of file, retrying EINTR; errors read "WHAT: reason".
    static func readAll(_ fd: Int32, sizeHint: Int, what: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: max(4096, sizeHint + 1))
        var filled = 0
        while true {
            if filled == bytes.count { bytes.append(contentsOf: [UInt8](repeating: 0, count: bytes.count)) }
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VraplError("\(what): \(systemReason())")
            }
            if n == 0 { break }
            filled += n
        }
        bytes.removeSubrange(filled...)
        return bytes
    }

    /// A failed system call's errno.
    public struct SystemError: Error, Equatable, Sendable {
        public let code: Int32
        public var reason: String { String(cString: strerror(code)) }
    }

    /// A small kernel file (`/proc`, `/sys`, cgroupfs) as UTF-8, at most `limit` bytes, or the errno
    /// of the failure, for readers that tell a vanished file (ENOENT, ENODEV) from an unreadable one.
    public static func readSmall(_ path: String, limit: Int = 1 << 20) -> Result<String, SystemError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(SystemError(code: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4096) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError(code: errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return .success(String(decoding: bytes, as: UTF8.self))
    }

    /// The contents of `path` as UTF-8 (invalid bytes become U+FFFD).
    public static func read(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw VraplError("cannot read \(path): \(systemReason())") }
        defer { close(fd) }
        return String(decoding: try readAll(fd, sizeHint: 0, what: "cannot read \(path)"), as: UTF8.self)
    }

    /// Writes `text` to `path` through a hidden temporary file in the same directory
    /// (`.<name>.tmp-XXXXXX`, which globs such as node_exporter's `*.prom` skip) and a rename, so
    /// readers see the old file or the new one, never a part. For files vrapl owns (a textfile, a
    /// state file, a CSV export); a path the user names as a stream goes through `writeStream`.
    ///
    /// The temporary name is unpredictable and created with `mkstemp` (`O_CREAT | O_EXCL`, so an
    /// existing name or a planted symbolic link is never opened); the file ends up mode 0644, and
    /// `rename` replaces the name itself, never a symbolic link's target.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let name = lastComponent(path)
        let directory = path.hasSuffix("/" + name) ? String(path.dropLast(name.utf8.count)) : ""
        var template = Array((directory + "." + name + ".tmp-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw VraplError("cannot write \(path): \(systemReason())") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        do {
            guard fchmod(fd, 0o644) == 0 else { throw VraplError("cannot write \(path): \(systemReason())") }
            try writeAll(Array(text.utf8), to: fd, what: "cannot write \(path)")
        } catch {
            close(fd); unlink(temporary)
            throw error
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

    /// Opens `path` for writing as the user named it: an existing file is truncated and written in
    /// place, so a FIFO, a device (`/dev/stdout`, `/dev/full`) or a symbolic link the user chose gets
    /// the bytes instead of being replaced by a new regular file; a missing file is created 0644.
    /// A symbolic link owned by another user (other than root) is refused, as the kernel's
    /// `protected_symlinks` would in a sticky directory, so a root run never writes through a link
    /// someone else planted. Returns a descriptor the caller closes.
    /// Errors read "cannot write PATH: reason", or "OPTION PATH: reason" when `option` names the flag.
    public static func openStream(_ path: String, option: String? = nil) throws -> Int32 {
        let what = option.map { "\($0) \(path)" } ?? "cannot write \(path)"
        var info = stat()
        if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK, info.st_uid != 0, info.st_uid != geteuid() {
            throw VraplError("\(what): refusing to write through a symbolic link owned by uid \(info.st_uid)")
        }
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw VraplError("\(what): is a directory")
        }
        while true {
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw VraplError("\(what): \(systemReason())")
        }
    }

    /// Writes `text` to `path` in place (`openStream`'s rules), checking every write and the close.
    public static func writeStream(_ text: String, to path: String, option: String? = nil) throws {
        let fd = try openStream(path, option: option)
        let what = option.map { "\($0) \(path): cannot write" } ?? "cannot write \(path)"
        do {
            try writeAll(Array(text.utf8), to: fd, what: what)
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw VraplError("\(what): \(systemReason())") }
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR; errors read "WHAT: reason".
    public static func writeAll(_ bytes: [UInt8], to fd: Int32, what: String) throws {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n == 0 ? "no space left (write returned 0)" : systemReason()
                throw VraplError("\(what): \(reason)")
            }
            written += n
        }
    }

    /// Creates `path` and its missing parents (mode 0755 less the umask), like `mkdir -p`.
    public static func createDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw VraplError("cannot create directory \(prefix): \(systemReason())")
            }
        }
        guard isDirectory(path) else { throw VraplError("cannot create directory \(path): a file of that name exists") }
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

    public static func systemReason() -> String { String(cString: strerror(errno)) }
}
