import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplSources

@Suite struct PowercapReaderTests {
    @Test func twoSocketTreeHasEveryZoneInOrder() throws {
        let reader = try PowercapReader(sysfs: Fixtures.sysfs("two-socket"))
        #expect(reader.zones.map(\.key) == ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:0:2",
                                            "intel-rapl:1", "intel-rapl:1:0", "intel-rapl:1:1", "intel-rapl:1:2"])
        #expect(reader.zones.map(\.name) == ["package-0", "core", "uncore", "dram", "package-1", "core", "uncore", "dram"])
        #expect(reader.zones.filter(\.isPackage).count == 2)
        #expect(reader.zones[3].maxEnergyRange == Microjoules(65_712_999_613))
        #expect(reader.zones[0].maxEnergyRange == Microjoules(262_143_328_850))
        let e = try reader.read()
        #expect(e[0] == Microjoules(123_456_789_012))
        #expect(e[4] == Microjoules(262_143_328_850 - 3_000_000))
        #expect(e[7] == Microjoules(34_567_890_123))
    }

    @Test func aTreeKeptByTheSimulatorIsLabelledSimulated() throws {
        #expect(try PowercapReader(sysfs: Fixtures.sysfs("two-socket")).powerSource == .rapl)
        let root = try Scratch.path()
        let zone = root + "/class/powercap/intel-rapl:0"
        try FileManager.default.createDirectory(atPath: zone, withIntermediateDirectories: true)
        try "package-0\n".write(toFile: zone + "/name", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: zone + "/energy_uj", atomically: true, encoding: .utf8)
        try "262143328850\n".write(toFile: zone + "/max_energy_range_uj", atomically: true, encoding: .utf8)
        #expect(try PowercapReader(sysfs: root).powerSource == .rapl)
        try "xeon-silver-4210r\n".write(toFile: root + "/class/powercap/vrapl-sim-profile", atomically: true, encoding: .utf8)
        #expect(try PowercapReader(sysfs: root).powerSource == .simulated(profile: "xeon-silver-4210r"))
    }

    @Test func nearWrapZoneGivesTheRightDeltaAfterWrapping() throws {
        // package-1 reads 3 J below its range; a reading of 2 J after the wrap is 5 J (+1 µJ for max→0) later.
        let reader = try PowercapReader(sysfs: Fixtures.sysfs("two-socket"))
        let before = try reader.read()[4]
        let zone = reader.zones[4]
        let d = energyDelta(previous: before, current: Microjoules(2_000_000), maxRange: zone.maxEnergyRange)
        #expect(d == Microjoules(5_000_001))
    }

    @Test func rereadsTheOpenFileEachTime() throws {
        let dir = try Scratch.directory()
        let zone = dir.appendingPathComponent("class/powercap/intel-rapl:0")
        try FileManager.default.createDirectory(at: zone, withIntermediateDirectories: true)
        try "package-0\n".write(to: zone.appendingPathComponent("name"), atomically: false, encoding: .utf8)
        try "1000\n".write(to: zone.appendingPathComponent("max_energy_range_uj"), atomically: false, encoding: .utf8)
        let energy = zone.appendingPathComponent("energy_uj")
        try "990\n".write(to: energy, atomically: false, encoding: .utf8)
        let reader = try PowercapReader(sysfs: dir.path)
        var e = [Microjoules(0)]
        try reader.read(into: &e)
        #expect(e == [Microjoules(990)])
        // Overwrite in place (same inode, as sysfs does): the open fd sees the new value.
        let h = try FileHandle(forWritingTo: energy)
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: Data("9\n".utf8))
        try h.close()
        try reader.read(into: &e)
        #expect(e == [Microjoules(9)])
        #expect(energyDelta(previous: Microjoules(990), current: e[0], maxRange: reader.zones[0].maxEnergyRange) == Microjoules(20))
    }

    @Test(arguments: ["symlinked", "devices-only"])
    func kernelLayouts(tree: String) throws {
        let reader = try PowercapReader(sysfs: Fixtures.sysfs(tree))
        #expect(reader.zones.first?.key == "intel-rapl:0")
        #expect(reader.zones.first?.name == "package-0")
        #expect(reader.zones.count == (tree == "symlinked" ? 3 : 2))
        let e = try reader.read()
        #expect(e[0] == Microjoules(tree == "symlinked" ? 5_000_000 : 7_000_000))
        #expect(e[1] == Microjoules(tree == "symlinked" ? 4_000_000 : 6_000_000))
    }

    static let broken: [(tree: String, expected: [String])] = [
        ("broken-no-zones", ["no RAPL zone under ", "broken-no-zones/class/powercap: this is probably a VM or RAPL is disabled; use --power-source sim or point --sysfs at a powercap tree"]),
        ("does-not-exist", ["no RAPL zone under ", "does-not-exist/class/powercap: this is probably a VM"]),
        ("broken-missing-energy", ["cannot open", "intel-rapl:0/energy_uj", "No such file"]),
        ("broken-missing-name", ["cannot open", "intel-rapl:0/name"]),
        ("broken-missing-range", ["cannot open", "intel-rapl:0/max_energy_range_uj"]),
        ("broken-garbage-energy", ["intel-rapl:0/energy_uj: expected a number of microjoules, found '12ab34'"]),
        ("broken-garbage-range", ["intel-rapl:0/max_energy_range_uj: expected a number of microjoules, found 'unknown'"]),
        ("broken-empty-energy", ["intel-rapl:0/energy_uj is empty"]),
        ("broken-truncated-energy", ["intel-rapl:0/energy_uj: expected a number of microjoules, found '12345 678'"]),
    ]

    @Test(arguments: broken)
    func brokenTreesFailWithActionableMessages(c: (tree: String, expected: [String])) {
        let message = Fixtures.message { _ = try PowercapReader(sysfs: Fixtures.sysfs(c.tree)) }
        #expect(message != nil)
        for part in c.expected { #expect(message?.contains(part) == true, "\(message ?? "no error") lacks \(part)") }
    }

    @Test func exactNoZoneMessage() {
        #expect(PowercapReader.noZoneMessage(sysfs: "/sys") ==
                "no RAPL zone under /sys/class/powercap: this is probably a VM or RAPL is disabled; use --power-source sim or point --sysfs at a powercap tree")
    }

    @Test func permissionDeniedOnEnergyExplainsLinux510() {
        let m = PolledFile.openError(path: "/sys/class/powercap/intel-rapl:0/energy_uj", errno: EACCES).message
        #expect(m.contains("/sys/class/powercap/intel-rapl:0/energy_uj"))
        #expect(m.contains("Permission denied"))
        #expect(m.contains("Since Linux 5.10"))
        #expect(m.contains("root only"))
        #expect(m.contains("chmod"))
        #expect(!PolledFile.openError(path: "/proc/stat", errno: EACCES).message.contains("5.10"))
    }

    @Test func permissionDeniedForRealWhenNotRoot() throws {
        // As root (CAP_DAC_OVERRIDE) a mode-000 file stays readable, so this only bites for other users.
        guard geteuid() != 0 else { return }
        let dir = try Scratch.directory()
        let zone = dir.appendingPathComponent("class/powercap/intel-rapl:0")
        try FileManager.default.createDirectory(at: zone, withIntermediateDirectories: true)
        try "package-0\n".write(to: zone.appendingPathComponent("name"), atomically: false, encoding: .utf8)
        try "1000\n".write(to: zone.appendingPathComponent("max_energy_range_uj"), atomically: false, encoding: .utf8)
        try "5\n".write(to: zone.appendingPathComponent("energy_uj"), atomically: false, encoding: .utf8)
        chmod(zone.appendingPathComponent("energy_uj").path, 0)
        let m = Fixtures.message { _ = try PowercapReader(sysfs: dir.path) }
        #expect(m?.contains("Since Linux 5.10") == true)
    }

    @Test(arguments: [("intel-rapl:0", true), ("intel-rapl:12:3", true), ("intel-rapl", false),
                      ("intel-rapl-mmio:0", false), ("intel-rapl:", false), ("intel-rapl:a", false), ("intel-rapl:0:1:2", false)])
    func zoneKeys(name: String, isZone: Bool) {
        #expect(PowercapReader.isZoneKey(name) == isZone)
    }
}
