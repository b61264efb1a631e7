#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress for long work (training epochs, campaigns, simulation). On a terminal it redraws one line
/// with rate and ETA; otherwise it prints plain log lines at most every `logEvery` seconds.
public final class ProgressReporter {
    public let label: String
    public let total: Double
    public let unit: String
    private let start = SampleClock.monotonicSeconds()
    private var lastPrint = -Double.infinity
    private let isTerminal: Bool
    private let logEvery: Double

    /// - Parameters: label shown first; total work in `unit`s (0 if unknown).
    public init(label: String, total: Double, unit: String, logEvery: Double = 5, forceTerminal: Bool? = nil) {
        self.label = label
        self.total = total
        self.unit = unit
        self.logEvery = logEvery
        self.isTerminal = forceTerminal ?? (isatty(STDERR_FILENO) != 0)
    }

    /// Reports `done` units finished, with an optional extra text (losses, metrics).
    public func update(done: Double, extra: String = "") {
        let now = SampleClock.monotonicSeconds()
        let minGap = isTerminal ? 0.1 : logEvery
        guard now - lastPrint >= minGap || (total > 0 && done >= total) else { return }
        lastPrint = now
        let line = Self.format(label: label, done: done, total: total, unit: unit,
                               elapsed: now - start, extra: extra)
        if isTerminal {
            fputs("\r\u{1B}[2K" + line, stderr)
        } else {
            fputs(line + "\n", stderr)
        }
    }

    /// Ends the progress line (a newline on a terminal).
    public func finish() {
        if isTerminal { fputs("\n", stderr) }
    }

    /// The text of one progress line: `label done/total unit (pct%) rate unit/s ETA mm:ss extra`.
    public static func format(label: String, done: Double, total: Double, unit: String, elapsed: Double, extra: String) -> String {
        let rate = elapsed > 0 ? done / elapsed : 0
        var s = "\(label) \(compact(done))"
        if total > 0 {
            s += "/\(compact(total)) \(unit) (\(Int((100 * done / total).rounded()))%)"
        } else {
            s += " \(unit)"
        }
        s += " \(compact(rate)) \(unit)/s"
        if total > 0, rate > 0 {
            s += " ETA \(clock(max(0, (total - done) / rate)))"
        }
        if !extra.isEmpty { s += " " + extra }
        return s
    }

    static func compact(_ x: Double) -> String {
        if x >= 1e6 { return String(cFormat: "%.2fM", x / 1e6) }
        if x >= 1e4 { return String(cFormat: "%.1fk", x / 1e3) }
        if x == x.rounded() { return String(Int(x)) }
        return String(cFormat: "%.1f", x)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(cFormat: "%ld:%02ld", s / 60, s % 60)
    }
}
