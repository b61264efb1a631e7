import Foundation

/// Scratch directories for tests: each call makes a new, empty directory under one root per test
/// process, `<tmp>/vrapl-tests-<pid>/`, and the whole root is removed when the process exits. A test
/// therefore needs no cleanup of its own (and a failing one leaves its files for inspection until then).
public enum Scratch {
    private static let root: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vrapl-tests-\(getpid())")
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Scratch.root) }
        return url
    }()

    /// A new directory named after the calling test (`name`, letters and digits only) and a unique suffix.
    public static func directory(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }.prefix(40)
        let url = root.appendingPathComponent("\(safe)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The path of a file `file` (not created) in a new directory of its own.
    public static func file(_ file: String, _ name: String = #function) throws -> String {
        try directory(name).appendingPathComponent(file).path
    }

    /// `directory(name).path`.
    public static func path(_ name: String = #function) throws -> String { try directory(name).path }
}
