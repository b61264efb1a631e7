import Foundation
import VraplCore

/// Runs programs from tests and gives back what they printed.
public enum ChildProcess {
    /// Runs `tool` (a path, or a name looked up on PATH) with `arguments`; returns its exit status and
    /// stdout and stderr together, in the order written.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try ProgramOutput.capture(tool, arguments, mergeStderr: true)
    }

}

/// Failure of a child process that had to succeed; the message holds its output.
public struct ChildProcessFailure: Error, CustomStringConvertible {
    public var description: String
}

/// Runs `python3 -c script arguments…`; returns stdout, throws with stderr on a non-zero exit.
public func python(_ script: String, _ arguments: [String] = []) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ChildProcessFailure(description: "python3 failed: \(String(decoding: stderr, as: UTF8.self))")
    }
    return String(decoding: stdout, as: UTF8.self)
}

/// The description of the error a call throws, or nil if it does not throw.
public func errorMessage(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

extension ChildProcess {
    /// `python3 -c script arguments…`; exit status and stdout + stderr (for tests that check failures too).
    public static func python3(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try run("python3", ["-c", script] + arguments)
    }
}
