import Foundation
import VraplCore

/// Synthetic experiment in the shape of the paper's Phase 3 (host, cgroup and wall CSVs per phase),
/// built from its published component figures. It exists to test and demonstrate attribution and
/// validation without the paper's private data: nothing it writes is a measurement.
///
/// Host model (Alienware R12-like: 2 GPUs, 32 GB): idle CPU 18 W, GPU0 13 W, GPU1 11 W, memory
/// 0.2 W/GB × 32 GB; wall = 4 W + 1.1 × (CPU + GPUs + memory). Each workload adds its published
/// induced power (ResNet18 9 W CPU / 118 W GPU, YOLO-m 10 / 44, GPT-2 9 / 39, Node.js 20 / 0.2) at a
/// CPU utilisation of its own, so CPU watts per CPU-% differ slightly between workloads (as on real
/// hardware); when two run together the package draws 98 % of the sum (shared uncore, turbo).
/// Every phase has a 15 s warm-up (CPU spike, GPU ramp) and a 5 s wind-down that trimming must remove,
/// and 1 s samples carry ±2 % power noise and ±4 % utilisation noise from a seeded generator.
public struct PaperSynth {
    public struct Profile: Sendable {
        public var name: String
        public var cpuW: Double
        public var cpuPercent: Double
        public var gpuW: Double
        public var gpuUtilPct: Double
        public init(name: String, cpuW: Double, cpuPercent: Double, gpuW: Double, gpuUtilPct: Double) {
            self.name = name; self.cpuW = cpuW; self.cpuPercent = cpuPercent; self.gpuW = gpuW; self.gpuUtilPct = gpuUtilPct
        }
    }

    /// The paper's solo table (induced power by component) with assumed utilisations.
    public static let profiles: [String: Profile] = [
        "resnet18": Profile(name: "resnet18", cpuW: 9, cpuPercent: 45, gpuW: 118, gpuUtilPct: 97),
        "yolo_medium": Profile(name: "yolo_medium", cpuW: 10, cpuPercent: 48, gpuW: 44, gpuUtilPct: 62),
        "gpt2": Profile(name: "gpt2", cpuW: 9, cpuPercent: 44, gpuW: 39, gpuUtilPct: 58),
        "nodejs": Profile(name: "nodejs", cpuW: 20, cpuPercent: 98, gpuW: 0.2, gpuUtilPct: 0),
    ]
    public static let idleCPU = 18.0, idleGPU = [13.0, 11.0], memoryW = 0.2 * 32
    /// The cgroup slices and their GPUs, as in the paper: yolo.slice → GPU0, nodejs.slice → GPU1.
    public static let slices = [("yolo.slice", 0), ("nodejs.slice", 1)]

    var rng: UInt64
    public init(seed: UInt64 = 42) { rng = seed }

    mutating func uniform() -> Double {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
    mutating func noise(_ relative: Double) -> Double { 1 + relative * (2 * uniform() - 1) }

    /// One phase: `slots` maps a slice index (0: yolo.slice on GPU0, 1: nodejs.slice on GPU1) to a
    /// profile name. Writes `<phase>_host.csv` and `<phase>_cgroup.csv`; returns wall samples.
    mutating func phase(_ name: String, slots: [Int: String], start: Double, seconds: Int, directory: String) throws -> [(Double, Double)] {
        var host = "timestamp,rapl_package_w,gpu0_power_w,gpu1_power_w,gpu0_util_pct,gpu1_util_pct\n"
        var cg = "timestamp,cgroup,cpu_percent,memory_bytes,memory_max,io_read_bytes,io_write_bytes\n"
        var wall: [(Double, Double)] = []
        let concurrency = slots.count > 1 ? 0.98 : 1.0
        for s in 0..<seconds {
            let t = start + Double(s + 1)
            // Warm-up: CPU spikes (model loading) and GPU ramps; wind-down: both fade.
            let warm = s < 15 ? Double(s) / 15 : 1
            let fading = s >= seconds - 5 ? Double(seconds - s) / 6 : 1
            let gpuLevel = warm * fading
            let cpuLevel = (s < 15 ? 1.8 - 0.8 * warm : 1) * fading
            var cpu = Self.idleCPU
            var gpu = Self.idleGPU
            var util = [0.0, 0.0]
            var rows = ""
            for (slot, profileName) in slots.sorted(by: { $0.key < $1.key }) {
                guard let p = Self.profiles[profileName] else { throw VraplError("synth: unknown profile \(profileName)") }
                let (slice, g) = Self.slices[slot]
                let cpuPercent = p.cpuPercent * cpuLevel * noise(0.04)
                cpu += concurrency * p.cpuW * cpuPercent / p.cpuPercent
                gpu[g] += p.gpuW * gpuLevel * noise(0.02)
                util[g] = min(100, p.gpuUtilPct * gpuLevel * noise(0.04))
                let io = 2_000_000 * uniform()
                rows += "\(String(format: "%.3f", t)),\(slice),\(String(format: "%.3f", cpuPercent)),\(Int(3e9 * noise(0.05))),4294967296,\(Int(io)),\(Int(io / 2))\n"
            }
            cpu *= noise(0.02)
            host += "\(String(format: "%.3f", t)),\(String(format: "%.3f", cpu)),\(String(format: "%.3f", gpu[0])),\(String(format: "%.3f", gpu[1])),"
            host += "\(String(format: "%.1f", util[0])),\(String(format: "%.1f", util[1]))\n"
            cg += rows
            wall.append((t + 0.3, 4 + 1.1 * (cpu + gpu[0] + gpu[1] + Self.memoryW)))
        }
        try write(host, "\(directory)/\(name)_host.csv")
        try write(cg, "\(directory)/\(name)_cgroup.csv")
        return wall
    }

    func write(_ text: String, _ path: String) throws {
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw VraplError("\(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// The phases written by `generate`: baseline, four solos, three AI + Node.js pairs and one AI + AI pair.
    public static let phaseSlots: [(String, [Int: String])] = [
        ("baseline", [:]),
        ("solo_resnet18", [0: "resnet18"]), ("solo_yolo_medium", [0: "yolo_medium"]), ("solo_gpt2", [0: "gpt2"]),
        ("solo_nodejs", [1: "nodejs"]), ("solo_gpt2_gpu1", [1: "gpt2"]),
        ("resnet18_nodejs", [0: "resnet18", 1: "nodejs"]), ("yolo_medium_nodejs", [0: "yolo_medium", 1: "nodejs"]),
        ("gpt2_nodejs", [0: "gpt2", 1: "nodejs"]), ("yolo_medium_gpt2", [0: "yolo_medium", 1: "gpt2"]),
    ]

    /// Validation cases for the generated phases (workloads `ai` = yolo.slice, `web` = nodejs.slice).
    public static let cases: [Validation.Case] = [
        .init(concurrent: "resnet18_nodejs", solos: ["ai": "solo_resnet18", "web": "solo_nodejs"]),
        .init(concurrent: "yolo_medium_nodejs", solos: ["ai": "solo_yolo_medium", "web": "solo_nodejs"]),
        .init(concurrent: "gpt2_nodejs", solos: ["ai": "solo_gpt2", "web": "solo_nodejs"]),
        .init(concurrent: "yolo_medium_gpt2", solos: ["ai": "solo_yolo_medium", "web": "solo_gpt2_gpu1"]),
    ]

    /// Writes every phase (baseline 60 s, others 90 s, 20 s apart) and one `wall.csv` into `directory`.
    public mutating func generate(directory: String, start: Double = 1_700_000_000) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw VraplError("\(directory): cannot create: \(error.localizedDescription)")
        }
        var t = start
        var wall = "timestamp,power_w\n"
        for (name, slots) in Self.phaseSlots {
            let seconds = name == "baseline" ? 60 : 90
            for (time, w) in try phase(name, slots: slots, start: t, seconds: seconds, directory: directory) {
                wall += "\(String(format: "%.3f", time)),\(String(format: "%.3f", w))\n"
            }
            t += Double(seconds + 20)
        }
        try write(wall, "\(directory)/wall.csv")
    }

    /// The attribution setup matching the generated data (also shipped as configs/attribution/paper-alienware.yaml).
    public static var config: AttributionConfig {
        var c = AttributionConfig()
        c.name = "paper-alienware"
        c.workloads = [WorkloadSpec(name: "ai", cgroups: ["yolo.slice"], gpus: [0]), WorkloadSpec(name: "web", cgroups: ["nodejs.slice"], gpus: [1])]
        c.memoryTotalGB = 32
        c.gpuIdle = .baseline
        return c
    }
}
