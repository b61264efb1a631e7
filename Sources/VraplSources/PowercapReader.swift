import Glibc
import VraplCore

/// One RAPL zone or subzone of the Linux powercap tree.
public struct PowercapZone: Sendable, Equatable {
    /// The directory name, e.g. `intel-rapl:0` (package) or `intel-rapl:0:1` (a subzone).
    public var key: String
    /// The zone's `name` file: `package-0`, `core`, `uncore`, `dram`, `psys`, …
    public var name: String
    /// The zone directory (with symlinks as found).
    public var path: String
    /// `max_energy_range_uj`: `energy_uj` wraps to 0 after this value.
    public var maxEnergyRange: Microjoules

    public init(key: String, name: String, path: String, maxEnergyRange: Microjoules) {
        self.key = key; self.name = name; self.path = path; self.maxEnergyRange = maxEnergyRange
    }

    /// True for a package-level zone (`package-N`).
    public var isPackage: Bool { name.hasPrefix("package") }
    /// The numeric components of the key (`intel-rapl:1:2` → [1, 2]), for ordering.
    public var indices: [Int] { key.split(separator: ":").dropFirst().compactMap { Int($0) } }
}

/// A source of cumulative energy counters, read once per sampling tick: the powercap reader on bare
/// metal, the simulated source elsewhere. `stat` is the /proc/stat snapshot of the same tick (a
/// simulated source derives power from it; a real one ignores it).
public protocol EnergySource: AnyObject {
    /// The zones, in the order of the values `sample` writes.
    var zones: [PowercapZone] { get }
    /// `rapl` or `sim:<profile>`: what the trace's `power_source` attribute must say.
    var powerSource: PowerSource { get }
    /// Writes each zone's cumulative counter into `energy` (`zones.count` elements). Must not allocate.
    func sample(stat: ProcStatSnapshot, monotonicNs: UInt64, into energy: inout [Microjoules]) throws
}

/// Reads RAPL energy counters from the Linux powercap tree under `<sysfs>/class/powercap`
/// (zones `intel-rapl:N`, subzones `intel-rapl:N:M`; the same driver names AMD packages).
///
/// Discovery walks `class/powercap` (symlinks on a real system, plain directories in fixtures) and
/// the subzone directories inside each zone; when `class/powercap` is absent it walks
/// `devices/virtual/powercap/intel-rapl`. The `energy_uj` files stay open and are re-read with `pread`.
public final class PowercapReader: EnergySource {
    /// The sysfs root (normally `/sys`).
    public let root: String
    public let zones: [PowercapZone]
    /// `rapl`, or `sim:<profile>` when the tree is one that `vrapl simulate live` keeps: such a tree
    /// carries the marker file `class/powercap/vrapl-sim-profile` (the profile name), so a recording of
    /// a simulated meter can never be labelled as a real one.
    public let powerSource: PowerSource
    private let files: [PolledFile]

    /// Name of the marker file a simulated powercap tree carries under `class/powercap/`.
    public static let simulatorMarker = "vrapl-sim-profile"

    /// Discovers every zone and opens its `energy_uj`. Throws the "no RAPL zone" message when there is
    /// none, the Linux 5.10 root-only note when `energy_uj` cannot be opened, and the file and text
    /// for unreadable values.
    public init(sysfs: String = "/sys") throws {
        root = sysfs
        let zones = try PowercapReader.discover(sysfs: sysfs)
        var files: [PolledFile] = []
        for zone in zones {
            files.append(try PolledFile(path: zone.path + "/energy_uj", capacity: 64, oneShot: true))
        }
        self.zones = zones
        self.files = files
        self.powerSource = PowercapReader.simulatedProfile(sysfs: sysfs).map { .simulated(profile: $0) } ?? .rapl
        var first = [Microjoules](repeating: Microjoules(0), count: zones.count)
        try read(into: &first)
    }

    /// The simulator profile named by the tree's marker file, or nil for a real (unmarked) tree.
    public static func simulatedProfile(sysfs: String) -> String? {
        let path = sysfs + "/class/powercap/" + simulatorMarker
        guard let text = try? readSmallFile(path) else { return nil }
        let name = text.trimmingWhitespace()
        return name.isEmpty ? "unknown" : name
    }

    /// Reads every zone's `energy_uj`; `energy` must have `zones.count` elements.
    @inline(__always)
    public func read(into energy: inout [Microjoules]) throws {
        precondition(energy.count == files.count, "energy must have one slot per zone")
        var i = 0
        while i < files.count {
            let file = files[i]
            energy[i] = Microjoules(try file.withContents { try PowercapReader.parseValue($0, path: file.path) })
            i += 1
        }
    }

    /// Reads every zone's `energy_uj` into a new array.
    public func read() throws -> [Microjoules] {
        var e = [Microjoules](repeating: Microjoules(0), count: zones.count)
        try read(into: &e)
        return e
    }

    public func sample(stat: ProcStatSnapshot, monotonicNs: UInt64, into energy: inout [Microjoules]) throws {
        try read(into: &energy)
    }

    /// The message when no zone exists.
    public static func noZoneMessage(sysfs: String) -> String {
        "no RAPL zone under \(joined(sysfs, "class/powercap")): this is probably a VM or RAPL is disabled; use --power-source sim or point --sysfs at a powercap tree"
    }

    /// Finds every RAPL zone and subzone, ordered by their numbers (`intel-rapl:0`, `intel-rapl:0:0`, …, `intel-rapl:1`).
    public static func discover(sysfs: String) throws -> [PowercapZone] {
        let classDir = joined(sysfs, "class/powercap")
        let devicesDir = joined(sysfs, "devices/virtual/powercap/intel-rapl")
        var dirs: [String: String] = [:]  // key → directory
        func scan(_ dir: String, depth: Int) {
            guard depth <= 2, let entries = try? TextFile.directoryEntries(dir) else { return }
            for entry in entries where isZoneKey(entry) {
                let path = dir + "/" + entry
                if dirs[entry] == nil { dirs[entry] = path }
                scan(path, depth: depth + 1)
            }
        }
        if TextFile.isDirectory(classDir) {
            scan(classDir, depth: 0)
        }
        if dirs.isEmpty { scan(devicesDir, depth: 0) }
        guard !dirs.isEmpty else { throw VraplError(noZoneMessage(sysfs: sysfs)) }

        var zones: [PowercapZone] = []
        for (key, dir) in dirs {
            let name = try readSmallFile(dir + "/name").trimmingWhitespace()
            guard !name.isEmpty else { throw VraplError("\(dir)/name is empty") }
            let rangePath = dir + "/max_energy_range_uj"
            let rangeText = try readSmallFile(rangePath)
            let range = try rangeText.utf8.withContiguousStorageIfAvailable { bytes in
                try parseValue(UnsafeRawBufferPointer(bytes), path: rangePath)
            } ?? parseValue(Array(rangeText.utf8), path: rangePath)
            zones.append(PowercapZone(key: key, name: name, path: dir, maxEnergyRange: Microjoules(range)))
        }
        zones.sort { $0.indices.lexicographicallyPrecedes($1.indices) }
        return zones
    }

    /// `intel-rapl:N` or `intel-rapl:N:M` (not the `intel-rapl` control-type directory, not `intel-rapl-mmio`).
    static func isZoneKey(_ name: String) -> Bool {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts[0] == "intel-rapl" else { return false }
        return parts.dropFirst().allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// Parses one sysfs number: digits, optionally followed by a newline. Names the file and text otherwise.
    @inline(__always)
    static func parseValue(_ bytes: UnsafeRawBufferPointer, path: String) throws -> UInt64 {
        guard !bytes.isEmpty else { throw VraplError("\(path) is empty") }
        var c = ByteCursor(bytes)
        let value: UInt64
        switch c.scanNumber() {
        case .value(let v): value = v
        case .endOfLine: throw VraplError("\(path) holds no number (empty line)")
        case .garbage, .overflow: throw VraplError("\(path): expected a number of microjoules, found '\(c.lineText(containing: 0))'")
        }
        c.skipBlanks()
        if !c.atEnd, c.bytes[c.index] == ByteCursor.newline { c.index += 1 }
        guard c.atEnd else { throw VraplError("\(path): expected a number of microjoules, found '\(c.lineText(containing: 0))'") }
        return value
    }

    static func parseValue(_ bytes: [UInt8], path: String) throws -> UInt64 {
        try bytes.withUnsafeBytes { try parseValue($0, path: path) }
    }

    static func readSmallFile(_ path: String) throws -> String {
        let file = try PolledFile(path: path, capacity: 256)
        return try file.withContents { String(decoding: $0, as: UTF8.self) }
    }

    static func joined(_ root: String, _ rest: String) -> String {
        root.hasSuffix("/") ? root + rest : root + "/" + rest
    }
}
