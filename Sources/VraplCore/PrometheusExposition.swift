/// One Prometheus text exposition (format 0.0.4) as it is written: each family's `# HELP` and
/// `# TYPE` lines, then its samples, with label values escaped (`PrometheusLabel`) and numbers in
/// Prometheus' spelling (`NaN`, `+Inf`, integers without a fraction). The guest's /metrics and
/// textfile (`VraplGuest.PrometheusText`) and `vrapl attribute`'s report both write through it.
public struct PrometheusExposition: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public private(set) var text = ""

    public init(capacity: Int = 2048) { text.reserveCapacity(capacity) }

    /// `# HELP name help` and `# TYPE name type` (`gauge`, `counter`).
    public mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// `name{label="value",…} number`.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(PrometheusLabel.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    /// Prometheus' spelling of a sample value.
    public static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "+Inf" : "-Inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}
