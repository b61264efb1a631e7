import Foundation
import VraplCore
import VraplCampaign
import VraplTrace

/// Several guests sharing one simulated host over the same time line (docs/guest.md "A VM is a slice of
/// its host"): each tenant has k_i vCPUs and its own schedule and hidden state; the package sees them
/// all. Two passes:
///
/// 1. each tenant's guest view is generated alone (its counters over its own k_i CPUs, its true busy
///    CPUs B_i and W-weighted activity k_seg·B_i per sample);
/// 2. the host's package power is rebuilt from every tenant at once, as the guest-view mode does for
///    one guest and its neighbours: D = (Σ k_seg,i·B_i + k_bg·h_host)·T(Σ B_i + h_host), lagged
///    first-order, P = P_idle + o + lag(D) + ε (o the first tenant's hidden floor offset: one host),
///    and each tenant's share is the rule on it with U_vm/U_host = B_i / (Σ B_j + h_host).
///    Every tenant's `rapl` and `/guest_view` counters are rewritten from these; `sim_hidden_w` is its
///    share minus the share of the expected power (every tenant at k̄, no offset, no noise).
///
/// With the tenants filling the host (Σ k_i = T) the host's own housekeeping h_host is 0 and the shares
/// sum to the package power exactly (`ShareRule`); the co-tenancy check of `vrapl evaluate
/// --co-tenants` asks how close the sum of independent *estimates* lands.
///
/// **Oversubscription** (Σ k_i > T): when the tenants' demand Σ B_i exceeds the T threads, the host
/// runs each tenant for the fraction f = T / Σ B_i of the time its vCPUs want (a fair share), so
/// B_i becomes f·B_i in the power and the rule, and the time the tenant lost shows in its own
/// /proc/stat as **steal**: its busy ticks (user, system, softirq) keep the fraction f and the rest
/// moves to the steal field, tick-quantised like the kernel's counters; idle and iowait are untouched.
/// The idle part is then allocated by k_i / Σ k_j (`ShareRule.idleWatts(allocatedVCPUs:)`), so the
/// shares still sum to the package.
public enum CoTenancy {
    /// One tenant: its vCPUs and its schedule (the schedules must be equally long).
    public struct Tenant: Sendable {
        public var vcpus: Int
        public var schedule: SimSchedule
        public var seed: UInt64
        public init(vcpus: Int, schedule: SimSchedule, seed: UInt64) { self.vcpus = vcpus; self.schedule = schedule; self.seed = seed }
    }

    /// The tenants of `vrapl simulate --co-tenants 2,4,6,8`: tenant i gets its own schedule of the
    /// matrix (seed + i, guest size k_i, no neighbours of its own: the others are its neighbours),
    /// all cut to the shortest so that they share one host time line (last segments shortened).
    public static func tenants(matrix m: CampaignMatrix, vcpus sizes: [Int], threads: Int, seed: UInt64, sampleInterval: Double,
                               scale: Double = 1, targetSamples: Int? = nil) -> [Tenant] {
        var schedules: [SimSchedule] = []
        for (i, k) in sizes.enumerated() {
            var mk = m
            mk.tenancy = Tenancy(vcpus: [k], neighbourLoads: [0], neighbourStressors: [], rule: m.tenancy?.rule ?? .idleByAllocation)
            schedules.append(SimSchedule.build(matrix: mk, threads: threads, seed: seed &+ UInt64(i), sampleInterval: sampleInterval,
                                               scale: scale, targetSamples: targetSamples))
        }
        let length = schedules.map(\.totalSamples).min() ?? 0
        for i in schedules.indices {
            var excess = schedules[i].totalSamples - length
            while excess > 0, var last = schedules[i].segments.last {
                let cut = min(excess, last.samples)
                last.samples -= cut
                excess -= cut
                schedules[i].segments.removeLast()
                if last.samples > 0 { schedules[i].segments.append(last) }
            }
        }
        return sizes.enumerated().map { Tenant(vcpus: $0.element, schedule: schedules[$0.offset], seed: seed &+ UInt64($0.offset)) }
    }

    /// `2,4,6,8` → [2, 4, 6, 8]; anything but positive integers is refused naming the item.
    public static func parseSizes(_ spec: String) throws -> [Int] {
        try spec.split(separator: ",").map { item -> Int in
            guard let k = Int(String(item).trimmingWhitespace()), k >= 1 else {
                throw VraplError("--co-tenants must list positive vCPU counts such as 2,4,6,8 (got '\(item)')")
            }
            return k
        }
    }

    public static func generate(profile p: SimProfile, tenants: [Tenant], rule: ShareRule = .idleByAllocation,
                                seed: UInt64, labels: [String: String] = [:]) throws -> [TraceData] {
        guard !tenants.isEmpty else { throw VraplError("co-tenancy needs at least one tenant") }
        let total = tenants.reduce(0) { $0 + $1.vcpus }
        if let big = tenants.first(where: { $0.vcpus > p.threads }) {
            throw VraplError("a tenant of \(big.vcpus) vCPUs exceeds the host's \(p.threads) threads")
        }
        let n = tenants[0].schedule.totalSamples
        if let bad = tenants.first(where: { $0.schedule.totalSamples != n }) {
            throw VraplError("co-tenant schedules differ in length (\(bad.schedule.totalSamples) vs \(n) samples)")
        }
        let names = tenants.map { String($0.vcpus) }.joined(separator: "+")
        var traces: [TraceData] = []
        var activity: [SyntheticGenerator.TenantActivity] = []
        for (i, t) in tenants.enumerated() {
            var a = SyntheticGenerator.TenantActivity()
            var l = labels
            l["sim_co_tenancy"] = "tenant \(i + 1) of \(tenants.count) (vCPUs \(names) of \(p.threads) threads), one host time line"
            let tenancy = Tenancy(vcpus: [t.vcpus], neighbourLoads: [0], neighbourStressors: [], rule: rule)
            let trace = try SyntheticGenerator(profile: p, seed: t.seed).generate(
                schedule: t.schedule, startTimeNs: 1_767_225_600_000_000_000, labels: l, tenancy: tenancy,
                activity: &a, progress: nil)
            traces.append(trace)
            activity.append(a)
        }

        let host = HostShape(threads: p.threads, cpuModel: p.cpuModel, idleWatts: p.idleWatts)
        let threads = Double(p.threads)
        let hostHousekeeping = (p.housekeepingUser + p.housekeepingSystem) * max(0, 1 - Double(total) / threads)
        let kBg = p.wattsPerBusyThread(p.backgroundMix)
        let dtNom = tenants[0].schedule.sampleInterval
        let alpha = p.thermalTau > 0 ? 1 - exp(-dtNom / p.thermalTau) : 1.0
        var rng = SimRandom(seed: seed, stream: 0xC0_7E4A)
        var y = 0.0, ybar = 0.0
        var packageWatts = [Double](repeating: 0, count: n)
        var share = [[Double]](repeating: [Double](repeating: 0, count: n), count: tenants.count)
        var hidden = [[Float]](repeating: [Float](repeating: 0, count: n), count: tenants.count)
        // The fraction of its demand each tenant ran, per sample (1 unless oversubscribed).
        var ran = [Double](repeating: 1, count: n)
        for s in 0..<n {
            let demand = activity.reduce(0) { $0 + $1.busy[s] }
            if total > p.threads, demand > threads { ran[s] = threads / demand }
            if ran[s] < 1 {
                for i in activity.indices {
                    activity[i].busy[s] *= ran[s]; activity[i].weighted[s] *= ran[s]; activity[i].expectedWeighted[s] *= ran[s]
                }
            }
        }
        for s in 0..<n {
            var busy = hostHousekeeping, weighted = kBg * hostHousekeeping, expected = kBg * hostHousekeeping
            for a in activity { busy += a.busy[s]; weighted += a.weighted[s]; expected += a.expectedWeighted[s] }
            let turbo = p.turbo(busyThreads: busy)
            y += alpha * (weighted * turbo - y)
            ybar += alpha * (expected * turbo - ybar)
            if s == 0 { y = weighted * turbo; ybar = expected * turbo }
            let power = max(0, p.idleWatts + activity[0].floorOffset[s] + y + p.meterNoiseWatts * rng.normal())
            packageWatts[s] = power
            for (i, t) in tenants.enumerated() {
                let truth = rule.split(packageWatts: power, host: host, vcpus: t.vcpus, vmBusy: activity[i].busy[s], hostBusy: busy,
                                       allocatedVCPUs: total).total
                let guess = rule.split(packageWatts: p.idleWatts + ybar, host: host, vcpus: t.vcpus, vmBusy: activity[i].busy[s], hostBusy: busy,
                                       allocatedVCPUs: total).total
                share[i][s] = max(0, truth)
                hidden[i][s] = s == 0 ? 0 : Float(truth - guess)
            }
        }
        // Every tenant's counters integrate the same powers over its own sample times.
        for i in traces.indices {
            guard var view = traces[i].guestView, !traces[i].rapl.isEmpty else { continue }
            let range = traces[i].rapl[0].maxEnergyRangeUj
            traces[i].rapl[0].energyUj = integrate(packageWatts, times: traces[i].monotonicNs, start: traces[i].rapl[0].energyUj.first ?? 0, range: range)
            view.energyUj = integrate(share[i], times: traces[i].monotonicNs, start: view.energyUj.first ?? 0, range: view.maxEnergyRangeUj)
            traces[i].guestView = view
            traces[i].simHiddenWatts = hidden[i]
            if ran.contains(where: { $0 < 1 }) {
                steal(&traces[i].cpuFields, ran: ran)
                if var usage = traces[i].cpuUsage {
                    usage.userUsec = scaled(usage.userUsec, ran: ran)
                    usage.systemUsec = scaled(usage.systemUsec, ran: ran)
                    traces[i].cpuUsage = usage
                }
                traces[i].metadata.labels["sim_oversubscription"] = "vCPUs \(names) = \(total) on \(p.threads) threads: time a tenant's vCPUs wanted but did not get is steal"
            }
        }
        return traces
    }

    /// Indices of the busy /proc/stat fields a stolen interval shrinks: user, system, softirq (nice
    /// and irq are constant in the simulator), and the steal field that receives the rest.
    static let busyFields = [0, 2, 6], stealField = 7

    /// Rewrites cumulative /proc/stat tick counters (`cpuFields`, user … guest_nice × samples) so
    /// that in interval s the busy fields advance by `ran[s]` of their ticks and steal by the rest,
    /// each a whole tick count (fractions carry over, as the kernel's do); totals are unchanged.
    static func steal(_ fields: inout [[UInt64]], ran: [Double]) {
        let n = fields[0].count
        guard n > 1, ran.count == n else { return }
        // Each counter becomes the floor of its running sum (monotone, fractions carried over).
        var kept = busyFields.map { Double(fields[$0][0]) }
        var stolen = Double(fields[stealField][0])
        var previous = busyFields.map { fields[$0][0] }
        for s in 1..<n {
            for (j, f) in busyFields.enumerated() {
                let delta = Double(fields[f][s] &- previous[j])
                previous[j] = fields[f][s]
                kept[j] += delta * ran[s]
                stolen += delta * (1 - ran[s])
                fields[f][s] = UInt64(kept[j].rounded(.down))
            }
            fields[stealField][s] = UInt64(stolen.rounded(.down))
        }
    }

    /// A cumulative counter whose interval s advances by `ran[s]` of its original step (the µs busy
    /// time of an oversubscribed tenant: steal is not in cpu.stat), floors of the running sum.
    static func scaled(_ counter: [UInt64], ran: [Double]) -> [UInt64] {
        guard counter.count > 1, ran.count == counter.count else { return counter }
        var out = counter
        var sum = Double(counter[0])
        for s in 1..<counter.count {
            sum += Double(counter[s] &- counter[s - 1]) * ran[s]
            out[s] = UInt64(sum.rounded(.down))
        }
        return out
    }

    /// A cumulative µJ counter of `watts` over the intervals ending at each sample, wrapping past `range`.
    static func integrate(_ watts: [Double], times: [UInt64], start: UInt64, range: UInt64) -> [UInt64] {
        var out = [UInt64](repeating: 0, count: watts.count)
        var e = EnergyAccumulator(start: start, maxRange: range)
        for s in watts.indices {
            if s > 0, times[s] > times[s - 1] { e.add(watts: watts[s], seconds: Double(times[s] - times[s - 1]) / 1e9) }
            out[s] = e.counter
        }
        return out
    }
}
