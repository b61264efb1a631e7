import Foundation
import Testing
import VraplTestSupport
@testable import VraplSources

@Suite struct PolledFileTests {
    @Test(arguments: [false, true])
    func readsWholeFilesLargerThanTheBufferAndRereads(oneShot: Bool) throws {
        let url = try Scratch.directory().appendingPathComponent("polled")
        let text = String(repeating: "0123456789abcdef\n", count: 100)  // 1700 bytes, buffer starts at 16
        try text.write(to: url, atomically: false, encoding: .utf8)
        let file = try PolledFile(path: url.path, capacity: 16, oneShot: oneShot)
        #expect(try file.withContents { String(decoding: $0, as: UTF8.self) } == text)
        #expect(file.capacity >= 1700)
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data("short\n".utf8))
        try h.close()
        #expect(try file.withContents { String(decoding: $0, as: UTF8.self) } == "short\n")
    }

    @Test func liveProcFilesReadCompletely() throws {
        // /proc/vmstat is an iterating seq_file: its last line must arrive (the read loop does not stop early).
        let vmstat = try PolledFile(path: "/proc/vmstat")
        let text = try vmstat.withContents { String(decoding: $0, as: UTF8.self) }
        let reference = try String(contentsOfFile: "/proc/vmstat", encoding: .utf8)
        #expect(text.split(separator: "\n").map { $0.split(separator: " ")[0] } ==
                reference.split(separator: "\n").map { $0.split(separator: " ")[0] })
        let stat = try PolledFile(path: "/proc/stat", capacity: 64, oneShot: true)  // forces growth + re-read
        let statText = try stat.withContents { String(decoding: $0, as: UTF8.self) }
        #expect(statText.hasPrefix("cpu "))
        #expect(statText.contains("\nprocs_blocked "))
        #expect(statText.hasSuffix("\n"))
    }
}
