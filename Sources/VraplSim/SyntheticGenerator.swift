import Foundation
import VraplCore
import VraplCampaign
import VraplTrace

/// Synthetic mode: turns a schedule into a whole trace (`TraceData`) without running any load.
///
/// Per sample i (interval Δt_i ending at sample i), see docs/simulator.md for the full equations:
/// 1. latent activity per /proc/stat field from the segment's stressors (start-up ramp, visible
///    noise), housekeeping, and (in idle) background wake-ups;
/// 2. guest-visible counters: jiffies quantised at USER_HZ with random tick phase, event counters;
/// 3. B_i = visible busy jiffies / (Δt_i · USER_HZ) (busy logical CPUs, guest-visible);
/// 4. D_i = k_seg · B_i · T(B_i), lagged first-order; P_i = P_idle + o_seg + lag(D)_i + ε_i;
/// 5. energy_uj integrates P_i·Δt_i in whole µJ and wraps at max_energy_range_uj;
/// 6. sim_hidden_w_i = measured_i − (P_idle + lag(k̄_seg · B·T(B))_i), measured_i the watts
///    a reader derives from the recorded energy_uj and timestamps.
public struct SyntheticGenerator {
    public let profile: SimProfile
    public let seed: UInt64
    /// USER_HZ of the simulated /proc/stat.
    public let userHz: Double = 100
    /// Relative per-sample noise of the latent (visible) activity.
    public var visibleNoise: Double = 0.05
    /// Random tick phase of the jiffy counters, in jiffies (0 = plain floor of the accumulator).
    public var tickDither: Double = 1.5
    /// The kernel's own tick (CONFIG_HZ 250: 4 ms), the quantum of the µs busy time in `/cpu_usage`
    /// (the cgroup v2 root cpu.stat is kcpustat, charged a kernel tick at a time); dithered by
    /// `tickDither` kernel ticks as the jiffy counters are by jiffies.
    public var kernelTickUsec: Double = 4000

    public init(profile: SimProfile, seed: UInt64) {
        self.profile = profile
        self.seed = seed
    }

    /// The hidden draws of one segment and its power coefficients.
    public struct SegmentDraw: Sendable, Equatable {
        /// Hidden idle-floor offset o_seg, W.
        public var idleOffset: Double
        /// Hidden intensity m.
        public var intensity: Double
        /// k_seg: actual W per busy CPU at T = 1 (hidden mix and intensity applied).
        public var coefficient: Double
        /// k̄_seg: its expectation over the hidden draws given the segment (what visible history determines).
        public var expectedCoefficient: Double
    }

    /// Busy-weighted expected coefficient k̄ of a set of stressors (background mix when idle).
    public func expectedCoefficient(_ stressors: [Combination.Stressor]) -> Double {
        var num = 0.0, den = 0.0
        for s in stressors {
            guard let sp = profile.stressors[s.name] else { continue }
            let beta = Double(s.workers) * sp.busyPerWorker
            num += beta * profile.wattsPerBusyThread(sp.mix); den += beta
        }
        return den > 0 ? num / den : profile.wattsPerBusyThread(profile.backgroundMix)
    }

    /// Draws the hidden state of segment `index`. `previousOffset` is kept for bursts.
    public func draw(segment: ScheduledSegment, index: Int, previousOffset: Double?) -> SegmentDraw {
        var rng = SimRandom(seed: seed, stream: 0xD3A7_0000 &+ UInt64(index))
        var offset = profile.idleJitterWatts * rng.uniform(-1, 1)
        if segment.kind == .burst, let prev = previousOffset { offset = prev }
        let kbar = expectedCoefficient(segment.stressors)
        if segment.stressors.isEmpty {
            return SegmentDraw(idleOffset: offset, intensity: 1, coefficient: kbar, expectedCoefficient: kbar)
        }
        let m = 1 + profile.intensityJitter * rng.uniform(-1, 1)
        var num = 0.0, den = 0.0
        for s in segment.stressors {
            guard let sp = profile.stressors[s.name] else { continue }
            let beta = Double(s.workers) * sp.busyPerWorker
            var w = 0.0
            for c in InstructionClass.allCases {  // fixed order: deterministic draws
                let share = sp.mix[c] ?? 0
                let delta = profile.mixJitter * rng.uniform(-1, 1)
                w += share * (1 + delta) * (profile.classWatts[c] ?? 0)
            }
            num += beta * w; den += beta
        }
        let k = den > 0 ? m * num / den : kbar
        return SegmentDraw(idleOffset: offset, intensity: m, coefficient: k, expectedCoefficient: kbar)
    }

    /// Generates the whole trace for `schedule`. `startTimeNs` is the wall-clock start.
    public func generate(schedule: SimSchedule, startTimeNs: Int64 = 1_767_225_600_000_000_000,
                         labels: [String: String] = [:], tenancy: Tenancy? = nil,
                         progress: ((Int) -> Void)? = nil) throws -> TraceData {
        try generate(schedule: schedule, startTimeNs: startTimeNs, labels: labels, tenancy: tenancy, activity: nil, progress: progress)
    }

    /// Host-side activity of a guest view per sample, for co-tenancy (`CoTenancy`): its true busy
    /// CPUs B_vm, and B_vm weighted by the segment's actual (k_seg) and expected (k̄_seg) W per busy thread.
    public struct TenantActivity: Sendable {
        public var busy: [Double] = []
        public var weighted: [Double] = []
        public var expectedWeighted: [Double] = []
        public var floorOffset: [Double] = []
    }

    /// `generate`, also recording the guest's host-side activity into `activity`.
    func generate(schedule: SimSchedule, startTimeNs: Int64, labels: [String: String], tenancy: Tenancy?,
                  activity: UnsafeMutablePointer<TenantActivity>?, progress: ((Int) -> Void)?) throws -> TraceData {
        let p = profile
        try tenancy?.validate(hostThreads: p.threads)
        if tenancy == nil, schedule.segments.contains(where: { $0.vcpus != nil }) {
            throw VraplError("the schedule confines segments to vCPUs but no tenancy was given")
        }
        for seg in schedule.segments {
            for s in seg.stressors where p.stressors[s.name] == nil {
                throw VraplError("profile \(p.name) has no stressor '\(s.name)' (it has: \(p.stressors.keys.sorted().joined(separator: ", ")))")
            }
        }
        var meta = TraceMetadata()
        meta.hostName = "vrapl-sim"
        meta.cpuModel = p.cpuModel
        meta.kernel = "simulated"
        meta.coreCount = p.threads
        meta.sampleIntervalNs = UInt64((schedule.sampleInterval * 1e9).rounded())
        meta.powerSource = .simulated(profile: p.name)
        meta.startTimeNs = startTimeNs
        meta.userHz = Int(userHz)
        meta.labels = labels
        meta.labels["sim_seed"] = String(seed)
        meta.labels["sim_profile"] = p.name
        meta.labels["sim_hidden_w"] = "measured package W minus E[W | guest-visible counters and segment]; simulator only, never a feature"

        let n = schedule.totalSamples
        var mono = [UInt64](); mono.reserveCapacity(n)
        var wall = [Int64](); wall.reserveCapacity(n)
        var cUser = [UInt64](), cNice = [UInt64](), cSystem = [UInt64](), cIdle = [UInt64](), cIowait = [UInt64](), cSoftirq = [UInt64]()
        cUser.reserveCapacity(n); cNice.reserveCapacity(n); cSystem.reserveCapacity(n); cIdle.reserveCapacity(n)
        cIowait.reserveCapacity(n); cSoftirq.reserveCapacity(n)
        var ctxtCol = [UInt64](), intrCol = [UInt64](), procCol = [UInt64](), runCol = [UInt64](), blkCol = [UInt64]()
        ctxtCol.reserveCapacity(n); intrCol.reserveCapacity(n); procCol.reserveCapacity(n); runCol.reserveCapacity(n); blkCol.reserveCapacity(n)
        var pgf = [UInt64](), pgmaj = [UInt64](), pswpin = [UInt64](), pswpout = [UInt64]()
        pgf.reserveCapacity(n); pgmaj.reserveCapacity(n); pswpin.reserveCapacity(n); pswpout.reserveCapacity(n)
        var energy = [UInt64](); energy.reserveCapacity(n)
        // Guest views: k per sample and the guest's share of the package energy (µJ) by the rule.
        var vcpuCol = [UInt64](), shareEnergy = [UInt64]()
        if tenancy != nil { vcpuCol.reserveCapacity(n); shareEnergy.reserveCapacity(n) }
        let host = HostShape(threads: p.threads, cpuModel: p.cpuModel, idleWatts: p.idleWatts)
        let rule = tenancy?.rule ?? .idleByAllocation
        var nrng = SimRandom(seed: seed, stream: 0x4E16_4B0E)  // neighbour draws: whole-host traces keep their streams
        let kbarNeighbour: Double = {
            guard let t = tenancy, !t.neighbourStressors.isEmpty else { return 0 }
            return t.neighbourStressors.reduce(0) { $0 + p.wattsPerBusyThread(p.stressors[$1]?.mix ?? p.backgroundMix) }
                / Double(t.neighbourStressors.count)
        }()
        var hidden = [Float](); hidden.reserveCapacity(n)
        // µs busy time (`/cpu_usage`): user + nice, system + irq + softirq, on its own random stream.
        var usageUser = [UInt64](), usageSystem = [UInt64]()
        usageUser.reserveCapacity(n); usageSystem.reserveCapacity(n)
        var urng = SimRandom(seed: seed, stream: 0xC9_05A6)
        var uUser: UInt64 = 0, uSystem: UInt64 = 0

        var rng = SimRandom(seed: seed, stream: 1)
        let dtNom = schedule.sampleInterval
        let intervalNs = Double(meta.sampleIntervalNs)
        let threads = Double(p.threads)
        let alpha = p.thermalTau > 0 ? 1 - exp(-dtNom / p.thermalTau) : 1.0
        let maxRange = p.maxEnergyRangeUj

        // Counter state: plausible values after some uptime.
        var accUser = 1.0e6 + rng.uniform(0, 1e5), accSystem = 4.0e5 + rng.uniform(0, 1e5)
        var accIowait = 2.0e4 + rng.uniform(0, 1e4), accSoftirq = 1.0e4 + rng.uniform(0, 1e4)
        var accTotal = 5.0e7 + rng.uniform(0, 1e6)
        var vUser = UInt64(accUser), vSystem = UInt64(accSystem), vIowait = UInt64(accIowait), vSoftirq = UInt64(accSoftirq)
        let vNice = UInt64(1000 + rng.int(below: 1000)), vIrq: UInt64 = 0
        var vIdle = UInt64(accTotal) - vUser - vSystem - vIowait - vSoftirq - vNice
        var accCtxt = 1.0e9 + rng.uniform(0, 1e8), accIntr = 5.0e8 + rng.uniform(0, 1e8)
        var accForks = 1.0e5 + rng.uniform(0, 1e4)
        var accPgf = 2.0e8 + rng.uniform(0, 1e7), accPgmaj = 2.0e4 + rng.uniform(0, 1e3)
        let swapIn = UInt64(rng.int(below: 100)), swapOut = UInt64(rng.int(below: 100))

        var eInt = UInt64(rng.uniform(0, Double(maxRange)))
        var packageCounter = EnergyAccumulator(start: eInt, maxRange: maxRange)
        var prevEnergy = eInt
        var sInt = tenancy == nil ? 0 : UInt64(nrng.uniform(0, Double(maxRange)))
        var shareCounter = EnergyAccumulator(start: sInt, maxRange: maxRange)
        var prevShare = sInt
        var monoNs = 1_000_000_000_000 + UInt64(rng.int(below: 1_000_000_000))
        let mono0 = monoNs

        // Lag state of actual (y) and expected (ybar) dynamic power, starting at housekeeping steady state.
        let kBg = p.wattsPerBusyThread(p.backgroundMix)
        let hkBusy = p.housekeepingUser + p.housekeepingSystem
        var y = kBg * hkBusy * p.turbo(busyThreads: hkBusy)
        var ybar = y

        var previousOffset: Double? = nil
        var sampleIndex = 0
        var bgRemaining = 0
        var bgThreads = 0.0

        for (segIndex, seg) in schedule.segments.enumerated() {
            let d = draw(segment: seg, index: segIndex, previousOffset: previousOffset)
            previousOffset = d.idleOffset
            // The guest's k of the host's T threads (k = T: the whole host). Its OS housekeeping and
            // background wake-ups scale with k/T; the host's remaining housekeeping and the neighbours
            // run on the other threads, unseen by the guest but seen by the package meter.
            let vcpus = seg.vcpus ?? p.threads
            let guestScale = Double(vcpus) / threads
            let guestThreads = Double(vcpus)
            let hkUser = p.housekeepingUser * guestScale, hkSystem = p.housekeepingSystem * guestScale
            let hostHousekeeping = hkBusy * (1 - guestScale)
            let neighbourBusy = seg.neighbourLoad * (threads - guestThreads)
            let expectedNeighbourBusy = (tenancy?.meanNeighbourLoad ?? 0) * (threads - guestThreads)
            var kNeighbour = 0.0
            if let name = seg.neighbourStressor, seg.neighbourLoad > 0 {
                kNeighbour = p.wattsPerBusyThread(p.stressors[name]?.mix ?? p.backgroundMix)
                    * (1 + p.intensityJitter * nrng.uniform(-1, 1))
            }
            // Latent per-field activity at full ramp (logical CPUs) and event rates (per s).
            var sUser = 0.0, sSystem = 0.0, sIowait = 0.0, sSoftirq = 0.0
            var rCtxt = 0.0, rIntr = 0.0, rForks = 0.0, rPgf = 0.0, rPgmaj = 0.0, blocked = 0.0
            var startup = 0.0, workers = 0
            for s in seg.stressors {
                guard let sp = p.stressors[s.name] else { continue }
                let w = Double(s.workers)
                sUser += w * sp.user; sSystem += w * sp.system; sIowait += w * sp.iowait; sSoftirq += w * sp.softirq
                rCtxt += w * sp.contextSwitchesHz; rIntr += w * sp.interruptsHz; rForks += w * sp.forksHz
                rPgf += w * sp.pageFaultsHz; rPgmaj += w * sp.majorFaultsHz; blocked += w * sp.blockedPerWorker
                startup = max(startup, sp.startup); workers += s.workers
            }
            // Over-subscription: the stressors share what housekeeping leaves.
            let demand = sUser + sSystem + sIowait + sSoftirq
            let room = guestThreads - (hkUser + hkSystem)
            if demand > room, demand > 0 {
                let f = room / demand
                sUser *= f; sSystem *= f; sIowait *= f; sSoftirq *= f
            }
            let isIdleKind = seg.kind == .idle || seg.kind == .cooldown
            let k = d.coefficient, kbar = d.expectedCoefficient
            let floorW = p.idleWatts + d.idleOffset
            if !seg.stressors.isEmpty {
                // stress-ng parent + workers fork at the start; a burst of context switches with it.
                accForks += Double(workers + 1)
                accCtxt += 40 * Double(workers)
            }
            if !isIdleKind { bgRemaining = 0 }

            for j in 0..<seg.samples {
                // Timestamps: deadline k·Δt plus a small positive wake-up latency.
                let latencyNs = UInt64(20_000 + rng.int(below: 100_000))
                let newMono = mono0 + UInt64(Double(sampleIndex) * intervalNs) + latencyNs
                let dt = sampleIndex == 0 ? dtNom : Double(newMono - monoNs) * 1e-9
                monoNs = newMono

                let ramp = startup > 0 ? min(1, Double(j + 1) * dtNom / startup) : 1
                var u = hkUser + sUser * ramp
                var sy = hkSystem + sSystem * ramp
                let io = sIowait * ramp
                let sirq = sSoftirq * ramp
                var extraCtxt = 0.0
                if isIdleKind {
                    if bgRemaining == 0, rng.bernoulli(p.backgroundRateHz * dtNom) {
                        bgRemaining = p.backgroundSamples.lowerBound + rng.int(below: p.backgroundSamples.count)
                        bgThreads = rng.uniform(p.backgroundThreads.lowerBound, p.backgroundThreads.upperBound)
                    }
                    if bgRemaining > 0 {
                        u += 0.6 * bgThreads * guestScale; sy += 0.4 * bgThreads * guestScale; extraCtxt = 800 * bgThreads * guestScale
                        bgRemaining -= 1
                        if bgRemaining == 0 { accForks += 1 }
                    }
                }
                let jf = dt * userHz
                let nz = visibleNoise
                let dUser = u * jf * max(0, 1 + nz * rng.normal())
                let dSystem = sy * jf * max(0, 1 + nz * rng.normal())
                let dIowait = io * jf * max(0, 1 + nz * rng.normal())
                let dSoftirq = sirq * jf * max(0, 1 + nz * rng.normal())
                accUser += dUser; accSystem += dSystem; accIowait += dIowait; accSoftirq += dSoftirq
                accTotal += guestThreads * jf
                let td = tickDither
                let nUser = max(vUser, UInt64(accUser + td * rng.uniform()))
                let nSystem = max(vSystem, UInt64(accSystem + td * rng.uniform()))
                let nIowait = max(vIowait, UInt64(accIowait + td * rng.uniform()))
                let nSoftirq = max(vSoftirq, UInt64(accSoftirq + td * rng.uniform()))
                let busyJiffies = Double((nUser - vUser) + (nSystem - vSystem) + (nSoftirq - vSoftirq))
                vUser = nUser; vSystem = nSystem; vIowait = nIowait; vSoftirq = nSoftirq
                let accounted = vUser + vSystem + vIowait + vSoftirq + vNice + vIrq
                let totalTicks = UInt64(accTotal)
                if totalTicks > accounted { vIdle = max(vIdle, totalTicks - accounted) }

                accCtxt += (p.housekeepingContextSwitchesHz * guestScale + rCtxt * ramp + extraCtxt) * dt * max(0, 1 + nz * rng.normal())
                accIntr += (p.housekeepingInterruptsHz * guestScale + rIntr * ramp) * dt * max(0, 1 + nz * rng.normal())
                accForks += (p.housekeepingForksHz * guestScale + rForks * ramp) * dt
                accPgf += (p.housekeepingPageFaultsHz * guestScale + rPgf * ramp) * dt * max(0, 1 + nz * rng.normal())
                accPgmaj += rPgmaj * ramp * dt
                let running = max(1, (u + sy + sirq + 0.3 * nz * rng.normal() * (u + sy)).rounded())
                let blk = max(0, (blocked * ramp + 0.3 * rng.normal() * blocked.squareRoot()).rounded())

                // Power from the busy CPUs. The whole host: the guest-visible (tick-quantised) busy
                // CPUs, as before. A guest view: the guest's true busy time (the host's scheduler
                // is exact; only the guest's counters are quantised) plus the host's own
                // housekeeping and the neighbours, all under the turbo factor of the host's total.
                let b = busyJiffies / jf
                let vmBusy = tenancy == nil ? b : (dUser + dSystem + dSoftirq) / jf
                let nBusy = neighbourBusy > 0 ? neighbourBusy * max(0, 1 + nz * nrng.normal()) : 0
                let hostBusy = vmBusy + hostHousekeeping + nBusy
                let expectedHostBusy = vmBusy + hostHousekeeping + expectedNeighbourBusy
                let turbo = p.turbo(busyThreads: hostBusy), expectedTurbo = p.turbo(busyThreads: expectedHostBusy)
                let x = vmBusy * turbo
                if let activity {
                    activity.pointee.busy.append(vmBusy)
                    activity.pointee.weighted.append(k * vmBusy)
                    activity.pointee.expectedWeighted.append(kbar * vmBusy)
                    activity.pointee.floorOffset.append(d.idleOffset)
                }
                y += alpha * (k * x + (kNeighbour * nBusy + kBg * hostHousekeeping) * turbo - y)
                ybar += alpha * (kbar * (vmBusy * expectedTurbo) + (kbarNeighbour * expectedNeighbourBusy + kBg * hostHousekeeping) * expectedTurbo - ybar)
                let power = floorW + y + p.meterNoiseWatts * rng.normal()
                packageCounter.add(watts: power, seconds: dt)
                eInt = packageCounter.counter
                var expected = p.idleWatts + ybar
                if tenancy != nil {
                    // The guest's share by the rule, integrated like the package counter; its
                    // expectation uses the expected neighbours (a guest cannot see them).
                    let share = rule.split(packageWatts: max(0, power), host: host, vcpus: vcpus, vmBusy: vmBusy, hostBusy: hostBusy)
                    shareCounter.add(watts: share.total, seconds: dt)
                    sInt = shareCounter.counter
                    expected = rule.split(packageWatts: expected, host: host, vcpus: vcpus, vmBusy: vmBusy,
                                          hostBusy: expectedHostBusy).total
                    vcpuCol.append(UInt64(vcpus))
                    shareEnergy.append(sInt)
                }
                if sampleIndex == 0 {
                    hidden.append(0)
                } else {
                    let measuredCounter = tenancy == nil ? (prevEnergy, eInt) : (prevShare, sInt)
                    let measured = Double(energyDelta(previous: Microjoules(measuredCounter.0), current: Microjoules(measuredCounter.1),
                                                      maxRange: Microjoules(maxRange)).value) * 1e-6 / dt
                    hidden.append(Float(measured - expected))
                }
                prevEnergy = eInt
                prevShare = sInt

                mono.append(monoNs)
                wall.append(startTimeNs + Int64(monoNs - mono0))
                cUser.append(vUser); cNice.append(vNice); cSystem.append(vSystem); cIdle.append(vIdle)
                cIowait.append(vIowait); cSoftirq.append(vSoftirq)
                let usecPerJiffy = 1e6 / userHz, q = kernelTickUsec
                uUser = max(uUser, UInt64((((accUser + Double(vNice)) * usecPerJiffy / q + td * urng.uniform()).rounded(.down)) * q))
                uSystem = max(uSystem, UInt64((((accSystem + accSoftirq + Double(vIrq)) * usecPerJiffy / q + td * urng.uniform()).rounded(.down)) * q))
                usageUser.append(uUser); usageSystem.append(uSystem)
                ctxtCol.append(UInt64(accCtxt)); intrCol.append(UInt64(accIntr)); procCol.append(UInt64(accForks))
                runCol.append(UInt64(running)); blkCol.append(UInt64(blk))
                pgf.append(UInt64(accPgf)); pgmaj.append(UInt64(accPgmaj)); pswpin.append(swapIn); pswpout.append(swapOut)
                energy.append(eInt)
                sampleIndex += 1
            }
            progress?(sampleIndex)
        }

        var trace = TraceData(metadata: meta)
        trace.monotonicNs = mono
        trace.wallClockNs = wall
        let zeros = [UInt64](repeating: 0, count: n)
        trace.cpuFields = [cUser, cNice, cSystem, cIdle, cIowait, [UInt64](repeating: vIrq, count: n), cSoftirq, zeros, zeros, zeros]
        trace.contextSwitches = ctxtCol
        trace.interrupts = intrCol
        trace.processesCreated = procCol
        trace.procsRunning = runCol
        trace.procsBlocked = blkCol
        trace.vmstat = [NamedCounterSeries(name: "pgfault", values: pgf), NamedCounterSeries(name: "pgmajfault", values: pgmaj),
                        NamedCounterSeries(name: "pswpin", values: pswpin), NamedCounterSeries(name: "pswpout", values: pswpout)]
        trace.rapl = [RaplDomainSeries(key: "intel-rapl:0", name: "package-0", maxEnergyRangeUj: maxRange, energyUj: energy)]
        trace.simHiddenWatts = hidden
        trace.cpuUsage = CPUUsageSeries(source: "sim:\(p.name) (µs busy time at a \(Int(kernelTickUsec)) µs kernel tick, as the cgroup v2 root cpu.stat)",
                                        userUsec: usageUser, systemUsec: usageSystem)
        if tenancy != nil {
            trace.guestView = GuestViewSeries(host: host, rule: rule, maxEnergyRangeUj: maxRange, vcpus: vcpuCol, energyUj: shareEnergy)
            trace.metadata.labels["sim_hidden_w"] = "the guest's measured share minus E[share | guest-visible counters and segment, neighbours at their mean load]; simulator only, never a feature"
        }
        var first = 0
        for seg in schedule.segments {
            trace.segments.append(TraceSegment(name: seg.name, firstSample: first, lastSample: first + seg.samples - 1,
                                               parameters: seg.parameters))
            first += seg.samples
        }
        return trace
    }
}
