import Foundation
import Testing
@testable import VraplCore

/// The recording chain formats and reads text without Foundation; Foundation (imported here only) is
/// the reference its helpers must agree with.
@Suite struct FoundationFreeHelperTests {
    static let doubles: [Double] = [0, -0.0, 1, -1, 0.5, 2.5, 3.14159265, 1e-7, 123456.789, -9876.54321, 1e300,
                                    .infinity, -.infinity, .nan, 16.015, 0.0001234]
    static let formats = ["%.0f", "%.1f", "%.2f", "%.3f", "%.6f", "%7.1f", "%.2g", "%.3g", "%e", "%+.2f", "%08.3f", "%.1f%%"]

    @Test(arguments: formats)
    func doublesMatchFoundation(format: String) {
        for x in Self.doubles {
            #expect(String(cFormat: format, x) == String(format: format, x), "\(format) of \(x)")
        }
    }

    @Test func integersAndMixedArgumentsMatchFoundation() {
        let ints: [Int] = [0, 7, -7, 59, 61, 3600, Int(Int32.max), Int(Int32.max) + 1, Int.max, Int.min]
        for i in ints {
            #expect(String(cFormat: "%ld", i) == String(format: "%ld", i))
            #expect(String(cFormat: "%8ld|%-6ld|%02ld", i, i, i) == String(format: "%8ld|%-6ld|%02ld", i, i, i))
        }
        #expect(String(cFormat: "%ld:%02ld", 125 / 60, 125 % 60) == "2:05")
        let mixed = String(cFormat: "\r%7.1f s  %ld samples  missed %ld  p99 %.2f ms", 12.34, 771, 0, 16.0153)
        #expect(mixed == String(format: "\r%7.1f s  %ld samples  missed %ld  p99 %.2f ms", 12.34, 771, 0, 16.0153))
    }

    @Test func longResultsAreNotCut() {
        // Longer than the 128-byte first buffer: takes the second, exactly sized pass.
        let format = String(repeating: "%.6f,", count: 40)
        let args: [CVarArg] = (0..<40).map { Double($0) * 1.25 }
        let ours = String(cFormat: format, 0.0, 1.25, 2.5, 3.75, 5.0, 6.25, 7.5, 8.75, 10.0, 11.25,
                                   12.5, 13.75, 15.0, 16.25, 17.5, 18.75, 20.0, 21.25, 22.5, 23.75,
                                   25.0, 26.25, 27.5, 28.75, 30.0, 31.25, 32.5, 33.75, 35.0, 36.25,
                                   37.5, 38.75, 40.0, 41.25, 42.5, 43.75, 45.0, 46.25, 47.5, 48.75)
        #expect(ours.utf8.count > 128)
        #expect(ours == String(format: format, arguments: args))
    }

    @Test func trimmingMatchesFoundation() {
        for s in ["", " ", "abc", "  abc", "abc \n", "\t a b \r\n", "\n\n", " ü ", "a\u{00A0}"] {
            #expect(s.trimmingWhitespace() == s.trimmingCharacters(in: .init(charactersIn: " \t\r\n")), "\(s.debugDescription)")
        }
    }

    @Test func paddingMatchesFoundation() {
        for s in ["", "abc", "package total", "intel-rapl:0:1 (dram)", String(repeating: "x", count: 30), "ü-zone"] {
            #expect(s.padded(to: 26) == s.padding(toLength: 26, withPad: " ", startingAt: 0), "\(s)")
        }
    }
}

@Suite struct TextFileTests {
    static func scratch(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "vrapl-textfile-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir + "/" + name
    }

    @Test func writeThenReadRoundTripsAndReplacesAtomically() throws {
        let path = Self.scratch("round.txt")
        let big = String(repeating: "0123456789abcdef ü\n", count: 10_000)  // > one 64 KiB read
        try TextFile.writeAtomically("old", to: path)
        try TextFile.writeAtomically(big, to: path)
        #expect(try TextFile.read(path) == big)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == big)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
            .filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test func errorsNameThePathAndTheReason() {
        let missing = Self.scratch("does-not-exist/x.txt")
        #expect { try TextFile.read(missing) } throws: { error in
            "\(error)" == "cannot read \(missing): No such file or directory"
        }
        #expect { try TextFile.writeAtomically("x", to: missing) } throws: { error in
            "\(error)".hasPrefix("cannot write \(missing): No such file or directory")
        }
        #expect { try TextFile.directoryEntries(missing) } throws: { error in
            "\(error)" == "cannot list \(missing): No such file or directory"
        }
    }

    @Test func directoryQueriesMatchFoundation() throws {
        let dir = Self.scratch("listing")
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: dir + "/a", contents: Data())
        FileManager.default.createFile(atPath: dir + "/b c", contents: Data())
        #expect(try TextFile.directoryEntries(dir).sorted() == FileManager.default.contentsOfDirectory(atPath: dir).sorted())
        #expect(TextFile.isDirectory(dir + "/sub") && !TextFile.isDirectory(dir + "/a") && !TextFile.isDirectory(dir + "/none"))
        #expect(TextFile.exists(dir + "/a") && TextFile.exists(dir + "/sub") && !TextFile.exists(dir + "/none"))
    }

    @Test func lastComponentMatchesFoundation() {
        for p in ["/a/b/c.csv", "c.csv", "/a/b/", "/", "a//b", "", "../x.csv"] {
            #expect(TextFile.lastComponent(p) == (p as NSString).lastPathComponent, "\(p)")
        }
    }
}
