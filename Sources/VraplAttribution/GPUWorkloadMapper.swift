import VraplCore
import VraplSources

/// Maps GPU processes to workloads through their cgroup, and decides each workload's utilisation
/// share of each GPU.
public enum GPUWorkloadMapper {
    /// Per workload, per GPU index: the utilisation (%) of its processes on that GPU. A GPU without
    /// per-process samples that is allocated to exactly one workload gives that workload the device
    /// utilisation. GPUs with neither are left out (the model then splits by allocation).
    public static func utilization(samples: [GPUSample], workloads: [WorkloadSpec],
                                   cgroupOfPid: (Int32) -> String?) -> [String: [Int: Double]] {
        var result: [String: [Int: Double]] = [:]
        for gpu in samples {
            if !gpu.processes.isEmpty {
                for p in gpu.processes {
                    guard let cg = cgroupOfPid(p.pid).map(CGroupReader.normalise),
                          let w = workloads.first(where: { spec in spec.cgroups.contains { cg == $0 || cg.hasPrefix($0 + "/") } })
                    else { continue }
                    result[w.name, default: [:]][gpu.index, default: 0] += p.smUtilPct
                }
                // Workloads allocated this GPU but with no process on it used 0 % of it.
                for w in workloads where w.gpus.contains(gpu.index) && result[w.name]?[gpu.index] == nil {
                    result[w.name, default: [:]][gpu.index] = 0
                }
            } else if let u = gpu.utilizationPct {
                let owners = workloads.filter { $0.gpus.contains(gpu.index) }
                if owners.count == 1 { result[owners[0].name, default: [:]][gpu.index] = u }
            }
        }
        return result
    }

    /// The cgroup v2 path of a process from `<procfs>/<pid>/cgroup`, nil if it is gone.
    public static func cgroupOfPid(_ pid: Int32, procfs: String = "/proc") -> String? {
        guard case .success(let text) = TextFile.readSmall("\(procfs)/\(pid)/cgroup") else { return nil }
        return CGroupParse.unifiedCGroupPath(fromProcCGroup: text)
    }
}
