import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplTrace
@testable import VraplCollect

/// Runs the built `vrapl-collect` as a child process: signals, crash safety.
@Suite struct CollectorProcessTests {
    /// The `vrapl-collect` binary next to the test bundle (`.build/<triple>/debug`), or under `.build/debug`.
    static func collectorBinary() throws -> URL {
        var candidates = [Bundle.main.bundleURL.appendingPathComponent("vrapl-collect"),
                          Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("vrapl-collect")]
        if let exe = Bundle.main.executableURL {
            candidates.append(exe.deletingLastPathComponent().appendingPathComponent("vrapl-collect"))
        }
        let root = CollectFixtures.testsDir.deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/vrapl-collect"))
        candidates.append(root.appendingPathComponent(".build/release/vrapl-collect"))
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw VraplError("vrapl-collect not built (looked in \(candidates.map(\.path))): run `swift build --build-tests` first")
        }
        return found
    }

    struct Child {
        let process: Process
        let stdout: Pipe
        let stderr: Pipe
        let output: String
    }

    /// Starts the collector on the sim source against this machine's /proc and waits for its file.
    static func start(out: String, flushInterval: String, status: Bool = false) throws -> (Process, Pipe, Pipe) {
        let p = Process()
        p.executableURL = try collectorBinary()
        p.arguments = ["--out", out, "--interval", "16ms", "--power-source", "sim", "--flush-interval", flushInterval,
                       status ? "--status" : "--no-status", "--label", "test=process"]
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: out) {
            guard p.isRunning, Date() < deadline else {
                let err = String(decoding: e.fileHandleForReading.availableData, as: UTF8.self)
                throw VraplError("vrapl-collect did not create \(out): \(err)")
            }
            usleep(5_000)
        }
        return (p, o, e)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalFlushesAndCloses(signal: Int32) throws {
        let out = try Scratch.file("signal.h5")
        // A 60 s flush interval: only the final flush on the signal can put the samples in the file.
        // SIGINT runs with the status line forced on (it is redrawn once a second).
        let (p, o, e) = try Self.start(out: out, flushInterval: "60s", status: signal == SIGINT)
        usleep(signal == SIGINT ? 1_300_000 : 800_000)
        kill(p.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning, Date() < deadline { usleep(10_000) }
        if p.isRunning {
            Issue.record("vrapl-collect ignored signal \(signal) for 10 s")
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
        let stdout = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationReason == .exit)
        #expect(p.terminationStatus == 0, "\(stderr)")
        #expect(stdout.contains(signal == SIGTERM ? "stopped by SIGTERM" : "stopped by SIGINT"), "\(stdout)")
        #expect(stdout.contains("interval p50"))
        #expect(stdout.contains(out))
        let printed = stdout.split(separator: "\n").first { $0.hasPrefix("samples ") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) }
        let trace = try TraceReader.read(out)
        #expect(trace.sampleCount == printed)
        #expect(trace.sampleCount >= 20)
        #expect(trace.metadata.labels["test"] == "process")
        #expect(trace.metadata.powerSource.description == "sim:basic")
        if signal == SIGINT {
            #expect(stderr.contains(" samples  missed 0") || stderr.contains(" samples  missed"), "\(stderr)")
            #expect(stderr.contains("package ") && stderr.contains(" W"), "\(stderr)")
        } else {
            #expect(!stderr.contains("samples  missed"))
        }
        // h5dump (hdf5-tools) reads the header of a collector trace.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/h5dump") {
            let (status, header) = try ChildProcess.run("/usr/bin/h5dump", ["-H", out])
            #expect(status == 0, "\(header)")
            for name in ["\"power_source\"", "\"timestamp_monotonic_ns\"", "\"cpu_guest_nice\"", "\"energy_uj\"", "\"pgmajfault\""] {
                #expect(header.contains(name), "h5dump -H lacks \(name)")
            }
        }
    }

    @Test func sigkillLeavesEverythingUpToTheLastFlush() throws {
        let out = try Scratch.file("killed.h5")
        let flushNs: UInt64 = 500_000_000, intervalNs: UInt64 = 16_000_000
        let (p, _, _) = try Self.start(out: out, flushInterval: "500ms")
        usleep(2_000_000)
        let killNs = SampleClock.monotonicNs()
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)

        let trace = try TraceReader.read(out)
        let first = try #require(trace.monotonicNs.first), last = try #require(trace.monotonicNs.last)
        // Lost at most one flush interval (plus the tick that triggers the flush and scheduling slack).
        #expect(last + flushNs + 2 * intervalNs + 100_000_000 >= killNs, "lost \(Double(killNs - last) / 1e6) ms")
        // And the samples before it are all there: (recorded span − flush interval) / interval, minus a few skips.
        let expected = Double(killNs - first - flushNs) / Double(intervalNs)
        #expect(Double(trace.sampleCount) >= 0.9 * expected, "\(trace.sampleCount) samples, expected about \(expected)")
        #expect(trace.sampleCount == trace.rapl[0].energyUj.count && trace.sampleCount == trace.contextSwitches.count)

        // h5py opens the crashed file as it is.
        let script = "import h5py, sys; f = h5py.File(sys.argv[1], 'r'); print(len(f['timestamp_monotonic_ns']), f.attrs['power_source'])"
        let (status, text) = try ChildProcess.python3(script, [out])
        #expect(status == 0, "\(text)")
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(trace.sampleCount) sim:basic")
    }

    /// The probe's procfs rewritten mid-run: a short stretch of garbage in /proc/stat is skipped and
    /// counted, the recording goes on; garbage that stays ends it with one line naming the file.
    @Test func transientBadReadsAreSkippedPersistentOnesReported() throws {
        let dir = try Scratch.directory()
        let procfs = dir.appendingPathComponent("procfs").path
        try FileManager.default.copyItem(atPath: CollectFixtures.procfs("this-machine"), toPath: procfs)
        let good = try String(contentsOfFile: procfs + "/stat", encoding: .utf8)
        let garbage = try String(contentsOfFile: CollectFixtures.procfs("broken-garbage") + "/stat", encoding: .utf8)
        func rewrite(_ text: String) {
            // In place, as the kernel's file would change under an open descriptor.
            let fd = open(procfs + "/stat", O_WRONLY | O_TRUNC)
            _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
            close(fd)
        }
        let out = dir.appendingPathComponent("flaky.h5").path
        let p = Process()
        p.executableURL = try Self.collectorBinary()
        p.arguments = ["--out", out, "--procfs", procfs, "--power-source", "sim", "--interval", "10ms", "--no-status"]
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        usleep(500_000)
        rewrite(garbage)
        usleep(60_000)  // about 6 ticks: well under the 100 ticks (1 s) that count as persistent
        rewrite(good)
        usleep(300_000)
        #expect(p.isRunning, "one bad stretch of reads ended the recording")
        rewrite(garbage)  // now for good
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning, Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); Issue.record("a persistent read error did not end the recording") }
        p.waitUntilExit()
        let stderr = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains(procfs + "/stat") && stderr.contains("samples in a row could not be read"), "\(stderr)")
        #expect(stderr.split(separator: "\n").count == 1, "\(stderr)")
        let trace = try TraceReader.read(out)
        #expect(trace.sampleCount > 40, "the samples before and between the bad reads are kept")
    }
}
