import Foundation
import VraplCore
import VraplConfigFile

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
        let y = try YAMLMapping.parse(text, what: "a simulator profile")
        try y.rejectUnknown(["name", "cpu_model", "threads", "tdp_w", "idle_w", "idle_jitter_w", "turbo_kappa", "thermal_tau",
                             "meter_noise_w", "intensity_jitter", "mix_jitter", "max_energy_range_uj", "class_w",
                             "housekeeping", "background", "stressors", "published"])
        let hk = try y.require(y.mapping("housekeeping"), "housekeeping")
        try hk.rejectUnknown(["user", "system", "ctxt_hz", "intr_hz", "forks_hz", "pgfault_hz"])
        let bg = try y.require(y.mapping("background"), "background")
        try bg.rejectUnknown(["rate_hz", "threads", "samples", "mix"])
        var stressors: [String: StressorProfile] = [:]
        let sm = try y.require(y.mapping("stressors"), "stressors")
        for key in sm.keys {
            let s = try sm.require(sm.mapping(key), key)
            try s.rejectUnknown(["family", "user", "system", "iowait", "softirq", "ctxt_hz", "intr_hz", "forks_hz", "pgfault_hz",
                                 "pgmajfault_hz", "blocked", "startup", "mix"])
            let st = StressorProfile(
                family: (try s.string("family")) ?? key,
                user: try s.required("user"), system: try s.required("system"), iowait: (try s.double("iowait") ?? 0),
                softirq: (try s.double("softirq") ?? 0),
                contextSwitchesHz: try s.required("ctxt_hz"), interruptsHz: try s.required("intr_hz"),
                forksHz: (try s.double("forks_hz") ?? 0), pageFaultsHz: (try s.double("pgfault_hz") ?? 0),
                majorFaultsHz: (try s.double("pgmajfault_hz") ?? 0),
                blockedPerWorker: (try s.double("blocked") ?? 0), startup: try s.require(s.duration("startup"), "startup"),
                mix: try s.mix("mix"))
            if st.user + st.system + st.iowait + st.softirq > 1.0001 {
                throw VraplError("stressors.\(key): user + system + iowait + softirq exceeds one CPU per worker")
            }
            stressors[key] = st
        }
        var published: [String: ClosedRange<Double>] = [:]
        if let pm = try y.mapping("published") {
            for key in pm.keys {
                let r = try pm.require(pm.doubles(key), key)
                guard r.count == 2, r[0] <= r[1] else { throw VraplError("published.\(key) must be [min, max]") }
                published[key] = r[0]...r[1]
            }
        }
        let threads = Int(try y.required("threads"))
        guard threads >= 1 else { throw VraplError("threads must be ≥ 1") }
        let bgThreads = try bg.require(bg.doubles("threads"), "threads"), bgSamples = try bg.require(bg.doubles("samples"), "samples")
        guard bgThreads.count == 2, bgSamples.count == 2, bgThreads[0] <= bgThreads[1], bgSamples[0] <= bgSamples[1], bgSamples[0] >= 1 else {
            throw VraplError("background.threads and background.samples must be [min, max]")
        }
        var p = SimProfile(
            name: try y.require(y.string("name"), "name"), cpuModel: (try y.string("cpu_model")) ?? "simulated",
            threads: threads, idleWatts: try y.required("idle_w"), idleJitterWatts: try y.required("idle_jitter_w"),
            turboKappa: try y.required("turbo_kappa"), thermalTau: try y.require(y.duration("thermal_tau"), "thermal_tau"),
            meterNoiseWatts: try y.required("meter_noise_w"), intensityJitter: try y.required("intensity_jitter"),
            mixJitter: try y.required("mix_jitter"), maxEnergyRangeUj: UInt64(try y.required("max_energy_range_uj")),
            classWatts: try y.mix("class_w", normalised: false),
            housekeepingUser: try hk.required("user"), housekeepingSystem: try hk.required("system"),
            housekeepingContextSwitchesHz: try hk.required("ctxt_hz"), housekeepingInterruptsHz: try hk.required("intr_hz"),
            housekeepingForksHz: try hk.required("forks_hz"), housekeepingPageFaultsHz: try hk.required("pgfault_hz"),
            backgroundRateHz: try bg.required("rate_hz"), backgroundThreads: bgThreads[0]...bgThreads[1],
            backgroundSamples: Int(bgSamples[0])...Int(bgSamples[1]), backgroundMix: try bg.mix("mix"),
            stressors: stressors, published: published)
        if let tdp = try y.double("tdp_w") {
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

/// The profile's own look-ups on a YAML mapping: a required number, and an instruction-class mix.
extension YAMLMapping {
    func required(_ key: String) throws -> Double { try require(double(key), key) }

    /// A class → weight mapping; `normalised` checks that the weights sum to 1.
    func mix(_ key: String, normalised: Bool = true) throws -> [InstructionClass: Double] {
        let mm = try require(mapping(key), key)
        var out: [InstructionClass: Double] = [:]
        for k in mm.keys {
            guard let c = InstructionClass(rawValue: k) else {
                throw VraplError("'\(mm.fullKey(k))' is not an instruction class (\(InstructionClass.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let w = try mm.required(k)
            guard w >= 0 else { throw VraplError("'\(mm.fullKey(k))' must be ≥ 0") }
            out[c] = w
        }
        if normalised {
            let s = out.values.reduce(0, +)
            guard abs(s - 1) < 1e-6 else { throw VraplError("'\(fullKey(key))' weights must sum to 1 (they sum to \(s))") }
        }
        return out
    }
}
