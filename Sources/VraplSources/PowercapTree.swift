import Glibc
import VraplCore

/// The one writer of powercap-shaped trees (the reader is `PowercapReader`): the live simulator's
/// sysfs tree and the guest's `--powercap-dir` both go through it.
///
///     <root>/class/powercap/intel-rapl/enabled                      "1"   (sysfs layout only)
///     <zone>/{name, energy_uj, max_energy_range_uj, enabled}
///
/// `energy_uj` is rewritten IN PLACE with one `pwrite` of a fixed-width record (the number, space
/// padding, newline), never by rename: real RAPL readers, vrapl-collect included, open `energy_uj`
/// once and re-read it with `pread`, and a rename would leave them reading the old file forever.
/// The record never changes length, so no reader sees a truncated file; the static files are
/// written once by atomic rename.
///
/// With `continuing`, a counter left by an earlier run is taken over: the tree starts from the
/// `energy_uj` value it finds (when it is a number within the range), so a restart of the writer
/// looks to readers like time passing, not like a wrap of the counter (which a reader applying the
/// wrap rule would count as a whole range of energy, 262 kJ for a server package).
public final class PowercapTree {
    /// The zone directory (`…/intel-rapl:0`).
    public let zoneDirectory: String
    public let maxEnergyRangeUj: UInt64
    /// The counter value the tree started from: the earlier run's value when continuing, else the initial value.
    public let startEnergyUj: UInt64
    private let fd: Int32
    private var buffer: [UInt8]

    /// A sysfs-shaped tree under `root` (`<root>/class/powercap/intel-rapl:0`), for readers given
    /// `--sysfs <root>`. `simulatorProfile` writes the marker that labels the tree as simulated.
    public convenience init(root: String, maxEnergyRangeUj: UInt64, initialEnergyUj: UInt64 = 0, zoneName: String = "package-0",
                            simulatorProfile: String? = nil, continuing: Bool = false) throws {
        let base = root + "/class/powercap"
        try TextFile.createDirectories(base + "/intel-rapl")
        try TextFile.writeAtomically("1\n", to: base + "/intel-rapl/enabled")
        if let profile = simulatorProfile {
            // Marker for readers that want to label what they record: this tree is simulated.
            try TextFile.writeAtomically(profile + "\n", to: base + "/vrapl-sim-profile")
        }
        try self.init(zoneDirectory: base + "/intel-rapl:0", maxEnergyRangeUj: maxEnergyRangeUj, initialEnergyUj: initialEnergyUj,
                      zoneName: zoneName, continuing: continuing)
    }

    /// One zone directory (created if needed) with its four files; writes the first counter value.
    public init(zoneDirectory: String, maxEnergyRangeUj: UInt64, initialEnergyUj: UInt64 = 0, zoneName: String = "package-0",
                continuing: Bool = false) throws {
        self.zoneDirectory = zoneDirectory
        self.maxEnergyRangeUj = maxEnergyRangeUj
        try TextFile.createDirectories(zoneDirectory)
        try TextFile.writeAtomically(zoneName + "\n", to: zoneDirectory + "/name")
        try TextFile.writeAtomically("1\n", to: zoneDirectory + "/enabled")
        try TextFile.writeAtomically("\(maxEnergyRangeUj)\n", to: zoneDirectory + "/max_energy_range_uj")
        let path = zoneDirectory + "/energy_uj"
        var start = initialEnergyUj
        if continuing, let text = try? TextFile.read(path), let previous = UInt64(text.trimmingWhitespace()),
           maxEnergyRangeUj == 0 || previous <= maxEnergyRangeUj {
            start = previous
        }
        startEnergyUj = start
        let width = String(maxEnergyRangeUj == 0 ? UInt64.max : maxEnergyRangeUj).count + 1
        buffer = [UInt8](repeating: 0x20, count: width + 1)
        // Not O_TRUNC: a reader holding the file open keeps reading the same inode.
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw VraplError("cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
        self.fd = fd
        if ftruncate(fd, off_t(width + 1)) != 0 {
            close(fd)
            throw VraplError("cannot size \(path): \(String(cString: strerror(errno)))")
        }
        try write(energyUj: start)
    }

    deinit { close(fd) }

    /// Rewrites `energy_uj` in place (one pwrite of the fixed-width record). No allocation.
    public func write(energyUj value: UInt64) throws {
        var v = value
        var digits = 0
        var tmp = v
        repeat { digits += 1; tmp /= 10 } while tmp > 0
        let n = buffer.count
        let written: Int = buffer.withUnsafeMutableBufferPointer { buf -> Int in
            for i in 0..<(n - 1) { buf[i] = 0x20 }
            var i = min(digits, n - 1) - 1
            while i >= 0 { buf[i] = UInt8(0x30 + v % 10); v /= 10; i -= 1 }
            buf[n - 1] = 0x0A
            return pwrite(fd, buf.baseAddress, n, 0)
        }
        guard written == n else { throw VraplError("cannot write \(zoneDirectory)/energy_uj: \(String(cString: strerror(errno)))") }
    }
}
