import Foundation
import Testing
import VraplCore
import VraplTrace

/// The recording chain (VraplCore, VraplSources, VraplTrace, VraplCollect, `vrapl-collect`) does
/// not import Foundation, and HDF5 is linked statically: the collector must load neither Foundation,
/// its ICU data, nor the libcurl chain of Debian's shared libhdf5, which together were 16 MB of its
/// resident memory (docs/PERFORMANCE.md, "Collector"). The lean binary of `make collector` must
/// also carry the Swift runtime and still record a readable trace.
@Suite(.serialized) struct CollectorLinkageTests {
    static let repositoryRoot = CollectFixtures.testsDir.deletingLastPathComponent()

    /// Shared libraries `ldd` lists for `binary` (their names, without paths).
    static func sharedLibraries(of binary: URL) throws -> [String] {
        let text = try run("/usr/bin/ldd", [binary.path])
        return text.split(separator: "\n").compactMap {
            $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = repositoryRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw VraplError("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
        }
        return text
    }

    static let forbidden = ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so",
                            "libhdf5", "libcurl", "libgnutls", "libcrypto"]

    @Test func collectorLoadsNeitherFoundationNorTheHDF5NetworkChain() throws {
        let libraries = try Self.sharedLibraries(of: CollectorProcessTests.collectorBinary())
        #expect(libraries.contains { $0.hasPrefix("libc.so") }, "ldd output not understood: \(libraries)")
        for name in Self.forbidden {
            #expect(!libraries.contains { $0.hasPrefix(name) }, "vrapl-collect loads \(name): \(libraries)")
        }
    }

    /// `make test` builds the lean binary first; built here too when it is missing or stale.
    @Test func leanCollectorCarriesTheRuntimeAndRecords() throws {
        let path = try Self.run("/bin/bash", ["scripts/build-lean.sh", "vrapl-collect"])
            .split(separator: "\n").last.map(String.init) ?? ""
        let binary = URL(fileURLWithPath: path)
        #expect(FileManager.default.isExecutableFile(atPath: binary.path), "build-lean.sh printed \(path)")
        let libraries = try Self.sharedLibraries(of: binary)
        #expect(libraries.contains { $0.hasPrefix("libc.so") }, "ldd output not understood: \(libraries)")
        for name in Self.forbidden + ["libswiftCore.so", "libFoundationEssentials.so", "libdispatch.so"] {
            #expect(!libraries.contains { $0.hasPrefix(name) }, "lean vrapl-collect loads \(name): \(libraries)")
        }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-lean-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("lean.h5").path
        try Self.run(binary.path, ["--out", out, "--duration", "320ms", "--interval", "16ms", "--power-source", "rapl",
                                   "--sysfs", CollectFixtures.sysfs("two-socket"), "--procfs", CollectFixtures.procfs("this-machine"),
                                   "--no-status", "--no-realtime", "--label", "build=lean"])
        let trace = try TraceReader.read(out)
        #expect(trace.sampleCount == 20)
        #expect(trace.metadata.labels["build"] == "lean")
        #expect(trace.metadata.powerSource == .rapl)
        #expect(trace.rapl.count == 8)  // two sockets × package, core, uncore, dram
    }
}
