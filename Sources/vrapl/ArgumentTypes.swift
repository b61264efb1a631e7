import ArgumentParser
import VraplCore
import VraplDataset

// Types that parse themselves on the command line, so `--help` lists their values and a bad value
// gets one line naming the allowed ones. (Durations: VraplCommandLine.DurationArgument.)

extension SplitKind: ExpressibleByArgument {}

/// `rapl`, `sim`, `sim:<profile>` or `model:<name>`.
extension PowerSource: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}

/// `--split shuffle,segment`, or `all`: the splits `vrapl evaluate` scores, in the order given.
struct SplitList: ExpressibleByArgument {
    var kinds: [SplitKind]

    init(_ kinds: [SplitKind]) { self.kinds = kinds }

    init?(argument: String) {
        if argument == "all" { kinds = SplitKind.allCases; return }
        let parsed = argument.split(separator: ",").map { SplitKind(rawValue: String($0)) }
        guard !parsed.isEmpty, !parsed.contains(where: { $0 == nil }) else { return nil }
        kinds = parsed.compactMap { $0 }
    }

    var defaultValueDescription: String { kinds.map(\.rawValue).joined(separator: ",") }
    static var allValueStrings: [String] { SplitKind.allCases.map(\.rawValue) + ["all"] }
}
