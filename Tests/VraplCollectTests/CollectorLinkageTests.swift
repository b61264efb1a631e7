import Foundation
import Testing
import VraplCore

/// The recording chain (VraplCore, VraplSources, VraplTrace, VraplCollect, `vrapl-collect`) does
/// not import Foundation: the collector must not load Foundation, its ICU data or the libcurl chain
/// of the shared libhdf5, which together were 16 MB of its resident memory (docs/PERFORMANCE.md).
@Suite struct CollectorLinkageTests {
    @Test func collectorLoadsNeitherFoundationNorTheHDF5NetworkChain() throws {
        let binary = try CollectorProcessTests.collectorBinary()
        let ldd = Process()
        ldd.executableURL = URL(fileURLWithPath: "/usr/bin/ldd")
        ldd.arguments = [binary.path]
        let out = Pipe()
        ldd.standardOutput = out
        try ldd.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ldd.waitUntilExit()
        let libraries = text.split(separator: "\n").compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) }
        #expect(libraries.contains { $0.hasPrefix("libc.so") }, "ldd output not understood: \(text)")
        let forbidden = ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so",
                         "libhdf5", "libcurl", "libgnutls", "libcrypto"]
        for name in forbidden {
            #expect(!libraries.contains { $0.hasPrefix(name) }, "vrapl-collect loads \(name): \(libraries)")
        }
    }
}
