import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

/// A writer killed with SIGKILL leaves a file that opens as is (default HDF5 file format, no
/// `h5clear` needed) and holds every sample it had reported flushed, plus segments added before that.
@Suite("Trace crash safety")
struct TraceCrashSafetyTests {
    /// The `vrapl` executable built beside the test bundle (swift build --build-tests builds it).
    static func vraplExecutable() -> URL? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            var url = URL(fileURLWithPath: first).deletingLastPathComponent()
            // …/debug/vraplPackageTests.xctest (a file on Linux, a bundle elsewhere)
            if url.pathExtension == "xctest" { url = url.deletingLastPathComponent() }
            candidates.append(url.appendingPathComponent("vrapl"))
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug/vrapl"))
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    @Test("SIGKILL after two flushes: every reported-flushed sample survives; h5py and the reader agree")
    func sigkill() throws {
        let executable = try #require(Self.vraplExecutable(), "the vrapl executable is not built (run swift build --build-tests)")
        let path = try Scratch.file("killed.h5")

        let child = Process()
        child.executableURL = executable
        child.arguments = ["debug", "write-trace", "--out", path, "--duration", "30s", "--flush-interval", "500ms"]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        // Safety net: never let a stuck child outlive the test.
        let pid = child.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + 15) { if child.isRunning { kill(pid, SIGKILL) } }

        var reported = 0
        var flushes = 0
        var text = ""
        while flushes < 3 {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // child exited
            text += String(decoding: chunk, as: UTF8.self)
            while let newline = text.firstIndex(of: "\n") {
                let line = text[..<newline]
                if line.hasPrefix("flushed "), let n = Int(line.dropFirst(8)) { reported = n; flushes += 1 }
                text = String(text[text.index(after: newline)...])
            }
        }
        // While the writer holds the file, a reader gets HDF5's lock error with a hint.
        let locked = #expect(throws: TraceError.self) { try TraceReader.read(path) }
        #expect(locked?.message.contains("HDF5_USE_FILE_LOCKING=FALSE") == true, "\(String(describing: locked))")
        kill(pid, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        try #require(flushes == 3, "the child reported \(flushes) flushes")
        // 3 flushes: the first sample's, then two at 0.5 s of 16 ms samples: about 63 samples reported flushed.
        #expect(reported >= 55)

        let data = try TraceReader.read(path)
        #expect(data.sampleCount >= reported)
        #expect(data.metadata.powerSource == .simulated(profile: "synthetic"))
        #expect(data.rapl.count == SyntheticTrace.zones.count)
        #expect(data.segments.first?.name == "warmup")
        #expect(zip(data.monotonicNs, data.monotonicNs.dropFirst()).allSatisfy { $0 < $1 })
        // Every surviving sample has the values the child computed for its index.
        var stat = ProcStatSnapshot()
        var vm = [UInt64](repeating: 0, count: 4), energy = [UInt64](repeating: 0, count: 4)
        for i in [0, reported / 2, data.sampleCount - 1] {
            let hidden = SyntheticTrace.sample(i, stat: &stat, vmstat: &vm, energy: &energy)
            #expect(data.cpuFields[0][i] == stat.cpu.user && data.rapl[0].energyUj[i] == energy[0] && data.simHiddenWatts?[i] == hidden)
        }

        let script = "import sys, h5py\nf = h5py.File(sys.argv[1], 'r')\nprint(len(f['timestamp_monotonic_ns']), len(f['rapl/intel-rapl_0/energy_uj']), f.attrs['format'], len(f['segments/name']))"
        let (status, output) = try ChildProcess.python3(script, [path])
        #expect(status == 0, "\(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(data.sampleCount) \(data.sampleCount) vrapl-trace 1", "\(output)")
    }
}
