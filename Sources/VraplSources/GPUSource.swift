import VraplCore

/// One process's use of a GPU (NVML per-process samples or `nvidia-smi pmon`).
public struct GPUProcessSample: Sendable, Equatable {
    public var pid: Int32
    /// SM (compute) utilisation, % of the device.
    public var smUtilPct: Double
    public init(pid: Int32, smUtilPct: Double) { self.pid = pid; self.smUtilPct = smUtilPct }
}

/// One reading of one GPU.
public struct GPUSample: Sendable, Equatable {
    public var index: Int
    public var name: String
    /// Board power draw, W (nil: not supported).
    public var power: Watts?
    /// Cumulative energy since driver load, mJ (NVML on Volta and newer), for exact interval energy.
    public var totalEnergyMillijoules: UInt64?
    /// Device utilisation, %.
    public var utilizationPct: Double?
    public var processes: [GPUProcessSample]
    public init(index: Int, name: String = "", power: Watts? = nil, totalEnergyMillijoules: UInt64? = nil,
                utilizationPct: Double? = nil, processes: [GPUProcessSample] = []) {
        self.index = index; self.name = name; self.power = power; self.totalEnergyMillijoules = totalEnergyMillijoules
        self.utilizationPct = utilizationPct; self.processes = processes
    }
}

/// A GPU reader: NVML through `dlopen`, or `nvidia-smi`.
public protocol GPUSource: AnyObject {
    var sourceLabel: String { get }
    func sample() throws -> [GPUSample]
}

extension GPUSample {
    /// Energy between two readings of the same GPU: the energy counter when both have it, else the
    /// mean of the two power readings × Δt (0 when no power is known).
    public static func energy(from a: GPUSample, to b: GPUSample, seconds: Double) -> Joules {
        if let e0 = a.totalEnergyMillijoules, let e1 = b.totalEnergyMillijoules, e1 >= e0 {
            return Joules(Double(e1 - e0) / 1000)
        }
        let powers = [a.power, b.power].compactMap { $0?.value }
        guard !powers.isEmpty else { return .zero }
        return Joules(powers.reduce(0, +) / Double(powers.count) * seconds)
    }
}

/// Parses the output of `nvidia-smi --query-gpu=index,name,power.draw,utilization.gpu --format=csv`
/// (with or without `noheader`/`nounits`; columns in any order when a header is present).
public enum NvidiaSMIParser {
    public static let queryFields = "index,name,power.draw,utilization.gpu"

    public static func parseQueryGPU(_ text: String, source: String = "nvidia-smi") throws -> [GPUSample] {
        var lines = text.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return [] }
        var columns = ["index", "name", "power.draw", "utilization.gpu"]
        if lines[0].lowercased().hasPrefix("index") || lines[0].contains("power.draw") {
            columns = lines[0].split(separator: ",").map {
                String($0).trimmingWhitespace().lowercased().split(separator: " ").first.map(String.init) ?? ""
            }
            lines.removeFirst()
        }
        func column(_ name: String) -> Int? { columns.firstIndex(of: name) }
        guard let iPower = column("power.draw") else { throw VraplError("\(source): no power.draw column in '\(columns.joined(separator: ","))'") }
        var out: [GPUSample] = []
        for (n, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            guard f.count == columns.count else {
                throw VraplError("\(source): line \(n + 2) has \(f.count) fields, header has \(columns.count): '\(line)'")
            }
            let index: Int
            if let i = column("index") {
                guard let v = Int(f[i]) else { throw VraplError("\(source): line \(n + 2): index '\(f[i])' is not an integer") }
                index = v
            } else { index = n }
            var s = GPUSample(index: index, name: column("name").map { f[$0] } ?? "")
            s.power = try number(f[iPower], unit: "W", source: source, line: n + 2).map(Watts.init)
            if let i = column("utilization.gpu") { s.utilizationPct = try number(f[i], unit: "%", source: source, line: n + 2) }
            out.append(s)
        }
        return out
    }

    /// `nvidia-smi pmon -c 1 -s u` lines: `# gpu pid type sm mem enc dec command`; `-` means no sample.
    public static func parsePmon(_ text: String) -> [Int: [GPUProcessSample]] {
        var out: [Int: [GPUProcessSample]] = [:]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            guard f.count >= 4, let gpu = Int(f[0]), let pid = Int32(f[1]) else { continue }
            out[gpu, default: []].append(GPUProcessSample(pid: pid, smUtilPct: Double(f[3]) ?? 0))
        }
        return out
    }

    /// "123.45 W", "123.45", "[N/A]", "[Not Supported]" → value or nil; anything else is an error.
    static func number(_ text: String, unit: String, source: String, line: Int) throws -> Double? {
        if text.hasPrefix("[") || text == "N/A" { return nil }
        var t = text
        if t.hasSuffix(unit) { t = String(t.dropLast(unit.count)).trimmingWhitespace() }
        guard let v = Double(t), v.isFinite else { throw VraplError("\(source): line \(line): '\(text)' is not a number") }
        return v
    }
}

/// Runs `nvidia-smi` each sample (a fallback when NVML cannot be loaded).
public final class NvidiaSMIGPUSource: GPUSource {
    public let sourceLabel = "nvidia-smi"
    let executable: String
    public init(executable: String = "nvidia-smi") { self.executable = executable }

    public func sample() throws -> [GPUSample] {
        var gpus = try NvidiaSMIParser.parseQueryGPU(try run(["--query-gpu=" + NvidiaSMIParser.queryFields, "--format=csv,nounits"]))
        if let pmon = try? run(["pmon", "-c", "1", "-s", "u"]) {
            let procs = NvidiaSMIParser.parsePmon(pmon)
            for i in gpus.indices { gpus[i].processes = procs[gpus[i].index] ?? [] }
        }
        return gpus
    }

    func run(_ arguments: [String]) throws -> String { try ProgramOutput.run(executable, arguments) }

}

/// Picks NVML when `libnvidia-ml.so.1` loads, else `nvidia-smi` when it runs, else nil.
public func openDefaultGPUSource() -> (GPUSource?, String) {
    do {
        return (try NVMLGPUSource(), "NVML loaded")
    } catch {
        let smi = NvidiaSMIGPUSource()
        if (try? smi.sample()) != nil { return (smi, "NVML unavailable (\(error)); using nvidia-smi") }
        return (nil, "no GPU source: \(error); nvidia-smi not usable")
    }
}
