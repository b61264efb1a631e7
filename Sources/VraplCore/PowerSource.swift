/// Where the power figures in a trace, a model, an estimate or a report came from. Simulated data
/// must never look real: every trace, model, report and metric carries this, and it prints as
/// `rapl`, `sim:<profile>` or `model:<name>`. Stored (JSON, YAML, HDF5 attributes) as that text.
public enum PowerSource: Hashable, Sendable, CustomStringConvertible, Codable {
    /// Measured by the CPU's RAPL energy counters (Linux powercap).
    case rapl
    /// Produced by `vrapl simulate` with the named profile (or `basic` for the collector's simple model).
    case simulated(profile: String)
    /// Estimated by the named model (the guest's predicted power, fed to attribution).
    case model(name: String)

    public var isSimulated: Bool { if case .simulated = self { return true } else { return false } }

    /// `rapl`, `sim:<profile>` or `model:<name>`.
    public var description: String {
        switch self {
        case .rapl: return "rapl"
        case .simulated(let profile): return "sim:\(profile)"
        case .model(let name): return "model:\(name)"
        }
    }

    /// Parses `rapl`, `sim` (profile `basic`), `sim:<profile>` or `model:<name>`.
    public init?(parsing text: String) {
        if text == "rapl" { self = .rapl; return }
        if text == "sim" { self = .simulated(profile: "basic"); return }
        if text.hasPrefix("sim:"), text.count > 4 { self = .simulated(profile: String(text.dropFirst(4))); return }
        if text.hasPrefix("model:"), text.count > 6 { self = .model(name: String(text.dropFirst(6))); return }
        return nil
    }

    /// The short label reports and metrics print: `rapl`, `sim` or `model`.
    public var shortLabel: String {
        switch self {
        case .rapl: return "rapl"
        case .simulated: return "sim"
        case .model: return "model"
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = PowerSource(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "power source '\(text)' is not rapl, sim:<profile> or model:<name>"))
        }
        self = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
