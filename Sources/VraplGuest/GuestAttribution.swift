import VraplCore

/// `--attribute CONFIG`: splits the guest's predicted CPU energy across cgroups with VraplAttribution.
/// Wired to the attribution module's live attributor once it is available.
public final class GuestAttribution {
    public private(set) var totals: [(workload: String, joules: Double)] = []

    public init(configPath: String, procfs: String) throws {
        throw VraplError("--attribute \(configPath): per-cgroup attribution is not available in this build of vrapl-guest yet")
    }

    public func update(cpuEnergyJoules: Double) throws {}
}
