import Foundation
import VraplCore
import VraplSources

/// Which CPU energy `vrapl attribute run --live` attributes: RAPL, the documented stand-in
/// (`sim:cpu-linear`), or RAPL where it can be read and the stand-in otherwise (said once).
public enum CPUSourceChoice: String, CaseIterable, Sendable {
    case auto, rapl, sim

    /// Opens the chosen source. `rapl` reads the package zones under `<sysfs>/class/powercap` (an
    /// error names the tree); `auto` falls back to the simulation and tells `warn` why.
    public func open(sysfs: String, procfs: String, simulated spec: SimulatedCPUSpec, warn: (String) -> Void) throws -> CPUPowerSource {
        func simulated() -> CPUPowerSource { SimulatedCPUPowerSource(idle: Watts(spec.idleW), max: Watts(spec.maxW), procfs: procfs) }
        func rapl() throws -> CPUPowerSource {
            let reader = try PowercapReader(sysfs: sysfs)
            let packages = reader.zones.enumerated().filter { $0.element.isPackage }
            guard !packages.isEmpty else { throw VraplError("\(sysfs): RAPL zones found but no package zone") }
            return EnergyCounterCPUPowerSource(powerSource: .rapl) {
                let values = try reader.read()
                return packages.map { (values[$0.offset], $0.element.maxEnergyRange) }
            }
        }
        switch self {
        case .sim: return simulated()
        case .rapl: return try rapl()
        case .auto:
            do { return try rapl() } catch {
                warn("no RAPL (\(error)); using simulated CPU power sim:cpu-linear (\(spec.idleW)–\(spec.maxW) W)")
                return simulated()
            }
        }
    }
}

/// The live monitor loop: steps a `LiveAttributor` every `step` on absolute monotonic deadlines
/// (`SampleClock`, so lateness never accumulates into drift) for `duration`, hands each interval to
/// `onStep`, and rewrites `<out>/metrics.prom` atomically after every step.
public struct LiveAttributionRun {
    public var live: LiveAttributor
    public var configName: String
    public var step: Seconds
    public var duration: Seconds
    /// Directory of `metrics.prom` (created).
    public var out: String

    public init(live: LiveAttributor, configName: String, step: Seconds, duration: Seconds, out: String) throws {
        guard step.value > 0, duration.value > 0 else { throw VraplError("--interval and --duration must be > 0") }
        self.live = live; self.configName = configName; self.step = step; self.duration = duration; self.out = out
    }

    /// `t=2.0s E_sys=… baseline=… a=…J … unattributed=… residual=…%`: the line printed per interval.
    public static func line(_ r: IntervalAttribution, at t: Double) -> String {
        let parts = r.workloads.map { "\($0.name)=\(String(format: "%.2f", $0.energy.total.value))J" }.joined(separator: " ")
        return String(format: "t=%.1fs E_sys=%.2fJ baseline=%.2fJ ", t, r.system.total.value, r.baseline.total.value)
            + parts + String(format: " unattributed=%.2fJ residual=%.2e%%", r.unattributed.total.value, 100 * r.residualFraction)
    }

    /// Runs to the end and returns the report of the held intervals.
    public func run(onStep: (IntervalAttribution, Double) -> Void) throws -> AttributionReport {
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw VraplError("cannot create output directory \(out): \(error.localizedDescription)")
        }
        try live.prime()
        let start = SampleClock.monotonicNs()
        var k = 1
        while Double(k) * step.value <= duration.value + 1e-9 {
            let deadline = start + UInt64((Double(k) * step.value * 1e9).rounded())
            while !SampleClock.sleep(untilMonotonicNs: deadline) {}
            let r = try live.step()
            onStep(r, Double(k) * step.value)
            try? TextFile.writeAtomically(live.totalsReport(configName: configName).prometheus(), to: out + "/metrics.prom")
            k += 1
        }
        return live.report(configName: configName)
    }
}
