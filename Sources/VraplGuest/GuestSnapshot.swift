import Foundation
import VraplCore
import VraplModel
import VraplSources

/// Identity of the running model, for `vrapl_model_info` and the terminal.
public struct ModelIdentity: Sendable, Equatable {
    public var name: String
    /// First 12 hex digits of the model file's SHA-256.
    public var hash: String
    public var powerSource: PowerSource
    public var featureSet: String
    public var architecture: String
    /// `guest-share` for a guest-shaped model, `whole-host` otherwise (what its watts mean).
    public var hostView: String = "whole-host"
    /// The host's threads T of a guest-shaped model, else nil.
    public var hostThreads: Int?
    /// Nominal coverage of the model's prediction interval (nil: none).
    public var intervalNominal: Double?

    public init(model: ModelFile, featureSet: String) {
        name = model.displayName
        hash = String((model.sha256 ?? "unknown").prefix(12))
        powerSource = model.powerSource
        self.featureSet = featureSet
        architecture = model.architecture.kind.rawValue
        intervalNominal = model.interval?.nominal
        if let shape = model.guestShape {
            hostView = "guest-share"
            hostThreads = shape.host.threads
        }
    }

    public init(name: String, hash: String, powerSource: PowerSource, featureSet: String, architecture: String) {
        self.name = name
        self.hash = hash
        self.powerSource = powerSource
        self.featureSet = featureSet
        self.architecture = architecture
    }
}

/// The node as Kepler labels it: `node_name` on every `kepler_*` series (the host name, or
/// `--node-name`), and the logical CPUs of `kepler_node_cpu_info` (from `<procfs>/cpuinfo`).
public struct NodeIdentity: Sendable, Equatable {
    public var nodeName: String
    public var processors: [CPUInfo.Processor]
    public init(nodeName: String, processors: [CPUInfo.Processor] = []) { self.nodeName = nodeName; self.processors = processors }

    /// This machine's host name (`gethostname`), "localhost" when it has none.
    public static func hostName() -> String { HostName.current() ?? "localhost" }
}

/// Host-assisted calibration state, when `--host-energy` is given.
public struct CalibrationState: Sendable, Equatable {
    /// calibrated = offset + scale · raw (identity until enough host intervals were seen).
    public var offsetWatts: Double
    public var scale: Double
    /// Host intervals in the current fit window.
    public var pairs: Int
    public var active: Bool
    public var calibratedWatts: Double
    public var calibratedEnergyJoules: Double
    /// The host's energy counter for this VM, J since the guest started (nil before the second reading).
    public var hostEnergyJoules: Double?
    /// Host reads skipped (empty, half written, or a counter that went backwards without a range).
    public var skippedHostReads: Int = 0

    public init(offsetWatts: Double = 0, scale: Double = 1, pairs: Int = 0, active: Bool = false, calibratedWatts: Double = 0,
                calibratedEnergyJoules: Double = 0, hostEnergyJoules: Double? = nil) {
        self.offsetWatts = offsetWatts
        self.scale = scale
        self.pairs = pairs
        self.active = active
        self.calibratedWatts = calibratedWatts
        self.calibratedEnergyJoules = calibratedEnergyJoules
        self.hostEnergyJoules = hostEnergyJoules
    }
}

/// The immutable state exporters read: published by the loop, never mutated by an exporter.
public struct GuestSnapshot: Sendable, Equatable {
    public var model: ModelIdentity
    /// Kepler's node labels (nil: no `node_name` label, as in unit tests of the text alone).
    public var node: NodeIdentity? = nil
    /// `--processes N`: the top N processes' part of the active power and `other`.
    public var processes: [ProcessEnergy] = []
    /// `--pods`: containers and pods of a Kubernetes node, and the active energy no container took.
    public var containers: [KubeEnergy] = []
    public var pods: [KubeEnergy] = []
    public var kubeUnattributedJoules: Double? = nil
    public var estimate: GuestEstimate?
    public var calibration: CalibrationState?
    /// Per-workload attributed energy (J) when `--attribute` is on: label → joules.
    public var attributedJoules: [(workload: String, joules: Double)] = []
    /// Samples read, and ticks that came late (the interval was stretched).
    public var samples: Int = 0
    public var lateTicks: Int = 0
    /// Ticks skipped because the source reads failed twice (a transient /proc/stat error).
    public var skippedReads: Int = 0

    public init(model: ModelIdentity, estimate: GuestEstimate?, calibration: CalibrationState? = nil) {
        self.model = model
        self.estimate = estimate
        self.calibration = calibration
    }

    public static func == (a: GuestSnapshot, b: GuestSnapshot) -> Bool {
        a.model == b.model && a.node == b.node && a.processes == b.processes && a.containers == b.containers && a.pods == b.pods && a.estimate == b.estimate && a.calibration == b.calibration && a.samples == b.samples
            && a.lateTicks == b.lateTicks && a.skippedReads == b.skippedReads && a.attributedJoules.map(\.workload) == b.attributedJoules.map(\.workload)
            && a.attributedJoules.map(\.joules) == b.attributedJoules.map(\.joules)
    }
}

/// A thread-safe box holding the latest snapshot (the HTTP thread reads it).
public final class SnapshotBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: GuestSnapshot

    public init(_ value: GuestSnapshot) { self.value = value }

    public func publish(_ snapshot: GuestSnapshot) {
        lock.lock()
        value = snapshot
        lock.unlock()
    }

    public var current: GuestSnapshot {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
