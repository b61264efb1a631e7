#if canImport(Glibc)
import Glibc
#endif

/// Runs a program and collects what it writes to stdout (stderr goes to /dev/null), over
/// `posix_spawnp` and a pipe, for readers that ask a tool (`nvidia-smi`) instead of a file. No
/// Foundation, so the recording chain can link it.
public enum ProgramOutput {
    /// `program` is looked up on PATH unless it contains a `/`. Throws when it cannot start, and
    /// when it exits with a non-zero status (the error names the command and the status).
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        let (status, output) = try capture(program, arguments, mergeStderr: false)
        guard status == 0 else {
            let how = status > 0 ? "exit status \(status)" : "killed by signal \(-status)"
            throw VraplError("\(([program] + arguments).joined(separator: " ")): \(how)")
        }
        return output
    }

    /// Runs `program` and returns its exit status (−signal when a signal ended it) and its stdout,
    /// with stderr too in the order written when `mergeStderr` (else stderr goes to /dev/null).
    /// Throws only when it cannot start.
    public static func capture(_ program: String, _ arguments: [String], mergeStderr: Bool) throws -> (status: Int32, output: String) {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw VraplError("\(program): cannot create a pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (pipeFDs[0], pipeFDs[1])
        // Close-on-exec, so that a child another thread starts does not keep our write end open (the
        // read below would then wait for that child too); dup2 gives our child plain copies. (Swift's
        // Glibc module lacks pipe2.)
        for fd in [readEnd, writeEnd] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        if mergeStderr {
            posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // Nothing else of ours reaches the child: another thread may hold a descriptor that is not
        // close-on-exec yet (HDF5 opens a trace, then we set FD_CLOEXEC), and a child holding a trace's
        // descriptor holds its lock. Foundation's Process closes them the same way.
        closeInheritedDescriptors(&actions)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        // ETXTBSY: a file just written is still open for writing in a child that another thread
        // forked and has not exec'd yet; it clears within milliseconds.
        var spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        for _ in 0..<50 where spawned == ETXTBSY {
            usleep(2_000)
            spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        }
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            throw VraplError("\(program): cannot start: \(String(cString: strerror(spawned)))")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, 4096) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return (signal == 0 ? (status >> 8) & 0xff : -signal, String(decoding: bytes, as: UTF8.self))
    }

    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// Adds "close every descriptor from 3 up" to `actions`: glibc's `posix_spawn_file_actions_addclosefrom_np`
    /// (2.34+, looked up at run time because Swift's Glibc module does not declare it), else one close
    /// per descriptor open now (`/proc/self/fd`; a descriptor gone by then is ignored by glibc). Runs
    /// after the `dup2`s, so the pipe ends close too once they are stdout and stderr.
    static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, 3) == 0 { return }
        }
        for name in (try? TextFile.directoryEntries("/proc/self/fd")) ?? [] {
            guard let fd = Int32(name), fd > 2 else { continue }
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }
}
