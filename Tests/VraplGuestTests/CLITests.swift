import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplModel
import VraplTrace
@testable import VraplGuest

/// End-to-end tests of the `vrapl-guest` executable (built by `swift build --build-tests`).
@Suite("vrapl-guest executable", .serialized)
struct CLITests {
    static let binDir = GuestFixtures.packageRoot.appendingPathComponent(".build/debug")
    static var guest: String { binDir.appendingPathComponent("vrapl-guest").path }
    static var vrapl: String { binDir.appendingPathComponent("vrapl").path }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs a binary; `afterStart` runs once it is started (e.g. to send a signal).
    static func run(_ binary: String, _ arguments: [String], afterStart: ((Process) -> Void)? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Never hang the test run: kill the child after 60 s.
        let pid = process.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 60) { if process.isRunning { kill(pid, SIGKILL) } }
        afterStart?(process)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: guest) }

    @Test("replay equals `vrapl predict` sample for sample", .enabled(if: available && FileManager.default.isExecutableFile(atPath: vrapl)))
    func replayEqualsPredict() throws {
        let dir = try Scratch.directory()
        let model = try GuestFixtures.model(d: 25, architecture: .cnnV41())
        let modelPath = try GuestFixtures.writeModel(model, in: dir)
        let tracePath = dir.appendingPathComponent("t.h5").path
        try TraceWriter.write(GuestFixtures.trace(samples: 400, gapAt: 200), to: tracePath)
        let a = try Self.run(Self.vrapl, ["predict", "--model", modelPath, "--trace", tracePath, "--out", dir.path + "/predict.csv"])
        #expect(a.status == 0, "\(a.stderr)")
        let b = try Self.run(Self.guest, ["--model", modelPath, "--replay", tracePath, "--out", dir.path + "/replay.csv"])
        #expect(b.status == 0, "\(b.stderr)")
        let predict = try String(contentsOfFile: dir.path + "/predict.csv", encoding: .utf8).split(separator: "\n")
        let replay = try String(contentsOfFile: dir.path + "/replay.csv", encoding: .utf8).split(separator: "\n")
        #expect(predict.first == replay.first)
        #expect(predict.count == replay.count)
        #expect(predict.count == 400 - 25 + 1)
        var identical = 0
        for (p, r) in zip(predict.dropFirst(), replay.dropFirst()) {
            let pc = p.split(separator: ","), rc = r.split(separator: ",")
            #expect(pc[0] == rc[0] && pc[1] == rc[1] && pc.count == rc.count)
            // Batched (vrapl predict) and single-window (guest) forward passes may round the last
            // bit differently; printed to 4 decimals they agree within one unit of the last digit.
            #expect(abs((Double(pc[2]) ?? .nan) - (Double(rc[2]) ?? .nan)) <= 1.0001e-4, "\(p) vs \(r)")
            if p == r { identical += 1 }
        }
        #expect(identical >= (predict.count - 1) * 9 / 10)
    }

    @Test("live: SIGTERM exports once more and exits 0; files and counters are there", .enabled(if: available))
    func sigterm() throws {
        let dir = try Scratch.directory()
        let modelPath = try GuestFixtures.writeModel(try GuestFixtures.model(d: 8), in: dir)
        let port = Int.random(in: 20000...40000)
        let result = try Self.run(Self.guest, ["--model", modelPath, "--quiet", "--listen", "127.0.0.1:\(port)",
                                               "--textfile", dir.path + "/text", "--powercap-dir", dir.path + "/pc",
                                               "--jsonl", dir.path + "/e.jsonl", "--export-interval", "200ms"]) { process in
            Thread.sleep(forTimeInterval: 1.2)
            kill(process.processIdentifier, SIGTERM)
        }
        #expect(result.status == 0, "\(result.stderr)")
        let prom = try String(contentsOfFile: dir.path + "/text/vrapl.prom", encoding: .utf8)
        #expect(prom.contains("kepler_node_cpu_joules_total{node_name=") && prom.contains("zone=\"package\",path=\"vrapl-guest\"}"))
        let counter = try String(contentsOfFile: dir.path + "/pc/intel-rapl:0/energy_uj", encoding: .utf8)
        #expect((UInt64(counter.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0)
        let lines = try String(contentsOfFile: dir.path + "/e.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count > 20)
        let last = try JSONValue.parse(String(lines.last ?? ""))
        #expect((last["energy_joules"]?.doubleValue ?? 0) > 0)
    }

    @Test("live: --textfile-interval longer than the run still leaves the last export's textfile at exit", .enabled(if: available))
    func textfileIntervalAtExit() throws {
        let dir = try Scratch.directory()
        let modelPath = try GuestFixtures.writeModel(try GuestFixtures.model(d: 8), in: dir)
        let result = try Self.run(Self.guest, ["--model", modelPath, "--quiet", "--textfile", dir.path + "/text", "--textfile-interval", "1h",
                                               "--export-interval", "200ms", "--duration", "1200ms"])
        #expect(result.status == 0, "\(result.stderr)")
        let prom = try String(contentsOfFile: dir.path + "/text/vrapl.prom", encoding: .utf8)
        let samples = prom.split(separator: "\n").first { $0.hasPrefix("vrapl_samples_total ") }.flatMap { Int($0.split(separator: " ")[1]) }
        // The first export (at 200 ms, about 12 samples) was the only one before exit; the file is the exit's.
        #expect((samples ?? 0) >= 50, "\(prom)")
    }

    @Test("bad input through the CLI: one line on stderr naming the resource, exit 1", .enabled(if: available))
    func badInput() throws {
        let dir = try Scratch.directory()
        let good = try GuestFixtures.writeModel(try GuestFixtures.model(d: 8), in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
        let truncated = dir.path + "/cut.safetensors"
        try bytes.prefix(bytes.count / 3).write(to: URL(fileURLWithPath: truncated))
        let holder = try MetricsServer(address: "127.0.0.1", port: 0) { "" }
        defer { holder.stop() }
        let busyPort = holder.boundPort
        let cases: [([String], String)] = [
            (["--model", truncated, "--duration", "1s"], "vrapl-guest: \(truncated): invalid safetensors file: "),
            (["--model", good, "--listen", "127.0.0.1:\(busyPort)", "--duration", "1s"], "vrapl-guest: cannot listen on 127.0.0.1:\(busyPort): Address already in use"),
            (["--model", good, "--procfs", GuestFixtures.fixtures.path + "/procfs/broken-missing", "--duration", "1s"], "vrapl-guest: \(GuestFixtures.fixtures.path)/procfs/broken-missing/stat"),
            (["--model", good, "--textfile", good + "/sub", "--duration", "1s"], "vrapl-guest: --textfile \(good)/sub: cannot create directory"),
            (["--model", good, "--interval", "10ms", "--duration", "1s"], "vrapl-guest: \(good): model was trained on windows sampled every 16 ms"),
            (["--model", good, "--export-interval", "5ms", "--duration", "1s"], "vrapl-guest: --export-interval 5ms is shorter than the model's sample interval (16 ms)"),
            (["--model", good, "--textfile", good + ".d", "--textfile-interval", "500ms", "--duration", "1s"], "vrapl-guest: --textfile-interval 500ms is shorter than the export interval (1000 ms)"),
            (["--model", good, "--textfile-interval", "15s", "--duration", "1s"], "vrapl-guest: --textfile-interval needs --textfile DIR"),
        ]
        for (arguments, expected) in cases {
            let r = try Self.run(Self.guest, arguments + ["--quiet"])
            #expect(r.status == 1, "\(arguments): \(r.stderr)")
            #expect(r.stderr.hasPrefix(expected), "\(arguments): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }

    /// The probe's F3: output paths the user names are written, never replaced (a device, a FIFO, a
    /// symbolic link, /dev/stdout), and a write error is one line naming the path.
    @Test("--jsonl, --out and predict --out write into devices, FIFOs and links in place", .enabled(if: available && FileManager.default.isExecutableFile(atPath: vrapl)))
    func outputStreamsAreWrittenInPlace() throws {
        let dir = try Scratch.directory()
        let modelPath = try GuestFixtures.writeModel(try GuestFixtures.model(d: 8), in: dir)
        let tracePath = dir.path + "/t.h5"
        try TraceWriter.write(GuestFixtures.trace(samples: 120), to: tracePath)
        func fileType(_ path: String) -> mode_t {
            var info = stat()
            return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
        }
        // predict --out through our own symbolic link: the target gets the CSV, the link stays.
        let target = dir.path + "/target.csv"
        try "old\n".write(toFile: target, atomically: true, encoding: .utf8)
        symlink(target, dir.path + "/link.csv")
        let a = try Self.run(Self.vrapl, ["predict", "--model", modelPath, "--trace", tracePath, "--out", dir.path + "/link.csv"])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(fileType(dir.path + "/link.csv") == S_IFLNK)
        let predicted = try String(contentsOfFile: target, encoding: .utf8)
        #expect(predicted.hasPrefix("index,timestamp_unix,predicted_power_watts"))
        let rows = predicted.split(separator: "\n").count
        #expect(rows > 100)
        // --replay --out /dev/stdout: the CSV arrives on stdout.
        let b = try Self.run(Self.guest, ["--model", modelPath, "--replay", tracePath, "--out", "/dev/stdout"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stdout.hasPrefix("index,timestamp_unix,predicted_power_watts") && b.stdout.split(separator: "\n").count == rows)
        // --replay --out into a FIFO: a reader gets every line, the FIFO stays a FIFO.
        let fifo = dir.path + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        final class Box: @unchecked Sendable { var text = "" }
        let box = Box()
        let read = DispatchSemaphore(value: 0)
        Thread.detachNewThread { box.text = (try? TextFile.read(fifo)) ?? ""; read.signal() }
        let c = try Self.run(Self.guest, ["--model", modelPath, "--replay", tracePath, "--out", fifo])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(read.wait(timeout: .now() + 20) == .success)
        #expect(box.text.split(separator: "\n").count == rows)
        #expect(fileType(fifo) == S_IFIFO)
        // --jsonl /dev/full: one line naming the device, exit 1, and /dev/full is still a device.
        let d = try Self.run(Self.guest, ["--model", modelPath, "--replay", tracePath, "--out", dir.path + "/r.csv", "--jsonl", "/dev/full"])
        #expect(d.status == 1)
        #expect(d.stderr.contains("/dev/full") && d.stderr.contains("No space left on device"), "\(d.stderr)")
        #expect(d.stderr.split(separator: "\n").count == 1, "\(d.stderr)")
        #expect(fileType("/dev/full") == S_IFCHR)
    }
}

/// The shipped unit's sandbox, scored the way an operator would (`systemd-analyze security`).
@Suite struct SystemdUnitTests {
    @Test("configs/systemd/vrapl-guest.service scores at most 3.0 (OK) in systemd-analyze security --offline")
    func unitIsHardened() throws {
        let unit = GuestFixtures.packageRoot.appendingPathComponent("configs/systemd/vrapl-guest.service").path
        let result = try CLITests.run("/usr/bin/systemd-analyze", ["security", "--offline=yes", "--no-pager", unit])
        let text = result.stdout + result.stderr
        let line = try #require(text.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(text)")
        let score = line.split(separator: " ").compactMap { Double($0) }.first
        #expect(score.map { $0 <= 3.0 } == true, "\(line)")
    }
}
