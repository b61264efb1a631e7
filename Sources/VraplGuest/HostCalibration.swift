import VraplCore
import VraplSources

/// Reads the energy counter the host publishes for this VM in powercap layout
/// (`DIR/intel-rapl:0/energy_uj`, as Scaphandre's qemu exporter writes it per VM), handling
/// wrap-around with `max_energy_range_uj` when present (64-bit otherwise).
///
/// Scaphandre writes the file by truncate and write, without newline and without a range file, every
/// 5 s: a reader can catch it empty or half written. `readIfComplete` therefore skips an empty or
/// unparsable read (nil, counted by the calibrator) instead of failing or reading 0, and the
/// calibrator skips a counter that went backwards when no range says it may wrap (a partial read of
/// a longer number). Only the first read, at start, is strict about garbage.
public final class HostEnergyReader {
    public let path: String
    private let file: PolledFile
    public let maxEnergyRange: Microjoules

    public init(directory: String) throws {
        let zone = directory + "/intel-rapl:0"
        path = zone + "/energy_uj"
        file = try PolledFile(path: path, capacity: 64)
        if let range = try? PolledFile(path: zone + "/max_energy_range_uj", capacity: 64),
           let value = try? range.withContents({ try HostEnergyReader.parseCounter($0, path: range.path) }) {
            maxEnergyRange = Microjoules(value)
        } else {
            maxEnergyRange = Microjoules(0)
        }
        // Empty at start is fine (the exporter may not have written yet); garbage is a wrong path.
        let empty = (try? file.withContents { $0.allSatisfy { $0 == 32 || $0 == 10 || $0 == 9 || $0 == 13 } }) ?? false
        if !empty { _ = try read() }
    }

    /// A decimal counter followed by optional whitespace.
    static func parseCounter(_ bytes: UnsafeRawBufferPointer, path: String) throws -> UInt64 {
        var value: UInt64 = 0
        var digits = 0
        for byte in bytes {
            if byte >= 48 && byte <= 57 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(byte - 48))
                guard !o1, !o2 else { throw VraplError("\(path): counter overflows 64 bits") }
                value = a
                digits += 1
            } else if byte == 32 || byte == 10 || byte == 9 || byte == 13 {
                if digits > 0 { break }
            } else {
                throw VraplError("\(path): not a decimal counter")
            }
        }
        guard digits > 0 else { throw VraplError("\(path): empty, expected a decimal counter") }
        return value
    }

    public func read() throws -> Microjoules {
        let p = path
        return Microjoules(try file.withContents { try HostEnergyReader.parseCounter($0, path: p) })
    }

    /// The counter, or nil when this read caught the file empty or half written (or unreadable).
    public func readIfComplete() -> Microjoules? { try? read() }
}

/// Host-assisted calibration: an online, robust, windowed fit of host ≈ offset + scale · guest over
/// the intervals between changes of the host's counter (the host exporter updates it every few
/// seconds). Robust: Theil–Sen (median of pairwise slopes, median intercept), so a few intervals
/// disturbed by migration, steal or a stalled exporter do not move it. Windowed: the last `window`
/// intervals, so it follows drift. Until `minimumPairs` intervals are seen it is the identity.
public struct HostCalibrator {
    public var window: Int
    public var minimumPairs: Int
    public private(set) var offset = 0.0
    public private(set) var scale = 1.0
    private var pairs: [(guest: Double, host: Double)] = []
    private var lastHost: Microjoules?
    private var candidate: Microjoules?
    private var lastHostNs: UInt64 = 0
    private var guestAtLastHost = 0.0
    private var hostTotal = 0.0
    private var haveHostTotal = false
    public private(set) var calibratedEnergy = 0.0
    public let maxEnergyRange: Microjoules
    /// Multiplies the host's energy (`--host-energy-scale`): 5 corrects Scaphandre's qemu exporter
    /// before its fix (hubblo-org/scaphandre#428), whose counter grows about 5× too slowly.
    public let hostScale: Double
    /// Host reads skipped: empty or half-written files, and counters that went backwards without a range.
    public private(set) var skippedHostReads = 0

    public init(window: Int = 60, minimumPairs: Int = 5, maxEnergyRange: Microjoules = Microjoules(0), hostScale: Double = 1) {
        self.window = window
        self.minimumPairs = minimumPairs
        self.maxEnergyRange = maxEnergyRange
        self.hostScale = hostScale
    }

    /// True when the fit says the host counter grows about 5× too slowly (scale near 0.2) and no
    /// `--host-energy-scale` corrects it: the signature of Scaphandre bug #428.
    public var suspectsScaphandreBug: Bool { isActive && hostScale == 1 && (0.15...0.25).contains(scale) }

    /// A reading that was skipped (`HostEnergyReader.readIfComplete` gave nil).
    public mutating func skip() { skippedHostReads += 1 }

    public var isActive: Bool { pairs.count >= minimumPairs }
    public var pairCount: Int { pairs.count }

    /// Calibrated power for a raw estimate (never negative).
    public func calibrate(_ watts: Double) -> Double { isActive ? max(0, offset + scale * watts) : watts }

    /// Integrates the calibrated power over one sample interval.
    public mutating func integrate(rawWatts: Double, dtNs: UInt64) {
        calibratedEnergy += calibrate(rawWatts) * Double(dtNs) / 1e9
    }

    /// The host's energy for this VM since the first reading, J.
    public var hostEnergyJoules: Double? { haveHostTotal ? hostTotal : nil }

    /// Feeds one reading of the host counter with the guest's raw energy at the same moment.
    public mutating func observe(hostCounter: Microjoules, guestEnergyJoules: Double, monotonicNs: UInt64) {
        guard let previous = lastHost else {
            // The baseline is the second reading (or the first, seen again): a single first read may
            // have caught a half-written number (a prefix), which every later, complete value would
            // exceed by far. A second reading below the first is that prefix: keep the first.
            guard let first = candidate else { candidate = hostCounter; return }
            if hostCounter.value < first.value && maxEnergyRange.value == 0 { skippedHostReads += 1; return }
            lastHost = hostCounter
            lastHostNs = monotonicNs
            guestAtLastHost = guestEnergyJoules
            haveHostTotal = true
            return
        }
        guard hostCounter != previous else { return }  // host has not published a new value yet
        if maxEnergyRange.value == 0 && hostCounter.value < previous.value {
            skippedHostReads += 1  // no range, so no wrap: a half-written longer number
            return
        }
        let hostJ = energyDelta(previous: previous, current: hostCounter, maxRange: maxEnergyRange).joules.value * hostScale
        let dt = Double(monotonicNs &- lastHostNs) / 1e9
        let guestJ = guestEnergyJoules - guestAtLastHost
        hostTotal += hostJ
        lastHost = hostCounter
        lastHostNs = monotonicNs
        guestAtLastHost = guestEnergyJoules
        guard dt > 0.05 else { return }
        pairs.append((guestJ / dt, hostJ / dt))
        if pairs.count > window { pairs.removeFirst(pairs.count - window) }
        refit()
    }

    /// Theil–Sen fit over the window.
    mutating func refit() {
        guard pairs.count >= 2 else {
            if let p = pairs.first { offset = p.host - p.guest; scale = 1 }
            return
        }
        var slopes: [Double] = []
        slopes.reserveCapacity(pairs.count * (pairs.count - 1) / 2)
        for i in 0..<pairs.count {
            for j in (i + 1)..<pairs.count {
                let dg = pairs[j].guest - pairs[i].guest
                if abs(dg) > 1e-6 { slopes.append((pairs[j].host - pairs[i].host) / dg) }
            }
        }
        let spread = (pairs.map(\.guest).max() ?? 0) - (pairs.map(\.guest).min() ?? 0)
        if slopes.isEmpty || spread < 1.0 {
            scale = 1  // too little variation in guest power to identify a slope: offset only
        } else {
            scale = min(10, max(0.1, median(slopes)))
        }
        offset = median(pairs.map { $0.host - scale * $0.guest })
    }

    func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public func state(rawWatts: Double) -> CalibrationState {
        var s = CalibrationState(offsetWatts: offset, scale: scale, pairs: pairs.count, active: isActive,
                                 calibratedWatts: calibrate(rawWatts), calibratedEnergyJoules: calibratedEnergy,
                                 hostEnergyJoules: hostEnergyJoules)
        s.skippedHostReads = skippedHostReads
        return s
    }
}
