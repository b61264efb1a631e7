import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplTrace

/// `vrapl inspect`, `vrapl export --csv` and `vrapl import` run as a user runs them.
@Suite("vrapl inspect / export / import")
struct TraceCommandLineTests {
    static func vrapl(_ arguments: [String]) throws -> (Int32, String) {
        guard let executable = TraceCrashSafetyTests.vraplExecutable() else { return (-1, "vrapl is not built") }
        return try ChildProcess.run(executable.path, arguments)
    }

    @Test("export → import → inspect from the command line")
    func chain() throws {
        let dir = try Scratch.directory()
        let trace = dir.appendingPathComponent("t.h5").path
        let csv = dir.appendingPathComponent("t.csv").path
        let imported = dir.appendingPathComponent("i.h5").path
        try TraceWriter.write(SyntheticTrace.make(samples: 200), to: trace)

        var (status, output) = try Self.vrapl(["inspect", trace])
        try #require(status == 0, "\(output)")
        #expect(output.contains("samples        200 over"))
        #expect(output.contains("sim:synthetic"))
        #expect(output.contains("package-1 (intel-rapl:1)"))
        #expect(output.contains("dram (intel-rapl:0:1)"))

        (status, output) = try Self.vrapl(["export", trace, "--csv", csv])
        try #require(status == 0, "\(output)")
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == Substring(DecodeRaplCSVConversion.header))
        #expect(lines.count == 200)

        (status, output) = try Self.vrapl(["import", csv, "--out", imported, "--power-source", "sim:xeon", "--cores", "8", "--label", "who=test"])
        try #require(status == 0, "\(output)")
        let metadata = try TraceReader.readMetadata(imported)
        #expect(metadata.powerSource == .simulated(profile: "xeon"))
        #expect(metadata.labels["who"] == "test")
        #expect(metadata.labels["imported_from"] == "t.csv")
        #expect(metadata.coreCount == 8)

        (status, output) = try Self.vrapl(["inspect", dir.appendingPathComponent("missing.h5").path])
        #expect(status != 0)
        #expect(output.contains("missing.h5: no such file"), "\(output)")
    }

    @Test("a truncated trace gives one clear error line, not HDF5's diagnostic dump")
    func truncated() throws {
        let path = try Scratch.file("cut.h5")
        try TraceWriter.write(SyntheticTrace.make(samples: 500), to: path)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.truncate(atOffset: 3000)
        try handle.close()
        let (status, output) = try Self.vrapl(["inspect", path])
        #expect(status != 0)
        #expect(output.contains("cut.h5"), "\(output)")
        #expect(!output.contains("HDF5-DIAG"), "\(output)")
        #expect(output.contains("truncated file"), "\(output)")
        #expect(!output.contains("HDF5_USE_FILE_LOCKING"), "\(output)")  // not a lock problem
        #expect(output.split(separator: "\n").count <= 3, "\(output)")
    }

    @Test("a runtime error of simulate or campaign is one line naming the file, not a usage screen")
    func runtimeErrorsAreOneLine() throws {
        for arguments in [["simulate", "--matrix", "/nonexistent/m.yaml", "--samples", "10", "--out", "/tmp/vrapl-never"],
                          ["campaign", "--matrix", "/nonexistent/m.yaml", "--dry-run"]] {
            let (status, output) = try Self.vrapl(arguments)
            #expect(status != 0)
            let lines = output.split(separator: "\n")
            #expect(lines.count == 1 && output.contains("/nonexistent/m.yaml") && !output.contains("Usage"), "\(output)")
        }
    }
}
