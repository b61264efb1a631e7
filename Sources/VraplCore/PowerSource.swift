/// Where the power figures in a trace or a model came from. Simulated data must never look real:
/// every trace, model, report and metric carries this, and it prints as `rapl` or `sim:<profile>`.
public enum PowerSource: Hashable, Sendable, CustomStringConvertible {
    /// Measured by the CPU's RAPL energy counters (Linux powercap).
    case rapl
    /// Produced by `vrapl simulate` with the named profile (or `basic` for the collector's simple model).
    case simulated(profile: String)

    public var isSimulated: Bool { if case .simulated = self { return true } else { return false } }

    /// `rapl` or `sim:<profile>`.
    public var description: String {
        switch self {
        case .rapl: return "rapl"
        case .simulated(let profile): return "sim:\(profile)"
        }
    }

    /// Parses `rapl`, `sim` (profile `basic`) or `sim:<profile>`.
    public init?(parsing text: String) {
        if text == "rapl" { self = .rapl; return }
        if text == "sim" { self = .simulated(profile: "basic"); return }
        if text.hasPrefix("sim:"), text.count > 4 { self = .simulated(profile: String(text.dropFirst(4))); return }
        return nil
    }

    /// The short label reports and metrics print: `rapl` or `sim`.
    public var shortLabel: String { isSimulated ? "sim" : "rapl" }
}
