import Foundation
import Glibc
import Testing
import VraplTestSupport
@testable import VraplCore

/// Files vrapl owns are replaced atomically without following planted links; paths the user names
/// as streams are written in place; state lives in directories nobody else controls.
@Suite struct FileSafetyTests {

    static func contents(_ path: String) -> String? { try? TextFile.read(path) }

    @Test func atomicWriteNeverOpensAPlantedLink() throws {
        let dir = try Scratch.path()
        let victim = dir + "/victim.conf"
        try TextFile.writeAtomically("secret\n", to: victim)
        // The old writer's predictable temporary names, for this pid and the next ones.
        for pid in getpid()..<(getpid() + 50) {
            symlink(victim, dir + "/.state.json.tmp-\(pid)")
        }
        try TextFile.writeAtomically("{\"family\":\"idle\"}\n", to: dir + "/state.json")
        #expect(Self.contents(victim) == "secret\n")
        #expect(Self.contents(dir + "/state.json") == "{\"family\":\"idle\"}\n")
        var info = stat()
        #expect(stat(dir + "/state.json", &info) == 0 && info.st_mode & 0o777 == 0o644)
        // No temporary file is left beside it (only the 50 planted links, the victim and the result).
        #expect(try TextFile.directoryEntries(dir).count == 52)
    }

    @Test func atomicWriteReplacesALinkNotItsTarget() throws {
        let dir = try Scratch.path()
        try TextFile.writeAtomically("target\n", to: dir + "/target")
        symlink(dir + "/target", dir + "/out.prom")
        try TextFile.writeAtomically("new\n", to: dir + "/out.prom")
        #expect(Self.contents(dir + "/target") == "target\n")
        #expect(Self.contents(dir + "/out.prom") == "new\n")
    }

    @Test func streamsAreWrittenInPlace() throws {
        let dir = try Scratch.path()
        // A symbolic link of our own: written through, stays a link.
        try TextFile.writeAtomically("old old old\n", to: dir + "/real.jsonl")
        symlink(dir + "/real.jsonl", dir + "/link.jsonl")
        try TextFile.writeStream("new\n", to: dir + "/link.jsonl")
        #expect(Self.contents(dir + "/real.jsonl") == "new\n")
        var info = stat()
        #expect(lstat(dir + "/link.jsonl", &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)
        // A device: /dev/full stays a character device, and the error says why and where.
        #expect(throws: VraplError.self) { try TextFile.writeStream("x\n", to: "/dev/full") }
        do { try TextFile.writeStream("x\n", to: "/dev/full") } catch {
            #expect("\(error)".contains("/dev/full") && "\(error)".contains("No space left"), "\(error)")
        }
        #expect(stat("/dev/full", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        // /dev/null is written, not replaced.
        try TextFile.writeStream("discarded\n", to: "/dev/null")
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        // A directory is an error, not a crash.
        #expect(throws: VraplError.self) { try TextFile.writeStream("x\n", to: dir) }
    }

    @Test func aFIFOReceivesTheStream() throws {
        let dir = try Scratch.path()
        let fifo = dir + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        final class Box: @unchecked Sendable { var text = "" }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            box.text = (try? TextFile.read(fifo)) ?? "read failed"
            done.signal()
        }
        try TextFile.writeStream("line 1\nline 2\n", to: fifo)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(box.text == "line 1\nline 2\n")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test func privateDirectoryIsCreated0700AndChecked() throws {
        let dir = try Scratch.path()
        try PrivateDirectory.ensure(dir + "/a/b")
        var info = stat()
        #expect(stat(dir + "/a/b", &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(stat(dir + "/a", &info) == 0 && info.st_mode & 0o777 == 0o700)
        // Writable by others and not sticky: refused, naming the directory and the mode.
        chmod(dir + "/a/b", 0o777)
        #expect { try PrivateDirectory.ensure(dir + "/a/b") } throws: { "\($0)".contains("writable by other users (mode 777)") }
        chmod(dir + "/a/b", 0o700)
        // A symbolic link is resolved: a link to a group-writable directory is refused too.
        try FileManager.default.createDirectory(atPath: dir + "/open", withIntermediateDirectories: false)
        chmod(dir + "/open", 0o770)
        symlink(dir + "/open", dir + "/link")
        #expect { try PrivateDirectory.ensure(dir + "/link") } throws: { "\($0)".contains("/open") }
        // A sticky world-writable directory (like /tmp) is fine.
        chmod(dir + "/open", 0o1777)
        try PrivateDirectory.ensure(dir + "/link")
    }

    @Test func runtimeDirectoryFollowsXDG() throws {
        let dir = try Scratch.path()
        let old = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) }
        setenv("XDG_RUNTIME_DIR", dir, 1)
        defer { if let old { setenv("XDG_RUNTIME_DIR", old, 1) } else { unsetenv("XDG_RUNTIME_DIR") } }
        #expect(PrivateDirectory.runtimeDirectory() == dir + "/vrapl")
        setenv("XDG_RUNTIME_DIR", dir + "/absent", 1)
        if geteuid() == 0 {
            #expect(PrivateDirectory.runtimeDirectory() == "/run/vrapl")
        } else {
            #expect(!PrivateDirectory.runtimeDirectory().hasPrefix("/tmp/"))
        }
    }

    /// The probe's attack, as root: an unprivileged user owns the directory the state goes to.
    @Test(.enabled(if: getuid() == 0, "needs root to hand a directory to another user"))
    func directoryOwnedByAnotherUserIsRefused() throws {
        let dir = try Scratch.path()
        let victim = dir + "/important.conf"
        try TextFile.writeAtomically("root only\n", to: victim)
        chmod(victim, 0o600)
        let evil = dir + "/vrapl-campaign"
        try PrivateDirectory.ensure(evil)
        #expect(chown(evil, 65534, 65534) == 0)
        chmod(evil, 0o755)
        #expect { try PrivateDirectory.ensure(evil) } throws: { "\($0)".contains("owned by uid 65534") }
        #expect(Self.contents(victim) == "root only\n")
        // A stream path through another user's symbolic link is refused as well.
        symlink(victim, dir + "/out.jsonl")
        #expect(lchown(dir + "/out.jsonl", 65534, 65534) == 0)
        #expect { try TextFile.writeStream("x\n", to: dir + "/out.jsonl") } throws: { "\($0)".contains("symbolic link owned by uid 65534") }
        #expect(Self.contents(victim) == "root only\n")
    }
}

@Suite struct ReadRetryTests {
    struct Flaky: Error, CustomStringConvertible { var description: String { "/proc/stat: truncated read" } }

    @Test func transientFailuresAreRetriedOrSkippedAndCounted() throws {
        var retry = ReadRetry(limit: 3)
        var calls = 0
        // Fails once, then succeeds: retried, the tick has data.
        #expect(try retry.attempt { calls += 1; if calls == 1 { throw Flaky() } })
        #expect(retry.retriedReads == 1 && retry.skippedTicks == 0)
        // Fails twice: the tick is skipped.
        #expect(try !retry.attempt { throw Flaky() })
        #expect(try !retry.attempt { throw Flaky() })
        #expect(retry.skippedTicks == 2)
        // A good tick resets the run of failures.
        #expect(try retry.attempt {})
        #expect(try !retry.attempt { throw Flaky() })
        #expect(try !retry.attempt { throw Flaky() })
        // The third failed tick in a row is persistent: the error names the source and the counts.
        #expect { _ = try retry.attempt { throw Flaky() } } throws: {
            "\($0)" == "/proc/stat: truncated read (3 samples in a row could not be read; 5 skipped in all)"
        }
    }

    @Test func limitFollowsTheInterval() {
        #expect(ReadRetry(intervalNs: 16_000_000).limit == 62)
        #expect(ReadRetry(intervalNs: 1_000_000_000).limit == 3)
    }
}
