import Glibc

/// Disk space held back for the last writes of a recording, so that a full disk never hits a writer
/// (HDF5 in particular) in the middle of a flush, where it can leave a file nothing can open.
///
/// The reserve is an anonymous file in the output's directory: created with `mkstemp` (`O_EXCL`,
/// mode 0600), unlinked at once, and given `bytes` of real blocks with `posix_fallocate`. Nothing is
/// left behind on any exit, SIGKILL included: the kernel frees the blocks when the descriptor closes.
/// A writer asks `shouldRelease()` before each flush; once the free space of the filesystem falls
/// below the reserve, it releases the reserve, makes its last flush into that room, closes the file
/// and stops with an error saying so.
public final class DiskReserve {
    /// The directory whose filesystem the reserve sits on.
    public let directory: String
    /// Bytes held while the reserve is held.
    public let bytes: Int
    private var fd: Int32

    /// Holds `bytes` of space on the filesystem of `directory`.
    /// - Throws: a `VraplError` naming the directory when the space is not there (ENOSPC, EDQUOT) or
    ///   the directory cannot take a file.
    public init(directory: String, bytes: Int) throws {
        self.directory = directory
        self.bytes = bytes
        var template = Array((directory.isEmpty ? "." : directory).utf8CString.dropLast()) + Array("/.vrapl-reserve-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else {
            throw VraplError("cannot write in \(directory.isEmpty ? "." : directory): \(String(cString: strerror(errno)))")
        }
        let name = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        unlink(name)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        fd = descriptor
        let status = posix_fallocate(descriptor, 0, off_t(bytes))
        if status == ENOSPC || status == EDQUOT {
            close(descriptor)
            fd = -1
            throw VraplError("not enough free space in \(directory.isEmpty ? "." : directory): a recording needs at least "
                             + "\(bytes / 1024) KiB free for its last flush")
        }
        // Other failures (a filesystem without fallocate support): record without a reserve.
        if status != 0 { close(descriptor); fd = -1 }
    }

    deinit { release() }

    /// Whether the reserve still holds its space.
    public var isHeld: Bool { fd >= 0 }

    /// Bytes an unprivileged writer can still use on the reserve's filesystem (nil when unknown).
    public func availableBytes() -> Int? {
        guard fd >= 0 else { return nil }
        var info = statvfs()
        guard fstatvfs(fd, &info) == 0 else { return nil }
        let available = UInt64(info.f_bavail) &* UInt64(info.f_frsize)
        return Int(clamping: available)
    }

    /// True, once, when the filesystem has less free space than the reserve: the reserve is then
    /// released and the caller should make its last flush and stop.
    public func shouldRelease() -> Bool {
        guard let available = availableBytes(), available < bytes else { return false }
        release()
        return true
    }

    /// Gives the space back.
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}
