import Foundation
import Testing
@testable import VraplSources

/// Fixture trees live in Tests/Fixtures (see its README.md).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static func procfs(_ name: String) -> String { root.appendingPathComponent("procfs/\(name)").path }
    static func sysfs(_ name: String) -> String { root.appendingPathComponent("sysfs/\(name)").path }

    /// The message of the error `body` throws (nil if it does not throw).
    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    /// An independent, allocation-happy reference parser: `key v1 v2 …` lines by String splitting.
    static func referenceLines(_ path: String) throws -> [String: [UInt64]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [String: [UInt64]] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let key = parts.first else { continue }
            out[String(key)] = parts.dropFirst().compactMap { UInt64($0) }
        }
        return out
    }
}
