#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VraplCore
import VraplSources


/// Creates `directory` if needed and checks that this user can write in it; a one-line error otherwise.
func prepareWritableDirectory(_ directory: String, option: String) throws {
    var isDir: ObjCBool = false
    if !FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw VraplError("\(option) \(directory): cannot create directory: \(errnoReason(error))")
        }
    } else if !isDir.boolValue {
        throw VraplError("\(option) \(directory): not a directory")
    }
    guard access(directory, W_OK) == 0 else {
        throw VraplError("\(option) \(directory): directory is not writable: \(String(cString: strerror(errno)))")
    }
}

func errnoReason(_ error: Error) -> String {
    let ns = error as NSError
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    return ns.localizedDescription.replacingOccurrences(of: "\n", with: " ")
}

/// node_exporter's textfile collector: `DIR/vrapl.prom`, replaced atomically.
public final class TextfileExporter: SnapshotExporter {
    public let directory: String
    public static let fileName = "vrapl.prom"
    /// Exports closer than this to the last write leave the file as it is (`--textfile-interval`):
    /// node_exporter reads the file only when it is scraped, and each write is a new file renamed over
    /// the last, which on ext4 starts its writeback at once (0.2–0.5 ms of CPU on the developers' VM;
    /// docs/PERFORMANCE.md). 0: every export.
    public let minimumIntervalNs: UInt64
    private var lastWriteNs: UInt64?

    public init(directory: String, minimumIntervalNs: UInt64 = 0) throws {
        try prepareWritableDirectory(directory, option: "--textfile")
        self.directory = directory
        self.minimumIntervalNs = minimumIntervalNs
    }

    public func export(_ snapshot: GuestSnapshot) throws {
        let now = SampleClock.monotonicNs()
        if let last = lastWriteNs, now &- last < minimumIntervalNs { return }
        try write(snapshot)
        lastWriteNs = now
    }

    public func finish(_ snapshot: GuestSnapshot) throws { try write(snapshot) }

    private func write(_ snapshot: GuestSnapshot) throws {
        try TextFile.writeAtomically(PrometheusText.render(snapshot), to: directory + "/" + Self.fileName)
    }
}

/// A powercap-shaped tree, so tools that read RAPL (Scaphandre in VM mode, Kepler, turbostat-like
/// scripts) work inside the guest unchanged: `DIR/intel-rapl:0/name` = `package-0`,
/// `max_energy_range_uj`, and `energy_uj`, the integrated energy in µJ wrapping past the range to 0
/// like the real counter. Written by the one powercap writer (`PowercapTree`): `energy_uj` in place,
/// so readers that keep it open see every update.
///
/// A restart continues the counter: the tree starts from the `energy_uj` the previous run left, and
/// this run's energy is added to it, so a reader applying the wrap rule sees no false wrap.
public final class PowercapExporter: SnapshotExporter {
    public let directory: String
    public let zoneDirectory: String
    /// The range of a typical server package counter (2^32 µJ × 61, as RAPL reports it): 262 143 328 850 µJ.
    public static let defaultMaxEnergyRange: UInt64 = 262_143_328_850
    public let maxEnergyRange: UInt64
    /// The counter value this run continues from (0 for a fresh tree).
    public var startEnergyUj: UInt64 { tree.startEnergyUj }
    private let tree: PowercapTree

    /// The two layouts readers expect: `powercap` (`DIR/intel-rapl:0/…`, Scaphandre's
    /// `SCAPHANDRE_POWERCAP_PATH`) and `sysfs` (`ROOT/class/powercap/intel-rapl:0/…` plus the
    /// `intel-rapl` control type, what node_exporter's `--path.sysfs` and Kepler's `--host.sysfs` read).
    public enum Layout: Sendable { case powercap, sysfs }

    public init(directory: String, maxEnergyRange: UInt64 = PowercapExporter.defaultMaxEnergyRange, layout: Layout = .powercap) throws {
        let option = layout == .sysfs ? "--sysfs-root" : "--powercap-dir"
        try prepareWritableDirectory(directory, option: option)
        guard maxEnergyRange > 0 else { throw VraplError("\(option) \(directory): the counter range must be positive") }
        self.directory = directory
        self.maxEnergyRange = maxEnergyRange
        do {
            switch layout {
            case .powercap:
                zoneDirectory = directory + "/intel-rapl:0"
                try prepareWritableDirectory(zoneDirectory, option: option)
                tree = try PowercapTree(zoneDirectory: zoneDirectory, maxEnergyRangeUj: maxEnergyRange, continuing: true)
            case .sysfs:
                zoneDirectory = directory + "/class/powercap/intel-rapl:0"
                tree = try PowercapTree(root: directory, maxEnergyRangeUj: maxEnergyRange, continuing: true)
            }
        } catch let error as VraplError {
            throw VraplError("\(option) \(directory): \(error.message)")
        }
    }

    /// The counter value for a total energy: µJ modulo (range + 1), as the hardware counter wraps.
    public static func counterValue(joules: Double, maxEnergyRange: UInt64) -> UInt64 {
        let microjoules = joules > 0 ? UInt64(min(joules * 1e6, Double(UInt64.max / 2))) : 0
        return maxEnergyRange == 0 ? microjoules : microjoules % (maxEnergyRange + 1)
    }

    /// The counter after `joules` of this run, continuing from `start`, wrapping past the range.
    public static func counterValue(joules: Double, continuingFrom start: UInt64, maxEnergyRange: UInt64) -> UInt64 {
        let run = counterValue(joules: joules, maxEnergyRange: maxEnergyRange)
        return maxEnergyRange == 0 ? start &+ run : (start % (maxEnergyRange + 1) + run) % (maxEnergyRange + 1)
    }

    public func export(_ snapshot: GuestSnapshot) throws {
        let joules = snapshot.estimate?.energyJoules ?? 0
        try tree.write(energyUj: Self.counterValue(joules: joules, continuingFrom: tree.startEnergyUj, maxEnergyRange: maxEnergyRange))
    }
}

/// `--jsonl FILE|-`: one JSON object per prediction, buffered and flushed about once a second.
/// The path is a stream the user names: it is opened and written in place (`TextFile.openStream`),
/// so a FIFO, a device or the user's own symbolic link receives the lines instead of being replaced.
public final class JSONLWriter: SnapshotExporter {
    private let handle: FileHandle
    private let path: String
    private var buffer: [UInt8] = []
    private let closeOnDeinit: Bool

    public init(path: String) throws {
        self.path = path
        if path == "-" {
            handle = FileHandle.standardOutput
            closeOnDeinit = false
        } else {
            let fd = try TextFile.openStream(path, option: "--jsonl")
            handle = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
            closeOnDeinit = true
        }
        buffer.reserveCapacity(64 * 1024)
    }

    deinit {
        try? flush()
        if closeOnDeinit { try? handle.close() }
    }

    /// An export tick writes out the lines buffered since the last one (one write per interval).
    public func export(_ snapshot: GuestSnapshot) throws { try flush() }

    /// The JSON object of one estimate (fixed key order).
    public static func line(_ e: GuestEstimate, calibration: CalibrationState?) -> String {
        var s = "{\"index\":\(e.index),\"timestamp_unix\":\(fmt(e.wallClockUnix, 6)),\"power_watts\":\(fmt(e.watts, 4))"
        s += ",\"energy_joules\":\(fmt(e.energyJoules, 6)),\"busy_cpu_percent\":\(fmt(e.busyPercent, 2)),\"steal_cpu_percent\":\(fmt(e.stealPercent, 2))"
        if let idle = e.idleWatts, let active = e.activeWatts {
            s += ",\"vcpus\":\(e.vcpus),\"idle_watts\":\(fmt(idle, 4)),\"active_watts\":\(fmt(active, 4))"
        }
        if let i = e.interval { s += ",\"low_watts\":\(fmt(i.low, 4)),\"high_watts\":\(fmt(i.high, 4))" }
        s += ",\"trust\":" + (e.trust.map { fmt($0, 4) } ?? "null")
        s += ",\"ood\":\(e.isOutOfDistribution),\"ood_count\":\(e.outOfDistributionCount)"
        if let limit = e.trustLimitedBy { s += ",\"trust_limited_by\":\"\(limit)\"" }
        if let c = calibration {
            s += ",\"calibrated_power_watts\":\(fmt(c.calibratedWatts, 4)),\"calibrated_energy_joules\":\(fmt(c.calibratedEnergyJoules, 6))"
        }
        return s + "}\n"
    }

    static func fmt(_ x: Double, _ digits: Int) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "null"
    }

    public func append(_ e: GuestEstimate, calibration: CalibrationState?) {
        buffer.append(contentsOf: Self.line(e, calibration: calibration).utf8)
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw VraplError("--jsonl \(path): write failed: \(errnoReason(error))")
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The live terminal line (only when stdout is a terminal): power, energy, busy CPU, trust.
/// The live terminal line, rewritten in place at every export tick.
public final class TerminalExporter: SnapshotExporter {
    public init() {}
    public func export(_ snapshot: GuestSnapshot) throws {
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + TerminalLine.render(snapshot)).utf8))
    }
}

public enum TerminalLine {
    public static func render(_ s: GuestSnapshot) -> String {
        guard let e = s.estimate else { return "vrapl-guest: filling the window…" }
        var line = "[\(s.model.powerSource.shortLabel)] " + String(format: "%7.2f W", e.watts)
        line += e.interval.map { String(format: " [%.1f–%.1f]", $0.low, $0.high) } ?? " [interval n/a]"
        line += String(format: "  %10.1f J  busy %5.1f %%", e.energyJoules, e.busyPercent)
        if e.stealPercent >= 0.5 { line += String(format: "  steal %.1f %%", e.stealPercent) }
        if let idle = e.idleWatts, let active = e.activeWatts {
            line += String(format: "  (idle %.2f + active %.2f W, %d vCPUs)", idle, active, e.vcpus)
        }
        if let t = e.trust {
            line += String(format: "  trust %.2f", t) + (e.isOutOfDistribution ? " OOD (\(e.trustLimitedBy ?? "?"))" : "") + "  ood \(e.outOfDistributionCount)"
        } else {
            line += "  trust n/a"
        }
        if let c = s.calibration, c.active {
            line += String(format: "  calibrated %7.2f W", c.calibratedWatts)
        }
        return line
    }
}
