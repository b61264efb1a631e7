import Foundation
import VraplCore

/// A stress-ng version such as 0.15.06, compared numerically.
public struct StressNGVersion: Comparable, Sendable, CustomStringConvertible {
    public var parts: [Int]
    public init(_ parts: [Int]) { self.parts = parts }

    /// Parses `0.15.06` or the first line of `stress-ng --version`
    /// (`stress-ng, version 0.15.06 (gcc 12.2.0, x86_64 Linux 6.1.0)`).
    public init?(parsing text: String) {
        let line = text.split(separator: "\n").first.map(String.init) ?? text
        var candidate = line
        if let r = line.range(of: "version ") { candidate = String(line[r.upperBound...]) }
        let token = candidate.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == "," }).first.map(String.init) ?? ""
        let nums = token.split(separator: ".").map { Int($0) }
        guard nums.count >= 2, nums.allSatisfy({ $0 != nil }) else { return nil }
        parts = nums.compactMap { $0 }
    }

    public static func < (a: StressNGVersion, b: StressNGVersion) -> Bool {
        for i in 0..<max(a.parts.count, b.parts.count) {
            let x = i < a.parts.count ? a.parts[i] : 0, y = i < b.parts.count ? b.parts[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    /// `0.15.06` style (two-digit minor components, as stress-ng prints them).
    public var description: String {
        parts.enumerated().map { $0.offset == 0 ? String($0.element) : String(format: "%02d", $0.element) }.joined(separator: ".")
    }
}

/// What vrapl needs from stress-ng, and the check that says so clearly.
public enum StressNG {
    /// The oldest stress-ng vrapl accepts for each stressor option it passes (`--<stressor> N`).
    /// cpu, io, vm, pipe, cache and hdd are long-standing stressors (present in every 0.09+ release,
    /// 2018 on); the `syscall` stressor is recent: 0.15.06 is the version vrapl was verified with.
    /// `--timeout` is as old as stress-ng itself.
    public static let minimumVersions: [String: StressNGVersion] = [
        "cpu": StressNGVersion([0, 9, 0]), "io": StressNGVersion([0, 9, 0]), "vm": StressNGVersion([0, 9, 0]),
        "pipe": StressNGVersion([0, 9, 0]), "cache": StressNGVersion([0, 9, 0]), "hdd": StressNGVersion([0, 9, 0]),
        "iomix": StressNGVersion([0, 9, 0]), "syscall": StressNGVersion([0, 15, 6]),
    ]
    /// Floor for stressors not in the table.
    public static let defaultMinimum = StressNGVersion([0, 9, 0])

    public static func minimum(for stressor: String) -> StressNGVersion { minimumVersions[stressor] ?? defaultMinimum }

    /// Problems with `installed` (nil = not found) for the stressors a matrix uses; empty when fine.
    /// `available`, when known (`stress-ng --stressors`), catches builds that lack a stressor.
    public static func problems(installed: StressNGVersion?, stressors: [String], available: Set<String>? = nil,
                                executable: String = "stress-ng") -> [String] {
        let needed = stressors.map { "--\($0) (needs stress-ng ≥ \(minimum(for: $0)))" }.joined(separator: ", ")
        guard let v = installed else {
            return ["stress-ng not found (\(executable)): install it (Debian/Ubuntu: apt-get install stress-ng). This matrix uses \(needed)."]
        }
        var out: [String] = []
        for s in stressors {
            let need = minimum(for: s)
            if v < need {
                out.append("stress-ng \(v) is too old for --\(s): needs stress-ng ≥ \(need)")
            } else if let a = available, !a.isEmpty, !a.contains(s) {
                out.append("stress-ng \(v) has no '\(s)' stressor (stress-ng --stressors does not list it); needs a build with --\(s) (≥ \(need))")
            }
        }
        return out
    }

    /// Runs `<executable> --version` and `--stressors`; nil version when it cannot be run or parsed.
    public static func probe(executable: String) -> (version: StressNGVersion?, stressors: Set<String>?) {
        guard let text = run(executable, ["--version"]) else { return (nil, nil) }
        let v = StressNGVersion(parsing: text)
        let list = run(executable, ["--stressors"]).map { Set($0.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)) }
        return (v, list)
    }

    /// The stress-ng command line for a combination (nil for idle). `pinned`: a placed combination
    /// is held on its CPU set by `--taskset` (false when a cpuset confines it instead).
    public static func arguments(for combination: Combination, extra: [String: [String]] = [:], pinned: Bool = true) -> [String]? {
        guard !combination.isIdle else { return nil }
        var args: [String] = []
        for s in combination.stressors {
            args += ["--\(s.name)", String(s.workers)]
            args += extra[s.name] ?? []
        }
        if pinned, let p = combination.placement { args += ["--taskset", CPUList.format(p.cpus)] }
        args += ["--timeout", "\(Int(combination.duration.rounded(.up)))s"]
        return args
    }

    /// The neighbours' stress-ng command of a placed combination (nil without a neighbour load):
    /// the cpu stressor on every other CPU at the load, pinned there (`--taskset` unless `pinned` is
    /// false because a cpuset holds them).
    public static func neighbourArguments(for combination: Combination, pinned: Bool = true) -> [String]? {
        guard let p = combination.placement, p.neighbourLoad > 0, !p.neighbourCPUs.isEmpty else { return nil }
        return ["--cpu", String(p.neighbourCPUs.count), "--cpu-load", String(Int((p.neighbourLoad * 100).rounded()))]
            + (pinned ? ["--taskset", CPUList.format(p.neighbourCPUs)] : [])
            + ["--timeout", "\(Int(combination.duration.rounded(.up)))s"]
    }

    /// stdout and stderr of `executable args`, nil when it cannot run (not found: 127).
    static func run(_ executable: String, _ args: [String]) -> String? {
        guard let (status, output) = try? ProgramOutput.capture(executable, args, mergeStderr: true) else { return nil }
        guard status == 0 || !output.isEmpty, status != 127 else { return nil }
        return output
    }

}

