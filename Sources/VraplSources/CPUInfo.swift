import VraplCore

/// `<procfs>/cpuinfo`, the one parser: one entry per logical CPU (`processor` blocks) with the fields
/// Kepler's `kepler_node_cpu_info` carries, and the CPU model name of the host.
public struct CPUInfo: Sendable, Equatable {
    public struct Processor: Sendable, Equatable {
        public var processor: String
        public var vendorID: String
        public var modelName: String
        public var physicalID: String
        public var coreID: String
    }

    public var processors: [Processor]
    /// The first `model name` (x86), else `Hardware`/`cpu model`/`uarch`/`cpu` (other architectures), else "unknown".
    public var modelName: String

    /// Reads `<procfs>/cpuinfo`; a missing file (minimal fixture trees, some containers) gives no processors.
    public init(procfs: String) {
        self.init(text: (try? TextFile.read(procfs + "/cpuinfo")) ?? "")
    }

    public init(text: String) {
        var out: [Processor] = []
        var block: [String: String] = [:]
        var first: [String: String] = [:]
        func flush() {
            if let p = block["processor"] {
                out.append(Processor(processor: p, vendorID: block["vendor_id"] ?? "", modelName: block["model name"] ?? block["cpu model"] ?? "",
                                     physicalID: block["physical id"] ?? "0", coreID: block["core id"] ?? p))
            }
            block = [:]
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if String(line).trimmingWhitespace().isEmpty { flush(); continue }
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = String(parts[0]).trimmingWhitespace(), value = String(parts[1]).trimmingWhitespace()
            block[key] = value
            if first[key] == nil, !value.isEmpty { first[key] = value }
        }
        flush()
        processors = out
        modelName = ["model name", "Hardware", "cpu model", "uarch", "cpu"].lazy.compactMap { first[$0] }.first ?? "unknown"
    }
}
