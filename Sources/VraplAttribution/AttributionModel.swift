import VraplCore

/// Energy by component. Used for each workload, the baseline and the unattributed remainder.
public struct ComponentEnergy: Sendable, Equatable {
    public var cpu = Joules.zero
    public var gpu = Joules.zero
    public var memory = Joules.zero
    public var storage = Joules.zero
    public init(cpu: Joules = .zero, gpu: Joules = .zero, memory: Joules = .zero, storage: Joules = .zero) {
        self.cpu = cpu; self.gpu = gpu; self.memory = memory; self.storage = storage
    }
    public var total: Joules { cpu + gpu + memory + storage }
    public static let componentNames = ["cpu", "gpu", "memory", "storage"]
    public var byName: [(String, Joules)] { [("cpu", cpu), ("gpu", gpu), ("memory", memory), ("storage", storage)] }
    public static func + (a: ComponentEnergy, b: ComponentEnergy) -> ComponentEnergy {
        ComponentEnergy(cpu: a.cpu + b.cpu, gpu: a.gpu + b.gpu, memory: a.memory + b.memory, storage: a.storage + b.storage)
    }
    public static func += (a: inout ComponentEnergy, b: ComponentEnergy) { a = a + b }
    /// Mean power of each component over a duration.
    public func scaled(by factor: Double) -> ComponentEnergy {
        ComponentEnergy(cpu: Joules(cpu.value * factor), gpu: Joules(gpu.value * factor),
                        memory: Joules(memory.value * factor), storage: Joules(storage.value * factor))
    }
}

/// One GPU over one interval.
public struct GPUInterval: Sendable, Equatable {
    public var index: Int
    public var energy: Joules
    /// Device utilisation, % (for reports).
    public var utilizationPct: Double?
    public init(index: Int, energy: Joules, utilizationPct: Double? = nil) {
        self.index = index; self.energy = energy; self.utilizationPct = utilizationPct
    }
}

/// What the system measured over one interval: CPU energy (RAPL, simulated or predicted), GPU
/// energies, and optionally wall energy and the host's total busy CPU time.
public struct SystemInterval: Sendable, Equatable {
    /// Interval start, s (Unix time offline, seconds since start live).
    public var start: Double
    public var duration: Seconds
    public var cpu: Joules
    public var gpus: [GPUInterval]
    public var wall: Joules?
    /// Busy CPU time of the whole host over the interval, µs (for `cpu_share: system`).
    public var systemCPUUsageUsec: Double?
    /// Phase label (offline inputs), else "".
    public var phase: String
    public init(start: Double, duration: Seconds, cpu: Joules, gpus: [GPUInterval] = [], wall: Joules? = nil,
                systemCPUUsageUsec: Double? = nil, phase: String = "") {
        self.start = start; self.duration = duration; self.cpu = cpu; self.gpus = gpus; self.wall = wall
        self.systemCPUUsageUsec = systemCPUUsageUsec; self.phase = phase
    }
}

/// One workload's usage over one interval.
public struct WorkloadInterval: Sendable, Equatable {
    public var name: String
    /// CPU time used, µs (cgroup `cpu.stat` usage_usec delta, or cpu_percent × Δt offline).
    public var cpuUsageUsec: Double
    /// False when a cgroup of the workload appeared, vanished, was recreated or unreadable during the
    /// interval: its usage is unknown, so its share of energy goes to `unattributed`.
    public var complete: Bool
    /// Utilisation of each GPU attributable to this workload, % of that GPU (per-process NVML
    /// samples, or the device utilisation when the GPU is the workload's alone). Absent GPUs: unknown.
    public var gpuUtilizationPct: [Int: Double]
    /// GPUs allocated to the workload.
    public var gpus: [Int]
    /// Memory allocation charged, bytes.
    public var memoryBytes: Double
    /// Bytes read plus written over the interval.
    public var ioBytes: Double
    public var notes: [String]
    public init(name: String, cpuUsageUsec: Double, complete: Bool = true, gpuUtilizationPct: [Int: Double] = [:],
                gpus: [Int] = [], memoryBytes: Double = 0, ioBytes: Double = 0, notes: [String] = []) {
        self.name = name; self.cpuUsageUsec = cpuUsageUsec; self.complete = complete
        self.gpuUtilizationPct = gpuUtilizationPct; self.gpus = gpus; self.memoryBytes = memoryBytes
        self.ioBytes = ioBytes; self.notes = notes
    }
}

/// Usage of all workloads over one interval.
public struct UsageInterval: Sendable, Equatable {
    public var workloads: [WorkloadInterval]
    /// Estimated CPU time of incomplete workloads (parent cgroup delta minus its readable children),
    /// µs; nil when no estimate exists.
    public var unknownCPUUsageUsec: Double?
    public init(workloads: [WorkloadInterval], unknownCPUUsageUsec: Double? = nil) {
        self.workloads = workloads; self.unknownCPUUsageUsec = unknownCPUUsageUsec
    }
}

/// Energy attributed to one workload in one interval, with the usage it was based on.
public struct WorkloadAttribution: Sendable, Equatable {
    public var name: String
    public var energy: ComponentEnergy
    public var usage: WorkloadInterval
}

/// The measured system side of an interval, split by component.
public struct SystemEnergy: Sendable, Equatable {
    public var cpu: Joules
    public var gpu: Joules
    /// p_mem × installed memory × Δt.
    public var memory: Joules
    /// Σ β × bytes over workloads.
    public var storage: Joules
    public var wall: Joules?
    /// The paper's E_other = wall − (CPU + GPU + memory); 0 without a wall series.
    public var other: Joules
    /// E_sys: wall energy when given, else CPU + GPU + memory + storage.
    public var total: Joules
}

/// One interval's attribution. Conservation: `system.total = baseline.total + Σ workloads +
/// unattributed.total + otherUnattributed + residual`, with |residual| ≈ 0 unless energy was lost.
public struct IntervalAttribution: Sendable, Equatable {
    public var phase: String
    public var start: Double
    public var duration: Seconds
    public var system: SystemEnergy
    public var baseline: ComponentEnergy
    public var workloads: [WorkloadAttribution]
    public var unattributed: ComponentEnergy
    /// Wall-side energy not in any component (PSU losses, fans, board): E_other minus storage.
    public var otherUnattributed: Joules
    public var residual: Joules
    public var notes: [String]

    /// |residual| / E_sys (0 when E_sys is 0).
    public var residualFraction: Double {
        let t = abs(system.total.value)
        return t > 0 ? abs(residual.value) / t : abs(residual.value)
    }
    /// Device utilisation and energy of each GPU.
    public var gpuUtilizationPct: [Int: Double] = [:]
    public var gpuEnergies: [Int: Joules] = [:]
}

/// The attribution model of "An Energy Cost Model for AI Workloads under Shared Resource
/// Environments", as a pure function of one interval's measurements and usage.
public struct Attributor: Sendable {
    public var config: AttributionConfig
    public init(config: AttributionConfig) { self.config = config }

    public func attribute(system: SystemInterval, usage: UsageInterval, memoryTotalBytes: Double? = nil) -> IntervalAttribution {
        let dt = system.duration.value
        var notes: [String] = []
        var baseline = ComponentEnergy()
        var unattributed = ComponentEnergy()
        var shares = Array(repeating: ComponentEnergy(), count: usage.workloads.count)
        let work = usage.workloads

        // CPU: idle power to baseline, the rest by usage share.
        let cpuIdle = min(max(system.cpu.value, 0), config.baseline.cpuW * dt)
        baseline.cpu = Joules(cpuIdle)
        let cpuDynamic = system.cpu.value - cpuIdle
        let knownUsage = work.filter(\.complete).reduce(0) { $0 + max(0, $1.cpuUsageUsec) }
        let hasIncomplete = work.contains { !$0.complete }
        if hasIncomplete && usage.unknownCPUUsageUsec == nil {
            unattributed.cpu = Joules(cpuDynamic)
            notes.append("cpu: usage of an appearing/vanishing cgroup is unknown and no parent estimate exists; CPU energy unattributed")
        } else {
            var denominator = knownUsage + (hasIncomplete ? max(0, usage.unknownCPUUsageUsec ?? 0) : 0)
            if config.cpuShare == .system, let sys = system.systemCPUUsageUsec { denominator = max(denominator, sys) }
            if denominator > 0 {
                var given = 0.0
                for (i, w) in work.enumerated() where w.complete {
                    let e = cpuDynamic * max(0, w.cpuUsageUsec) / denominator
                    shares[i].cpu = Joules(e)
                    given += e
                }
                unattributed.cpu = Joules(cpuDynamic - given)
            } else {
                unattributed.cpu = Joules(cpuDynamic)
                if cpuDynamic > 0 { notes.append("cpu: zero total usage; CPU energy above idle unattributed") }
            }
        }

        // GPU: idle by allocation share, activity above idle by utilisation share.
        var gpuUtil: [Int: Double] = [:]
        for g in system.gpus {
            if let u = g.utilizationPct { gpuUtil[g.index] = u }
            let idle = min(max(g.energy.value, 0), config.baseline.gpuIdle(g.index) * dt)
            let dynamic = g.energy.value - idle
            let allocatees = work.indices.filter { work[$0].gpus.contains(g.index) }
            if config.gpuIdle == .allocation && !allocatees.isEmpty {
                let each = idle / Double(allocatees.count)
                for i in allocatees {
                    if work[i].complete { shares[i].gpu += Joules(each) } else { unattributed.gpu += Joules(each) }
                }
            } else {
                baseline.gpu += Joules(idle)
            }
            let users = work.indices.filter { work[$0].gpuUtilizationPct[g.index] != nil }
            let totalUtil = users.reduce(0.0) { $0 + max(0, work[$1].gpuUtilizationPct[g.index] ?? 0) }
            if totalUtil > 0 {
                for i in users {
                    let e = dynamic * max(0, work[i].gpuUtilizationPct[g.index] ?? 0) / totalUtil
                    if work[i].complete { shares[i].gpu += Joules(e) } else { unattributed.gpu += Joules(e) }
                }
            } else if !allocatees.isEmpty {
                // No utilisation reported (or all zero): activity above idle follows the allocation.
                let each = dynamic / Double(allocatees.count)
                for i in allocatees {
                    if work[i].complete { shares[i].gpu += Joules(each) } else { unattributed.gpu += Joules(each) }
                }
            } else {
                unattributed.gpu += Joules(dynamic)
            }
        }

        // Memory: allocation × p_mem; the unallocated rest of the installed memory is baseline.
        let allocated = work.reduce(0.0) { $0 + max(0, $1.memoryBytes) }
        let installed = memoryTotalBytes ?? config.memoryTotalGB.map { $0 * bytesPerGB } ?? allocated
        let memoryEnergy = config.memoryWattsPerGB * installed / bytesPerGB * dt
        let memoryDenominator = max(installed, allocated)
        var memoryGiven = 0.0
        if memoryDenominator > 0 {
            for (i, w) in work.enumerated() {
                let e = memoryEnergy * max(0, w.memoryBytes) / memoryDenominator
                if w.complete { shares[i].memory = Joules(e) } else { unattributed.memory += Joules(e) }
                memoryGiven += e
            }
        }
        baseline.memory = Joules(memoryEnergy - memoryGiven)

        // Storage: β × bytes.
        var storage = 0.0
        for (i, w) in work.enumerated() {
            let e = config.storageJoulesPerByte * max(0, w.ioBytes)
            if w.complete { shares[i].storage = Joules(e) } else { unattributed.storage += Joules(e) }
            storage += e
        }

        let gpuTotal = system.gpus.reduce(0.0) { $0 + $1.energy.value }
        let componentSum = system.cpu.value + gpuTotal + memoryEnergy
        let total: Double
        let other: Double
        if let wall = system.wall {
            total = wall.value
            other = wall.value - componentSum
        } else {
            total = componentSum + storage
            other = 0
        }
        let otherUnattributed = system.wall == nil ? 0 : other - storage
        let sysEnergy = SystemEnergy(cpu: system.cpu, gpu: Joules(gpuTotal), memory: Joules(memoryEnergy),
                                     storage: Joules(storage), wall: system.wall, other: Joules(other), total: Joules(total))
        let workloads = work.indices.map { WorkloadAttribution(name: work[$0].name, energy: shares[$0], usage: work[$0]) }
        let accounted = baseline.total.value + workloads.reduce(0.0) { $0 + $1.energy.total.value }
            + unattributed.total.value + otherUnattributed
        for w in work where !w.complete { notes.append(contentsOf: w.notes.map { "\(w.name): \($0)" }) }
        var result = IntervalAttribution(phase: system.phase, start: system.start, duration: system.duration, system: sysEnergy,
                                         baseline: baseline, workloads: workloads, unattributed: unattributed,
                                         otherUnattributed: Joules(otherUnattributed), residual: Joules(total - accounted), notes: notes)
        result.gpuUtilizationPct = gpuUtil
        for g in system.gpus { result.gpuEnergies[g.index, default: .zero] += g.energy }
        return result
    }
}
