import Testing
import VraplCore

@Suite("Share rule: P_vm = P_idle·k/T + (P_pkg − P_idle)·U_vm/U_host")
struct ShareRuleTests {
    let host = HostShape(threads: 20, cpuModel: "test", idleWatts: 25)

    @Test("tenants that fill the host and its busy time sum to the package power, whatever the load")
    func conservation() {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<200 {
            let sizes = [2, 4, 6, 8]
            let busy = sizes.map { Double($0) * Double(rng.next() % 1000) / 1000 }
            let hostBusy = busy.reduce(0, +)
            let pkg = 25 + Double(rng.next() % 10000) / 100
            let total = zip(sizes, busy).reduce(0.0) { acc, t in
                acc + ShareRule.idleByAllocation.split(packageWatts: pkg, host: host, vcpus: t.0, vmBusy: t.1, hostBusy: hostBusy).total
            }
            if hostBusy > 0 { #expect(abs(total - pkg) < 1e-9) }
        }
    }

    @Test("the parts: idle by allocation, active by busy share; active-only charges no idle; an idle host no active part")
    func parts() {
        let s = ShareRule.idleByAllocation.split(packageWatts: 65, host: host, vcpus: 2, vmBusy: 2, hostBusy: 8)
        #expect(s.idle == 2.5 && s.active == 10)
        let a = ShareRule.activeOnly.split(packageWatts: 65, host: host, vcpus: 2, vmBusy: 2, hostBusy: 8)
        #expect(a.idle == 0 && a.active == 10)
        #expect(ShareRule.idleByAllocation.split(packageWatts: 30, host: host, vcpus: 2, vmBusy: 0, hostBusy: 0).active == 0)
        // Below its idle power the package gives a negative active part, never a negative total.
        let low = ShareRule.idleByAllocation.split(packageWatts: 0, host: host, vcpus: 2, vmBusy: 8, hostBusy: 8)
        #expect(low.total >= 0)
    }

    @Test("host shapes out of range are refused naming the field", arguments: [
        (HostShape(threads: 0, cpuModel: "x", idleWatts: 1), "threads"),
        (HostShape(threads: 8, cpuModel: "x", idleWatts: -1), "idle_watts"),
        (HostShape(threads: 8, cpuModel: "x", idleWatts: .nan), "idle_watts"),
        (HostShape(threads: 8, cores: 9, cpuModel: "x", idleWatts: 1), "cores"),
    ])
    func badHost(_ shape: HostShape, _ field: String) {
        do {
            try shape.validate()
            Issue.record("accepted \(shape)")
        } catch let e as VraplError {
            #expect(e.message.contains(field))
        } catch { Issue.record("\(error)") }
    }

    @Test("rules parse by name; an unknown one is refused listing the known")
    func parsing() throws {
        #expect(try ShareRule(parsing: "active-only") == .activeOnly)
        #expect(throws: VraplError.self) { try ShareRule(parsing: "fair") }
    }
}
