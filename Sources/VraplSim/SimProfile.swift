import Foundation
import VraplCore
import Yams

/// The hidden instruction classes whose mix sets the power of busy CPU time. No guest counter shows
/// them: /proc/stat only says a thread was busy in user or system mode, not what it executed.
public enum InstructionClass: String, CaseIterable, Sendable {
    case compute, cache, memory, syscall, io, pipe
}

/// The guest-visible behaviour of one stress-ng stressor (per worker) and its hidden class mix.
public struct StressorProfile: Sendable, Equatable {
    /// Workload family for splits (normally the stressor name).
    public var family: String
    /// Fraction of one logical CPU each worker spends in user, system and iowait (sum ≤ 1).
    public var user: Double
    public var system: Double
    public var iowait: Double
    /// Softirq time per worker (fraction of a CPU), e.g. for I/O completion and pipes.
    public var softirq: Double
    /// Visible event rates per worker, per second.
    public var contextSwitchesHz: Double
    public var interruptsHz: Double
    public var forksHz: Double
    public var pageFaultsHz: Double
    public var majorFaultsHz: Double
    /// Tasks in D state per worker (procs_blocked).
    public var blockedPerWorker: Double
    /// Start-up ramp of the workers, seconds (stress-ng forks, allocates and warms up).
    public var startup: Double
    /// Hidden: the share of busy time spent in each instruction class (sums to 1).
    public var mix: [InstructionClass: Double]

    /// Busy (non-idle, non-iowait) CPU per worker: user + system + softirq.
    public var busyPerWorker: Double { user + system + softirq }
}

/// A power-model profile (configs/sim/<name>.yaml). Equations in docs/simulator.md.
public struct SimProfile: Sendable, Equatable {
    public var name: String
    public var cpuModel: String
    /// Logical CPUs of the modelled machine (the trace's core count).
    public var threads: Int
    /// P_idle: package power with nothing but housekeeping running, W (mean over segments).
    public var idleWatts: Double
    /// The modelled CPU's TDP (`tdp_w`, the vendor's figure), W: only the published TDP baselines of
    /// `vrapl evaluate` use it; nil when the profile does not say.
    public var tdpWatts: Double? = nil
    /// Hidden per-segment idle-floor offset, uniform in ±idleJitterWatts.
    public var idleJitterWatts: Double
    /// Turbo: per-busy-thread factor T(B) = 1 + κ·(1 − B/threads).
    public var turboKappa: Double
    /// Thermal/VR lag of the dynamic part, seconds (first order).
    public var thermalTau: Double
    /// Meter noise, standard deviation per sample, W.
    public var meterNoiseWatts: Double
    /// Hidden per-segment intensity m ~ U[1 − j, 1 + j] and per-class mix jitter δ_c ~ U[−j, j].
    public var intensityJitter: Double
    public var mixJitter: Double
    /// RAPL `max_energy_range_uj` of the package zone.
    public var maxEnergyRangeUj: UInt64
    /// p_c: power per busy logical CPU for each instruction class at T = 1, W.
    public var classWatts: [InstructionClass: Double]
    /// Always-on housekeeping activity, logical CPUs busy in user and system, and its event rates.
    public var housekeepingUser: Double
    public var housekeepingSystem: Double
    public var housekeepingContextSwitchesHz: Double
    public var housekeepingInterruptsHz: Double
    public var housekeepingForksHz: Double
    public var housekeepingPageFaultsHz: Double
    /// Background daemon wake-ups during idle: Poisson rate, size (CPUs) and length (samples).
    public var backgroundRateHz: Double
    public var backgroundThreads: ClosedRange<Double>
    public var backgroundSamples: ClosedRange<Int>
    /// Class mix of housekeeping/background work (not jittered).
    public var backgroundMix: [InstructionClass: Double]
    /// Stressor behaviour by stress-ng stressor name.
    public var stressors: [String: StressorProfile]
    /// Published steady-state ranges at `threads` workers (W), by stressor name and `idle`; the fit targets.
    public var published: [String: ClosedRange<Double>]

    /// Σ_c mix_c · p_c for a mix (W per busy CPU at T = 1).
    public func wattsPerBusyThread(_ mix: [InstructionClass: Double]) -> Double {
        var s = 0.0
        for (c, w) in mix { s += w * (classWatts[c] ?? 0) }
        return s
    }

    /// T(B) = 1 + κ·(1 − min(B, n)/n).
    @inline(__always)
    public func turbo(busyThreads b: Double) -> Double {
        1 + turboKappa * (1 - min(max(b, 0), Double(threads)) / Double(threads))
    }
}

extension SimProfile {
    /// Finds a profile by name (`configs/sim/<name>.yaml`, searched from the working directory and
    /// upwards from the executable) or by path (anything ending in .yaml/.yml or containing `/`).
    public static func locate(_ nameOrPath: String) throws -> String {
        let fm = FileManager.default
        if nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") || nameOrPath.contains("/") {
            guard fm.fileExists(atPath: nameOrPath) else { throw VraplError("simulator profile \(nameOrPath) not found") }
            return nameOrPath
        }
        var roots = [fm.currentDirectoryPath]
        // The running binary's real path (/proc/self/exe), so `vrapl` found through PATH still finds
        // the configs of the checkout it was built in; argv[0] is only a name then.
        let executable = Bundle.main.executablePath ?? CommandLine.arguments.first ?? "."
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 { roots.append(dir.path); dir = dir.deletingLastPathComponent() }
        for root in roots {
            let p = root + "/configs/sim/\(nameOrPath).yaml"
            if fm.fileExists(atPath: p) { return p }
        }
        throw VraplError("simulator profile '\(nameOrPath)' not found: looked for configs/sim/\(nameOrPath).yaml under \(roots[0]) and above the vrapl binary; pass a path instead")
    }

    /// Loads a profile by name or path.
    public static func load(_ nameOrPath: String) throws -> SimProfile {
        let path = try locate(nameOrPath)
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw VraplError("cannot read simulator profile \(path)")
        }
        do { return try parse(yaml: text) } catch let e as VraplError { throw VraplError("\(path): \(e.message)") }
    }

    /// Parses profile YAML (keys as in configs/sim/xeon-silver-4210r.yaml).
    public static func parse(yaml text: String) throws -> SimProfile {
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw VraplError("invalid YAML: \(error)") }
        guard let m = root as? [String: Any] else { throw VraplError("a simulator profile must be a YAML mapping") }
        let y = YAMLMap(m, path: "")
        let hk = try y.map("housekeeping")
        let bg = try y.map("background")
        var stressors: [String: StressorProfile] = [:]
        let sm = try y.map("stressors")
        for key in sm.keys.sorted() {
            let s = try sm.map(key)
            let st = StressorProfile(
                family: (try? s.string("family")) ?? key,
                user: try s.number("user"), system: try s.number("system"), iowait: try s.number("iowait", default: 0),
                softirq: try s.number("softirq", default: 0),
                contextSwitchesHz: try s.number("ctxt_hz"), interruptsHz: try s.number("intr_hz"),
                forksHz: try s.number("forks_hz", default: 0), pageFaultsHz: try s.number("pgfault_hz", default: 0),
                majorFaultsHz: try s.number("pgmajfault_hz", default: 0),
                blockedPerWorker: try s.number("blocked", default: 0), startup: try s.duration("startup"),
                mix: try s.mix("mix"))
            if st.user + st.system + st.iowait + st.softirq > 1.0001 {
                throw VraplError("stressors.\(key): user + system + iowait + softirq exceeds one CPU per worker")
            }
            stressors[key] = st
        }
        var published: [String: ClosedRange<Double>] = [:]
        if let pm = try? y.map("published") {
            for key in pm.keys {
                let r = try pm.numbers(key)
                guard r.count == 2, r[0] <= r[1] else { throw VraplError("published.\(key) must be [min, max]") }
                published[key] = r[0]...r[1]
            }
        }
        let threads = Int(try y.number("threads"))
        guard threads >= 1 else { throw VraplError("threads must be ≥ 1") }
        let bgThreads = try bg.numbers("threads"), bgSamples = try bg.numbers("samples")
        guard bgThreads.count == 2, bgSamples.count == 2, bgThreads[0] <= bgThreads[1], bgSamples[0] <= bgSamples[1], bgSamples[0] >= 1 else {
            throw VraplError("background.threads and background.samples must be [min, max]")
        }
        var p = SimProfile(
            name: try y.string("name"), cpuModel: (try? y.string("cpu_model")) ?? "simulated",
            threads: threads, idleWatts: try y.number("idle_w"), idleJitterWatts: try y.number("idle_jitter_w"),
            turboKappa: try y.number("turbo_kappa"), thermalTau: try y.duration("thermal_tau"),
            meterNoiseWatts: try y.number("meter_noise_w"), intensityJitter: try y.number("intensity_jitter"),
            mixJitter: try y.number("mix_jitter"), maxEnergyRangeUj: UInt64(try y.number("max_energy_range_uj")),
            classWatts: try y.mix("class_w", normalised: false),
            housekeepingUser: try hk.number("user"), housekeepingSystem: try hk.number("system"),
            housekeepingContextSwitchesHz: try hk.number("ctxt_hz"), housekeepingInterruptsHz: try hk.number("intr_hz"),
            housekeepingForksHz: try hk.number("forks_hz"), housekeepingPageFaultsHz: try hk.number("pgfault_hz"),
            backgroundRateHz: try bg.number("rate_hz"), backgroundThreads: bgThreads[0]...bgThreads[1],
            backgroundSamples: Int(bgSamples[0])...Int(bgSamples[1]), backgroundMix: try bg.mix("mix"),
            stressors: stressors, published: published)
        if y.m["tdp_w"] != nil {
            let tdp = try y.number("tdp_w")
            guard tdp.isFinite, tdp > 0 else { throw VraplError("tdp_w must be a positive power in W") }
            p.tdpWatts = tdp
        }
        if p.intensityJitter < 0 || p.intensityJitter >= 1 || p.mixJitter < 0 || p.mixJitter >= 1 {
            throw VraplError("intensity_jitter and mix_jitter must be in [0, 1)")
        }
        if p.thermalTau < 0 || p.meterNoiseWatts < 0 || p.idleJitterWatts < 0 { throw VraplError("thermal_tau, meter_noise_w and idle_jitter_w must be ≥ 0") }
        return p
    }
}

/// Minimal typed access to a YAML mapping with error messages naming the key path.
struct YAMLMap {
    let m: [String: Any]
    let path: String
    init(_ m: [String: Any], path: String) { self.m = m; self.path = path }
    var keys: [String] { Array(m.keys) }
    private func full(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    func map(_ k: String) throws -> YAMLMap {
        guard let v = m[k] as? [String: Any] else { throw VraplError("missing or invalid mapping '\(full(k))'") }
        return YAMLMap(v, path: full(k))
    }
    func string(_ k: String) throws -> String {
        guard let v = m[k] else { throw VraplError("missing key '\(full(k))'") }
        return "\(v)"
    }
    static func asDouble(_ v: Any) -> Double? {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String { return Double(s) }
        return nil
    }
    func number(_ k: String, default d: Double? = nil) throws -> Double {
        guard let v = m[k] else {
            if let d { return d }
            throw VraplError("missing key '\(full(k))'")
        }
        guard let x = YAMLMap.asDouble(v), x.isFinite else { throw VraplError("'\(full(k))' must be a number, found '\(v)'") }
        return x
    }
    func numbers(_ k: String) throws -> [Double] {
        guard let list = m[k] as? [Any] else { throw VraplError("'\(full(k))' must be a list of numbers") }
        return try list.map { item in
            guard let x = YAMLMap.asDouble(item) else { throw VraplError("'\(full(k))' must be a list of numbers, found '\(item)'") }
            return x
        }
    }
    func duration(_ k: String) throws -> Double {
        guard let v = m[k] else { throw VraplError("missing key '\(full(k))'") }
        if let x = YAMLMap.asDouble(v) { return x }
        return try DurationText.parse("\(v)", what: full(k))
    }
    /// A class → weight mapping; `normalised` checks that the weights sum to 1.
    func mix(_ k: String, normalised: Bool = true) throws -> [InstructionClass: Double] {
        let mm = try map(k)
        var out: [InstructionClass: Double] = [:]
        for key in mm.keys {
            guard let c = InstructionClass(rawValue: key) else {
                throw VraplError("'\(full(k)).\(key)' is not an instruction class (\(InstructionClass.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let w = try mm.number(key)
            guard w >= 0 else { throw VraplError("'\(full(k)).\(key)' must be ≥ 0") }
            out[c] = w
        }
        if normalised {
            let s = out.values.reduce(0, +)
            guard abs(s - 1) < 1e-6 else { throw VraplError("'\(full(k))' weights must sum to 1 (they sum to \(s))") }
        }
        return out
    }
}
