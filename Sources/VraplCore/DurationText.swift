/// Durations written as text, on every command line and in configuration files: a number (decimals
/// allowed) and a unit: `ns`, `us`/`µs`, `ms`, `s`, `m`/`min`, `h`. Examples: `16ms`, `1s`, `60s`,
/// `2m`, `1.5s`, `500us`. One rule everywhere: a bare number is refused with a hint (`16` could be
/// 16 ms or 16 s); a YAML number, which is typed, is read as seconds by the config readers.
public enum DurationText {
    /// Parses `text` into nanoseconds. Throws a message naming the text for a missing or unknown unit,
    /// a negative or non-numeric amount, or a value that overflows.
    public static func nanoseconds(_ text: String) throws -> UInt64 {
        let trimmed = text.trimmingWhitespace()
        guard let unitStart = trimmed.firstIndex(where: { !($0.isNumber || $0 == ".") }) else {
            throw VraplError("duration '\(text)' has no unit: write for example 16ms, 1s, 60s or 2m")
        }
        let number = trimmed[..<unitStart], unit = trimmed[unitStart...]
        let scale: Double
        switch unit {
        case "ns": scale = 1
        case "us", "µs": scale = 1e3
        case "ms": scale = 1e6
        case "s": scale = 1e9
        case "m", "min": scale = 60e9
        case "h": scale = 3600e9
        default: throw VraplError("duration '\(text)' has an unknown unit '\(unit)': use ns, us, ms, s, m or h")
        }
        guard !number.isEmpty, let value = Double(number), value.isFinite, value >= 0 else {
            throw VraplError("duration '\(text)' does not start with a number")
        }
        let ns = (value * scale).rounded()
        guard ns < 1.8e19 else { throw VraplError("duration '\(text)' is too long") }
        return UInt64(ns)
    }

    /// Parses `text` into seconds; the error names `what` (an option or a config key) and the rule.
    public static func parse(_ text: String, what: String) throws -> Double {
        do { return Double(try nanoseconds(text)) / 1e9 } catch let error as VraplError {
            throw VraplError("\(what): \(error.message)")
        }
    }

    /// `1m30s`-style rendering of seconds for dry runs and progress.
    public static func render(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s" }
        let minutes = (s % 3600) / 60
        return "\(s / 3600)h\(minutes < 10 ? "0" : "")\(minutes)m"
    }

    /// `16ms`, `1.5s`, `2m` style text for a number of nanoseconds (for messages).
    public static func format(nanoseconds ns: UInt64) -> String {
        if ns % 60_000_000_000 == 0, ns > 0 { return "\(ns / 60_000_000_000)m" }
        if ns % 1_000_000_000 == 0, ns > 0 { return "\(ns / 1_000_000_000)s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000)ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000)us" }
        return "\(ns)ns"
    }
}

