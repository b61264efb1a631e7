#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore

/// A powercap-shaped directory that the live simulator keeps up to date:
///
///     <root>/class/powercap/intel-rapl/enabled                      "1"
///     <root>/class/powercap/intel-rapl:0/{name, energy_uj, max_energy_range_uj, enabled}
///
/// so that `vrapl-collect --sysfs <root>` (and any other RAPL reader pointed at it) records it
/// through the real RAPL code path.
///
/// `energy_uj` is rewritten IN PLACE with one `pwrite` of a fixed-width record (the number, space
/// padding, newline), never by rename: real RAPL readers, vrapl-collect included, open `energy_uj`
/// once and re-read it with `pread`, and a rename would leave them reading the old file forever.
/// The record never changes length, so no reader sees a truncated file; the static files are
/// written once by atomic rename.
public final class PowercapTree {
    public let root: String
    public let zoneDirectory: String
    public let maxEnergyRangeUj: UInt64
    private let fd: Int32
    private let width: Int
    private var buffer: [UInt8]

    /// Creates (or takes over) the tree and writes the first counter value.
    public init(root: String, maxEnergyRangeUj: UInt64, initialEnergyUj: UInt64 = 0, zoneName: String = "package-0",
                simulatorProfile: String? = nil) throws {
        self.root = root
        self.maxEnergyRangeUj = maxEnergyRangeUj
        let base = root + "/class/powercap"
        zoneDirectory = base + "/intel-rapl:0"
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: base + "/intel-rapl", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: zoneDirectory, withIntermediateDirectories: true)
        } catch {
            throw VraplError("cannot create powercap tree under \(root): \(error.localizedDescription)")
        }
        try TextFile.writeAtomically("1\n", to: base + "/intel-rapl/enabled")
        try TextFile.writeAtomically(zoneName + "\n", to: zoneDirectory + "/name")
        try TextFile.writeAtomically("1\n", to: zoneDirectory + "/enabled")
        try TextFile.writeAtomically("\(maxEnergyRangeUj)\n", to: zoneDirectory + "/max_energy_range_uj")
        if let profile = simulatorProfile {
            // Marker for readers that want to label what they record: this tree is simulated.
            try TextFile.writeAtomically(profile + "\n", to: root + "/class/powercap/vrapl-sim-profile")
        }
        width = String(maxEnergyRangeUj).count + 1
        buffer = [UInt8](repeating: 0x20, count: width + 1)
        let path = zoneDirectory + "/energy_uj"
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VraplError("cannot open \(path) for writing: \(String(cString: strerror(errno)))") }
        self.fd = fd
        if ftruncate(fd, off_t(width + 1)) != 0 {
            close(fd)
            throw VraplError("cannot size \(path): \(String(cString: strerror(errno)))")
        }
        try write(energyUj: initialEnergyUj)
    }

    deinit { close(fd) }

    /// Rewrites `energy_uj` in place (one pwrite of `width + 1` bytes). No allocation.
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
