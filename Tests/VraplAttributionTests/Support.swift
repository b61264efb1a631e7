import Foundation
import VraplTestSupport
@testable import VraplAttribution

/// Fixture locations relative to this file, and a scratch copy of a fixture tree that tests may change.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static func path(_ relative: String) -> String { root + "/" + relative }
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Makes `destination` hold exactly the files of `source`, overwriting files in place (so
    /// directories keep their inodes), creating new directories and removing vanished ones.
    /// A scratch copy of the cgroup fixture `cgroupfs/t0` (tests then sync later states over it).
    static func cgroupTree(_ name: String = #function) throws -> String {
        let dir = try Scratch.path(name)
        try sync(from: path("cgroupfs/t0"), to: dir)
        return dir
    }

    static func sync(from source: String, to destination: String) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: destination) { try fm.createDirectory(atPath: destination, withIntermediateDirectories: true) }
        let sourceEntries = Set(try fm.contentsOfDirectory(atPath: source))
        for entry in try fm.contentsOfDirectory(atPath: destination) where !sourceEntries.contains(entry) {
            try fm.removeItem(atPath: destination + "/" + entry)
        }
        for entry in sourceEntries {
            var isDir: ObjCBool = false
            _ = fm.fileExists(atPath: source + "/" + entry, isDirectory: &isDir)
            if isDir.boolValue {
                try sync(from: source + "/" + entry, to: destination + "/" + entry)
            } else {
                let data = try Data(contentsOf: URL(fileURLWithPath: source + "/" + entry))
                try data.write(to: URL(fileURLWithPath: destination + "/" + entry))
            }
        }
    }
}
