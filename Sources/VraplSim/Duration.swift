import VraplCore

/// Durations in configuration files and options: `16ms`, `45s`, `2m`, `1h`, `250us`, or a bare
/// number of seconds.
public enum DurationText {
    /// Parses `text` into seconds; nil when it is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), v >= 0, v.isFinite else { return nil }
            return v * scale
        }
        guard let v = Double(t), v >= 0, v.isFinite else { return nil }
        return v
    }

    /// Like `seconds(_:)` but throws a message naming `what`.
    public static func parse(_ text: String, what: String) throws -> Double {
        guard let s = seconds(text) else {
            throw VraplError("\(what): '\(text)' is not a duration (examples: 16ms, 45s, 2m, 1h)")
        }
        return s
    }

    /// `1m30s`-style rendering for dry runs and progress.
    public static func render(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}

import Foundation
