import VraplCore

/// Markdown tables and the number spelling of every report (the evaluation report, the model card).
public enum MarkdownTable {
    /// `| a | b |` rows under a header; the first column is left-aligned, the others take `align`
    /// (`---:`, right-aligned, by default).
    public static func render(_ header: [String], _ rows: [[String]], align: String = "---:") -> String {
        var s = "| " + header.joined(separator: " | ") + " |\n"
        s += "| " + header.indices.map { $0 == 0 ? "---" : align }.joined(separator: " | ") + " |\n"
        for r in rows { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }
}

/// How reports print numbers: fixed decimals, and `–` for a missing or non-finite value (an empty
/// set's MAE, a constant target's R²), never `nan`.
public enum ReportNumber {
    public static func fixed(_ v: Double?, _ digits: Int) -> String {
        guard let v, v.isFinite else { return "–" }
        return String(cFormat: "%.\(digits)f", v)
    }

    /// A fraction as a whole percentage: 0.803 → `80 %`.
    public static func percent(_ fraction: Double?) -> String {
        fraction.map { fixed($0 * 100, 0) + " %" } ?? "–"
    }
}
