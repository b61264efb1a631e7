import Foundation
import Glibc
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplCollect

/// A full disk, as the reliability probe made it: a small tmpfs (mounting needs root, which CI has).
/// The collector must exit 1 with a message, never crash, and leave a trace that h5py opens with every
/// flushed sample.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root (CI runs as root)"))
struct FullDiskTests {
    /// A tmpfs of `kib` KiB in a fresh temporary directory; `body` runs with its path, then it is unmounted.
    static func withTmpfs(kib: Int, _ body: (String) throws -> Void) throws {
        let dir = try Scratch.directory("tmpfs-\(kib)")
        let mount = try ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kib)k,mode=0700", "tmpfs", dir.path])
        try #require(mount.status == 0, "mount failed: \(mount.output)")
        defer { _ = try? ChildProcess.run("/bin/umount", ["-l", dir.path]) }
        try body(dir.path)
    }

    /// Writes zeros into `path` until the filesystem refuses (ENOSPC). Returns the bytes written.
    @discardableResult
    static func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 4096)
        var total = 0
        while true {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            total += n
        }
        return total
    }

    static func waitForExit(_ p: Process, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning {
            Issue.record("vrapl-collect still running \(seconds) s after the disk filled")
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
    }

    @Test func diskFillingMidRecordingStopsWithEveryFlushedSample() throws {
        try Self.withTmpfs(kib: 6144) { mount in
            let out = mount + "/full.h5"
            let (p, _, e) = try CollectorProcessTests.start(out: out, flushInterval: "250ms")
            usleep(1_200_000)
            Self.fill(mount + "/filler")
            Self.waitForExit(p, seconds: 10)
            let stderr = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationReason == .exit, "killed by a signal: \(stderr)")
            #expect(p.terminationStatus == 1, "\(stderr)")
            #expect(stderr.contains("disk is full") && stderr.contains(out), "\(stderr)")
            #expect(stderr.split(separator: "\n").count == 1, "one line: \(stderr)")
            let words = stderr.split(whereSeparator: { $0 == " " || $0 == "\n" })
            let printed = words.firstIndex(of: "samples").map { words[$0 - 1] }
            let trace = try TraceReader.read(out)
            #expect(trace.sampleCount >= 40, "only \(trace.sampleCount) samples before the disk filled")
            #expect(printed.flatMap { Int($0) } == trace.sampleCount, "\(stderr)")
            #expect(trace.rapl[0].energyUj.count == trace.sampleCount && trace.contextSwitches.count == trace.sampleCount)
            let h5py = try ChildProcess.run("/usr/bin/env", ["python3", "-c",
                "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(len(f['timestamp_monotonic_ns']))", out])
            #expect(h5py.status == 0, "\(h5py.output)")
            #expect(h5py.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(trace.sampleCount)")
        }
    }

    @Test func diskAlreadyFullIsRefusedBeforeAnyFile() throws {
        try Self.withTmpfs(kib: 2048) { mount in
            // The probe's case: about 450 KiB left, less than the first flush needs.
            let filler = open(mount + "/filler", O_WRONLY | O_CREAT | O_EXCL, 0o600)
            #expect(posix_fallocate(filler, 0, 1600 * 1024) == 0)
            close(filler)
            let p = Process()
            p.executableURL = try CollectorProcessTests.collectorBinary()
            p.arguments = ["--out", mount + "/x.h5", "--power-source", "sim", "--duration", "3s", "--no-status"]
            let e = Pipe()
            p.standardError = e
            p.standardOutput = Pipe()
            try p.run()
            Self.waitForExit(p, seconds: 10)
            let stderr = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationReason == .exit, "killed by a signal: \(stderr)")
            #expect(p.terminationStatus == 1)
            #expect(stderr.contains("not enough free space in \(mount)"), "\(stderr)")
            // Nothing half-written is left, and the reserve file is gone with the process.
            #expect(try TextFile.directoryEntries(mount).sorted() == ["filler"])
        }
    }

    /// Without a reserve a flush meets ENOSPC inside HDF5: the writer throws (never crashes, also not at
    /// process exit, where HDF5's own atexit close used to dereference the half-closed file), and
    /// every later call throws the same error.
    @Test func flushIntoAFullDiskWithoutReserveThrows() throws {
        try Self.withTmpfs(kib: 1024) { mount in
            let path = mount + "/noreserve.h5"
            var metadata = TraceMetadata()
            metadata.sampleIntervalNs = 16_000_000
            let writer = try TraceWriter(path: path, metadata: metadata, vmstatNames: ["pgfault", "pgmajfault", "pswpin", "pswpout"],
                                         raplZones: [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: 1 << 40)],
                                         options: .init(flushIntervalNs: 1, chunkRows: 4096, reserveBytes: 0))
            Self.fill(mount + "/filler")
            var stat = ProcStatSnapshot()
            var failed = false
            for k in 0..<200 where !failed {
                stat.cpu.user = UInt64(k)
                do {
                    try writer.append(monotonicNs: UInt64(k) * 16_000_000, wallClockNs: 0, stat: stat,
                                      vmstat: [0, 0, 0, 0], energyUj: [UInt64(k)])
                } catch {
                    failed = true
                    #expect("\(error)".contains(path), "\(error)")
                    #expect(!"\(error)".contains("\n"), "one line: \(error)")
                }
            }
            #expect(failed, "200 flushes into a full 1 MiB tmpfs all succeeded")
            #expect(throws: (any Error).self) { try writer.close() }
        }
    }
}
