import VraplCore
import VraplTrace

/// What a k-vCPU guest pinned to a CPU set sees of a recorded host, derived from the host trace's
/// per-CPU lines (`/percpu`; docs/guest.md "A VM is a slice of its host"):
///
/// - **its /proc/stat cpu line** is the sum of its CPUs' lines (deltas summed, so a segment may run on
///   another set than the one before it), so user/system/iowait % are percentages of its own k CPUs;
/// - **counters without a per-CPU line** (`ctxt`, `intr`, `processes`, /proc/vmstat) get the guest's
///   share by busy time: Δc_vm = Δc_host · U_vm / U_host (k/T of it when the host is idle), and the
///   gauges `procs_running`/`procs_blocked` k/T of the host's, rounded. (The simulator's guest views
///   count the guest's own events instead: its stressors' and its share of housekeeping.)
/// - **its target** is its share of the package by `rule`: P_vm = P_idle·k/T + (P_pkg − P_idle)·U_vm/U_host,
///   U the busy ticks (`CPUTimes.busyTicks`) of its CPUs and of all, P_idle the mean
///   package power over the trace's idle segments (family `idle`) unless given.
///
/// The CPU set of each segment is its `cpus` parameter (a cpulist, as `vrapl campaign` records it for
/// confined combinations), else `cpus` given here, else every recorded CPU (the whole host, k = T).
public enum GuestViewDerivation {
    /// The guest view of `trace`; errors name the trace (`name`) and the problem.
    public static func derive(_ trace: TraceData, name: String, cpus fallback: [Int]? = nil, idleWatts: Double? = nil,
                              rule: ShareRule = .idleByAllocation) throws -> TraceData {
        guard let per = trace.perCPU, per.sampleCount == trace.sampleCount, !per.cpuIDs.isEmpty else {
            throw VraplError("\(name): /proc/stat without per-CPU lines (no /percpu): a guest view needs them; record with vrapl-collect (per-CPU lines are on by default)")
        }
        let n = trace.sampleCount
        let ids = per.cpuIDs
        let column = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, $0) })
        let t = trace.metadata.topology?.logicalCPUs ?? ids.count
        // The CPU set of every sample: its segment's `cpus`, else the fallback, else all.
        var setOfSample = [Int32](repeating: -1, count: n)  // index into `sets`; -1: all
        var sets: [[Int]] = []
        func columns(_ list: [Int], _ what: String) throws -> [Int] {
            try list.map { cpu in
                guard let c = column[cpu] else {
                    throw VraplError("\(name): \(what) names CPU \(cpu), which the trace did not record (it has \(CPUList.format(ids)))")
                }
                return c
            }
        }
        let fallbackColumns = try fallback.map { try columns($0, "--cpus") }
        for seg in trace.segments {
            var chosen: [Int]?
            if let text = seg.parameters["cpus"] {
                guard let list = CPUList.parse(text), !list.isEmpty else { throw VraplError("\(name): segment '\(seg.name)' has cpus '\(text)', not a cpulist") }
                chosen = try columns(list, "segment '\(seg.name)'")
            } else {
                chosen = fallbackColumns
            }
            guard let chosen else { continue }
            sets.append(chosen)
            for s in max(0, seg.firstSample)...min(n - 1, seg.lastSample) where s >= 0 { setOfSample[s] = Int32(sets.count - 1) }
        }
        if let fallbackColumns, trace.segments.isEmpty {
            sets.append(fallbackColumns)
            for s in 0..<n { setOfSample[s] = Int32(sets.count - 1) }
        }
        let all = Array(0..<ids.count)
        // Membership of every column in each set (the per-sample loop must not search a list).
        let members: [[Bool]] = sets.map { set in
            var m = [Bool](repeating: false, count: ids.count)
            for j in set { m[j] = true }
            return m
        }
        let everyone = [Bool](repeating: true, count: ids.count)

        // P_idle: mean package power over idle segments.
        let package = try PackagePower.series(trace: trace)
        var pIdle = idleWatts
        if pIdle == nil {
            let idle = idlePower(trace, package: package)
            guard idle.count > 0 else {
                throw VraplError("\(name): no idle segment to measure the host's idle power P_idle from (record idle, or give it)")
            }
            pIdle = idle.sum / Double(idle.count)
        }
        let host = HostShape(threads: t, cores: trace.metadata.topology?.cores, sockets: trace.metadata.topology?.sockets,
                             cpuModel: trace.metadata.cpuModel, idleWatts: pIdle ?? 0)
        do { try host.validate() } catch let e as VraplError { throw VraplError("\(name): \(e.message)") }

        var out = trace
        out.perCPU = nil
        out.simHiddenWatts = nil  // the host's hidden power is not the guest's
        // The root cpu.stat covers every CPU of the host, not a guest's set: a derived view has no
        // µs busy time (a model with busy_source cgroup-cpu-stat refuses it, naming the trace).
        out.cpuUsage = nil
        out.metadata.labels["guest_view"] = "derived from per-CPU lines; events without a per-CPU line shared by busy time"
        var cpu = [[UInt64]](repeating: [UInt64](repeating: 0, count: n), count: 10)
        var ctxt = [UInt64](repeating: 0, count: n), intr = ctxt, procs = ctxt, running = ctxt, blocked = ctxt
        var vm = trace.vmstat.map { NamedCounterSeries(name: $0.name, values: [UInt64](repeating: 0, count: n)) }
        var vcpus = [UInt64](repeating: 0, count: n), energy = [UInt64](repeating: 0, count: n)
        let range: UInt64 = trace.rapl.first(where: \.isPackage)?.maxEnergyRangeUj ?? 262_143_328_850
        let wrap = range > 0 ? range : UInt64.max - 1
        var acc = [Double](repeating: 0, count: 4 + vm.count)
        var e = EnergyAccumulator(maxRange: wrap)
        @inline(__always) func d(_ a: UInt64, _ b: UInt64) -> UInt64 { b >= a ? b - a : 0 }
        func cpuTimes(_ s: Int, _ j: Int) -> CPUTimes {
            var t = CPUTimes()
            t.user = per.value(field: 0, sample: s, column: j); t.nice = per.value(field: 1, sample: s, column: j)
            t.system = per.value(field: 2, sample: s, column: j); t.idle = per.value(field: 3, sample: s, column: j)
            t.iowait = per.value(field: 4, sample: s, column: j); t.irq = per.value(field: 5, sample: s, column: j)
            t.softirq = per.value(field: 6, sample: s, column: j); t.steal = per.value(field: 7, sample: s, column: j)
            return t
        }
        for s in 0..<n {
            let set = setOfSample[s] >= 0 ? sets[Int(setOfSample[s])] : all
            let inSet = setOfSample[s] >= 0 ? members[Int(setOfSample[s])] : everyone
            let k = set.count
            vcpus[s] = UInt64(k)
            guard s > 0 else {
                for f in 0..<10 { cpu[f][0] = set.reduce(0) { $0 + per.value(field: f, sample: 0, column: $1) } }
                ctxt[0] = trace.contextSwitches[0]; intr[0] = trace.interrupts[0]; procs[0] = trace.processesCreated[0]
                for i in vm.indices { vm[i].values[0] = trace.vmstat[i].values.first ?? 0 }
                acc = [Double(ctxt[0]), Double(intr[0]), Double(procs[0]), 0] + vm.map { Double($0.values[0]) }
                running[0] = UInt64((Double(trace.procsRunning[0]) * Double(k) / Double(t)).rounded())
                blocked[0] = UInt64((Double(trace.procsBlocked[0]) * Double(k) / Double(t)).rounded())
                continue
            }
            var busyVM = 0.0, busyHost = 0.0
            for f in 0..<10 {
                var sum: UInt64 = 0
                for j in set { sum += d(per.value(field: f, sample: s - 1, column: j), per.value(field: f, sample: s, column: j)) }
                cpu[f][s] = cpu[f][s - 1] + sum
            }
            for j in all {
                let b = cpuTimes(s, j).busyTicks(since: cpuTimes(s - 1, j))
                busyHost += b
                if inSet[j] { busyVM += b }
            }
            let share = busyHost > 0 ? busyVM / busyHost : Double(k) / Double(t)
            acc[0] += Double(d(trace.contextSwitches[s - 1], trace.contextSwitches[s])) * share
            acc[1] += Double(d(trace.interrupts[s - 1], trace.interrupts[s])) * share
            acc[2] += Double(d(trace.processesCreated[s - 1], trace.processesCreated[s])) * share
            ctxt[s] = UInt64(acc[0]); intr[s] = UInt64(acc[1]); procs[s] = UInt64(acc[2])
            for i in vm.indices {
                let v = trace.vmstat[i].values
                acc[4 + i] += Double(d(v[s - 1], v[s])) * share
                vm[i].values[s] = UInt64(acc[4 + i])
            }
            running[s] = UInt64((Double(trace.procsRunning[s]) * Double(k) / Double(t)).rounded())
            blocked[s] = UInt64((Double(trace.procsBlocked[s]) * Double(k) / Double(t)).rounded())
            let p = Double(package[s])
            let dt = Double(d(trace.monotonicNs[s - 1], trace.monotonicNs[s])) / 1e9
            if p.isFinite, dt > 0 {
                e.add(watts: rule.split(packageWatts: p, host: host, vcpus: k, vmBusy: busyVM, hostBusy: busyHost).total, seconds: dt)
            }
            energy[s] = e.counter
        }
        out.cpuFields = cpu
        out.contextSwitches = ctxt; out.interrupts = intr; out.processesCreated = procs
        out.procsRunning = running; out.procsBlocked = blocked
        out.vmstat = vm
        out.segments = trace.segments.map { seg in
            var x = seg
            let s = max(0, min(n - 1, seg.firstSample))
            let set = n > 0 && setOfSample[s] >= 0 ? sets[Int(setOfSample[s])] : all
            x.parameters["vcpus"] = String(set.count)
            if x.parameters["cpus"] == nil { x.parameters["cpus"] = CPUList.format(set.map { ids[$0] }) }
            return x
        }
        out.guestView = GuestViewSeries(host: host, rule: rule, maxEnergyRangeUj: wrap, vcpus: vcpus, energyUj: energy)
        return out
    }

    /// Σ package watts and the number of intervals over the trace's idle segments (family `idle`).
    static func idlePower(_ trace: TraceData, package: [Float]) -> (sum: Double, count: Int) {
        var sum = 0.0, count = 0
        for seg in trace.segments where seg.family == "idle" {
            let lo = max(1, seg.firstSample), hi = min(trace.sampleCount - 1, seg.lastSample)
            guard lo <= hi else { continue }
            for s in lo...hi where package[s].isFinite { sum += Double(package[s]); count += 1 }
        }
        return (sum, count)
    }

    /// `trace` as a feature set needs it: a host trace with per-CPU lines becomes its guest view when
    /// the set needs the host shape (guest-share-5); anything else is returned as it is.
    /// `idleWatts`: the host's P_idle for every trace of one data set (`pooledIdleWatts`).
    public static func viewIfNeeded(_ trace: TraceData, featureSet: FeatureSet, name: String, idleWatts: Double? = nil) throws -> TraceData {
        guard featureSet.needsHostShape, trace.guestView == nil else { return trace }
        guard trace.perCPU != nil else {
            throw VraplError("\(name): feature set '\(featureSet.name)' needs a guest view (/guest_view) or per-CPU lines to derive one (/percpu); this whole-host trace has neither")
        }
        return try derive(trace, name: name, idleWatts: idleWatts)
    }

    /// P_idle of a host recorded in several traces (a campaign writes one per combination): the mean
    /// package power over every idle segment of every host trace with per-CPU lines, so that all their
    /// guest views share one host shape. nil when the set does not need it or no trace qualifies.
    public static func pooledIdleWatts(paths: [String], featureSet: FeatureSet) throws -> Double? {
        guard featureSet.needsHostShape else { return nil }
        var sum = 0.0, count = 0
        for path in paths where !path.hasSuffix(".csv") {
            let header = try TraceReader.readHeader(path)
            guard header.guestView == nil, header.perCPUIDs != nil else { continue }
            let trace = try TraceReader.read(path)
            let idle = idlePower(trace, package: try PackagePower.series(trace: trace))
            sum += idle.sum; count += idle.count
        }
        return count > 0 ? sum / Double(count) : nil
    }
}
