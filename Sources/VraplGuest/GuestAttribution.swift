import Foundation
import VraplSources
import VraplAttribution
import VraplCore

/// The guest's predicted energy as the attribution module's CPU power source (`model:<name>`).
final class PredictedCPUPowerSource: CPUPowerSource {
    let powerSource: PowerSource
    private let energy: () -> Double

    init(modelName: String, energy: @escaping () -> Double) {
        powerSource = .model(name: modelName)
        self.energy = energy
    }

    func cumulativeEnergy(now: Double) throws -> Joules { Joules(energy()) }
}

/// `--attribute CONFIG`: splits the guest's predicted CPU energy across cgroups (v2) with
/// VraplAttribution's live attributor (CPU by usage share, memory by allocation, storage by bytes,
/// conservation checked every interval). Stepped from the export tick, every `interval_s` of the config.
public final class GuestAttribution {
    public let live: LiveAttributor
    public let configName: String
    private let intervalSeconds: Double
    private var lastStep: Double

    public init(configPath: String, procfs: String, cgroupfs: String?, modelName: String, energy: @escaping () -> Double) throws {
        let config: AttributionConfig
        do {
            config = try AttributionConfig.load(path: configPath).validated()
        } catch let error as VraplError {
            throw VraplError("--attribute \(configPath): \(error.message)")
        }
        guard let root = cgroupfs ?? CGroupMount.unifiedRoot() else {
            throw VraplError("--attribute \(configPath): no cgroup v2 hierarchy mounted (give --cgroupfs)")
        }
        configName = config.name
        intervalSeconds = max(0.1, config.intervalS)
        live = LiveAttributor(config: config, cgroups: CGroupReader(root: root),
                              cpu: PredictedCPUPowerSource(modelName: modelName, energy: energy), gpu: nil, procfs: procfs)
        try live.prime()
        lastStep = SampleClock.monotonicSeconds()
    }

    /// CPU energy attributed to each workload so far, J, by name.
    public var totals: [(workload: String, joules: Double)] {
        live.runningTotals.workloads.map { ($0.key, $0.value.cpu.value) }.sorted { $0.workload < $1.workload }
    }

    /// Attributes the interval since the last step when `interval_s` has passed.
    public func update() throws {
        let now = SampleClock.monotonicSeconds()
        guard now - lastStep >= intervalSeconds * 0.95 else { return }
        lastStep = now
        try live.step()
    }
}
