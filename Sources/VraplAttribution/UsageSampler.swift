import VraplCore
import VraplSources

/// GB in this module means GiB (2^30 bytes), as in the paper: `memory.max = 4294967296` is "4 GB",
/// charged 4 × 0.2 W = 0.8 W.
public let bytesPerGB = 1_073_741_824.0

/// What one reading of all workloads' cgroups found.
public struct UsageSnapshot: Sendable {
    /// Monotonic time of the reading, s.
    public var time: Double
    /// Workload name → its spec and each cgroup's sample or error.
    public var workloads: [String: WorkloadSnapshot] = [:]
    /// Parent cgroups of the workloads' cgroups (for estimating vanished cgroups' usage).
    public var parents: [String: ParentSnapshot] = [:]
    /// Workload order (declared first, then discovered, sorted).
    public var order: [String] = []
}

public struct WorkloadSnapshot: Sendable {
    public var spec: WorkloadSpec
    public var cgroups: [String: Result<CGroupSample, CGroupReadError>]
}

/// A parent cgroup's usage and its children's (path → inode and usage) at one reading.
public struct ParentSnapshot: Sendable {
    public var usageUsec: UInt64?
    public var children: [String: (inode: UInt64, usageUsec: UInt64)]
}

/// Reads the workloads' cgroups (declared and discovered) and turns two readings into a `UsageInterval`.
public struct UsageSampler: Sendable {
    public var config: AttributionConfig
    public var reader: CGroupReader

    public init(config: AttributionConfig, reader: CGroupReader) {
        self.config = config; self.reader = reader
    }

    /// The workloads now: declared ones plus, with a `discover` section, every matching child cgroup.
    public func currentWorkloads() -> [WorkloadSpec] {
        var specs = config.workloads.filter { !$0.cgroups.isEmpty }
        let declaredGroups = Set(specs.flatMap(\.cgroups))
        var names = Set(specs.map(\.name))
        if let d = config.discover, let children = try? reader.children(of: d.parent, matching: d.pattern) {
            for child in children where !declaredGroups.contains(child) {
                let base = String(child.split(separator: "/").last ?? Substring(child))
                var name = base
                if d.stripSuffix ?? true, let dot = base.lastIndex(of: "."), dot != base.startIndex {
                    name = String(base[..<dot])
                }
                // A declared entry without cgroups customises a discovered workload (GPUs, memory).
                let template = config.workloads.first { $0.name == name && $0.cgroups.isEmpty }
                guard names.insert(name).inserted || template != nil else { continue }
                specs.append(WorkloadSpec(name: name, cgroups: [child], gpus: template?.gpus ?? [], memoryGB: template?.memoryGB))
            }
        }
        return specs
    }

    /// Reads every workload cgroup and their parents. Never throws: unreadable cgroups are recorded.
    public func snapshot(time: Double) -> UsageSnapshot {
        var snap = UsageSnapshot(time: time)
        var parentPaths = Set<String>()
        for spec in currentWorkloads() {
            var groups: [String: Result<CGroupSample, CGroupReadError>] = [:]
            for cg in spec.cgroups {
                do { groups[cg] = .success(try reader.sample(cg)) } catch let e as CGroupReadError {
                    groups[cg] = .failure(e)
                } catch {
                    groups[cg] = .failure(.unreadable(path: reader.fullPath(cg), reason: "\(error)"))
                }
                parentPaths.insert(Self.parent(of: cg))
            }
            snap.workloads[spec.name] = WorkloadSnapshot(spec: spec, cgroups: groups)
            snap.order.append(spec.name)
        }
        // Workload cgroups already read are reused; other children need only cpu.stat.
        var known: [String: (inode: UInt64, usageUsec: UInt64)] = [:]
        for w in snap.workloads.values {
            for (path, result) in w.cgroups {
                if case .success(let s) = result, let u = s.usageUsec { known[path] = (s.inode, u) }
            }
        }
        for p in parentPaths {
            let usage = reader.usage(p)?.usageUsec
            var children: [String: (inode: UInt64, usageUsec: UInt64)] = [:]
            for child in (try? reader.children(of: p)) ?? [] {
                if let k = known[child] ?? reader.usage(child) { children[child] = k }
            }
            snap.parents[p] = ParentSnapshot(usageUsec: usage, children: children)
        }
        return snap
    }

    static func parent(of cgroup: String) -> String {
        let parts = cgroup.split(separator: "/")
        return parts.dropLast().joined(separator: "/")
    }

    /// The usage between two readings. A workload whose cgroup appeared, vanished, was recreated
    /// (new inode or a counter that went backwards) or could not be read is marked incomplete; the
    /// CPU time of such cgroups is estimated from their parent (parent delta − readable children deltas).
    public func interval(from a: UsageSnapshot, to b: UsageSnapshot) -> UsageInterval {
        var out: [WorkloadInterval] = []
        var incompleteGroups: [String] = []
        var names = b.order
        for n in a.order where b.workloads[n] == nil { names.append(n) }
        for name in names {
            let before = a.workloads[name]
            let after = b.workloads[name]
            guard let spec = after?.spec ?? before?.spec else { continue }
            var w = WorkloadInterval(name: name, cpuUsageUsec: 0, gpus: spec.gpus)
            if before == nil { w.complete = false; w.notes.append("appeared during the interval") }
            if after == nil { w.complete = false; w.notes.append("vanished during the interval") }
            var memory = 0.0
            var memoryKnown = false
            for cg in spec.cgroups {
                let s0 = before.flatMap { try? $0.cgroups[cg]?.get() }
                let s1 = after.flatMap { try? $0.cgroups[cg]?.get() }
                if before != nil, after != nil {
                    for r in [before?.cgroups[cg], after?.cgroups[cg]] {
                        if case .failure(let e)? = r { w.complete = false; w.notes.append(e.description) }
                    }
                }
                if let s0, let s1 {
                    if s0.inode != s1.inode {
                        w.complete = false; w.notes.append("cgroup \(cg) was recreated (counter reset)")
                    } else if let u0 = s0.usageUsec, let u1 = s1.usageUsec {
                        if u1 >= u0 { w.cpuUsageUsec += Double(u1 - u0) } else {
                            w.complete = false; w.notes.append("cgroup \(cg): usage_usec went backwards (counter reset)")
                        }
                    } else {
                        w.complete = false; w.notes.append("cgroup \(cg): cpu.stat missing")
                    }
                    if let io0 = s0.io, let io1 = s1.io, s0.inode == s1.inode, io1.totalBytes >= io0.totalBytes {
                        w.ioBytes += Double(io1.totalBytes - io0.totalBytes)
                    }
                } else {
                    incompleteGroups.append(cg)
                    w.complete = false
                }
                if !w.complete && (s0 == nil || s1 == nil || s0?.inode != s1?.inode) { incompleteGroups.append(cg) }
                // Memory allocation: override, else memory.max, else memory.current (noted).
                if spec.memoryGB == nil, let s = s1 ?? s0 {
                    if let m = s.memoryMax?.byteCount { memory += Double(m); memoryKnown = true } else if let c = s.memoryCurrent {
                        memory += Double(c); memoryKnown = true
                        w.notes.append("cgroup \(cg): memory.max is \(s.memoryMax.map { "\($0)" } ?? "missing"); charging memory.current")
                    }
                }
            }
            if let gb = spec.memoryGB { memory = gb * bytesPerGB; memoryKnown = true }
            if !memoryKnown { w.notes.append("no memory allocation known (memory.max missing or max, no memory_gb)") }
            w.memoryBytes = memory
            out.append(w)
        }
        // Estimate unknown usage from the parents of incomplete cgroups.
        var unknown: Double? = incompleteGroups.isEmpty ? 0 : 0
        for parent in Set(incompleteGroups.map(Self.parent(of:))) {
            guard let p0 = a.parents[parent], let p1 = b.parents[parent], let u0 = p0.usageUsec, let u1 = p1.usageUsec, u1 >= u0 else {
                unknown = nil; break
            }
            var known = 0.0
            for (child, c1) in p1.children {
                if let c0 = p0.children[child], c0.inode == c1.inode, c1.usageUsec >= c0.usageUsec {
                    known += Double(c1.usageUsec - c0.usageUsec)
                }
            }
            unknown = (unknown ?? 0) + max(0, Double(u1 - u0) - known)
        }
        return UsageInterval(workloads: out, unknownCPUUsageUsec: unknown)
    }
}
