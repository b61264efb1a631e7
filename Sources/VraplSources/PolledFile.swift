#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VraplCore

/// A file that is opened once and re-read from offset 0 on every tick with `pread` into a buffer
/// allocated up front, so the steady-state sampling loop makes no allocation and no `open`/`close`.
///
/// procfs and sysfs regenerate the whole text on every read from offset 0. Files produced by one
/// `show` call (/proc/stat is a `single_open` seq_file; every sysfs attribute, such as `energy_uj`)
/// hand out all of it in one `read` when the buffer is larger, so a short read means the end
/// (`oneShot: true`: one syscall per tick). Iterating seq_files (/proc/vmstat) fill at most one page per
/// call, so for them reads repeat until one returns 0 bytes (`oneShot: false`). Regular files (fixture
/// trees) behave correctly either way. The buffer grows (an allocation) only when a file outgrows it.
public final class PolledFile {
    /// The path as opened; every error names it.
    public let path: String
    private let fd: Int32
    private var storage: UnsafeMutableRawBufferPointer
    /// Whether a read shorter than the buffer is known to be the whole file.
    public let oneShot: Bool

    /// Opens `path` read-only. Throws a `VraplError` naming the path and the reason.
    public init(path: String, capacity: Int = 16 * 1024, oneShot: Bool = false) throws {
        self.path = path
        self.oneShot = oneShot
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PolledFile.openError(path: path, errno: errno) }
        self.fd = fd
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(capacity, 16), alignment: 8)
    }

    deinit {
        close(fd)
        storage.deallocate()
    }

    /// The open descriptor, for a reader outside Swift that preads it from offset 0 (the batched guest's
    /// C tick loop: one `pread` per tick, which is the whole file for a `oneShot` one). Closed with `self`.
    public var descriptor: Int32 { fd }

    /// Current buffer size in bytes.
    public var capacity: Int { storage.count }

    /// Reads the whole file from offset 0 and calls `body` with its bytes. The bytes are only valid
    /// inside `body` (they live in the reused buffer).
    @inline(__always)
    public func withContents<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let count = try readAll()
        return try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<count]))
    }

    /// Reads at most the first `limit` bytes (one `pread`) and calls `body` with them. The text may
    /// end inside a line. Generated files only format what is read, so for /proc/vmstat this skips
    /// the kernel's work for every line after the prefix.
    @inline(__always)
    public func withPrefix<R>(limit: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        while storage.count < limit { grow() }
        var n: Int
        repeat {
            n = pread(fd, storage.baseAddress, limit, 0)
        } while n < 0 && errno == EINTR
        if n < 0 { throw PolledFile.readError(path: path, errno: errno) }
        return try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<n]))
    }

    /// Reads the file from offset 0 into a caller's `buffer` (not the reused one), as `withContents`
    /// does but without growing: returns the byte count, and a count equal to `buffer.count` means the
    /// file may be longer than the buffer (the caller grows it and reads again).
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try fill(buffer, from: 0)
    }

    /// Reads the file into the buffer; returns the byte count.
    private func readAll() throws -> Int {
        var total = 0
        while true {
            total = try fill(storage, from: total)
            if total < storage.count { return total }
            grow()
        }
    }

    /// Reads from file offset `offset` into `buffer[offset...]` until the buffer is full, the file
    /// ends, or (`oneShot`) after one read; returns the bytes now in the buffer.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int) throws -> Int {
        guard let start = buffer.baseAddress else { return 0 }
        var total = offset
        while total < buffer.count {
            let n = pread(fd, start + total, buffer.count - total, off_t(total))
            if n < 0 {
                if errno == EINTR { continue }
                throw PolledFile.readError(path: path, errno: errno)
            }
            if n == 0 { break }
            total += n
            if oneShot { break }
        }
        return total
    }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 8)
        bigger.copyMemory(from: UnsafeRawBufferPointer(storage))
        storage.deallocate()
        storage = bigger
    }

    /// The message for a failed `open`. EACCES on a powercap `energy_uj` gets the Linux 5.10 note.
    public static func openError(path: String, errno code: Int32) -> VraplError {
        let reason = String(cString: strerror(code))
        if code == EACCES || code == EPERM {
            if path.hasSuffix("energy_uj") {
                return VraplError("cannot read \(path): \(reason). Since Linux 5.10 (CVE-2020-8694, Platypus) energy_uj is readable by root only: run as root, or make it readable, e.g. `chmod o+r \(path)` or a udev rule such as SUBSYSTEM==\"powercap\", ACTION==\"add\", RUN+=\"/bin/chmod o+r /sys%p/energy_uj\"")
            }
            return VraplError("cannot read \(path): \(reason) (check the file's permissions)")
        }
        return VraplError("cannot open \(path): \(reason)")
    }

    static func readError(path: String, errno code: Int32) -> VraplError {
        if code == EACCES || code == EPERM { return openError(path: path, errno: code) }
        return VraplError("cannot read \(path): \(String(cString: strerror(code)))")
    }
}
