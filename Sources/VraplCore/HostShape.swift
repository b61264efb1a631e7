/// The host a guest is a slice of: what a guest-shaped model was trained for (docs/guest.md "A VM is a
/// slice of its host"). Stored as JSON in a trace's `/guest_view@host` and a model's `host` key:
/// `{"threads": 20, "cores": 10, "sockets": 1, "cpu_model": "…", "idle_watts": 24.57}`.
public struct HostShape: Codable, Equatable, Sendable {
    /// T: logical CPUs (hardware threads) of the host.
    public var threads: Int
    /// Physical cores and sockets, when known.
    public var cores: Int?
    public var sockets: Int?
    public var cpuModel: String
    /// P_idle: the host's package power at idle, W, measured on that host (idle segments).
    public var idleWatts: Double

    public init(threads: Int, cores: Int? = nil, sockets: Int? = nil, cpuModel: String, idleWatts: Double) {
        self.threads = threads; self.cores = cores; self.sockets = sockets; self.cpuModel = cpuModel; self.idleWatts = idleWatts
    }

    enum CodingKeys: String, CodingKey {
        case threads, cores, sockets
        case cpuModel = "cpu_model"
        case idleWatts = "idle_watts"
    }

    /// The most logical CPUs a host may declare (Linux's NR_CPUS ceiling is 8192).
    public static let maxThreads = 8192

    /// Checks every number; the error names the field and the value.
    public func validate() throws {
        guard (1...Self.maxThreads).contains(threads) else {
            throw VraplError("host threads \(threads) must be between 1 and \(Self.maxThreads)")
        }
        if let cores, !(1...threads).contains(cores) { throw VraplError("host cores \(cores) must be between 1 and threads (\(threads))") }
        if let sockets, !(1...threads).contains(sockets) { throw VraplError("host sockets \(sockets) must be between 1 and threads (\(threads))") }
        guard idleWatts.isFinite, idleWatts >= 0, idleWatts <= maximumPlausibleZoneWatts else {
            throw VraplError("host idle_watts \(idleWatts) must be a finite power between 0 and \(Int(maximumPlausibleZoneWatts)) W")
        }
    }
}

/// How a guest's share of its host's package power is defined (docs/guest.md "A VM is a slice of its host"):
///
///     P_vm = P_idle · k / T  +  (P_pkg − P_idle) · U_vm / U_host
///
/// `idle-by-allocation` (default) charges the idle part by allocated vCPUs (k of T) and the active
/// part by busy CPU time (U, housekeeping included in U_host); `active-only` charges the active part
/// alone.
public enum ShareRule: String, Codable, Sendable, CaseIterable {
    case idleByAllocation = "idle-by-allocation"
    case activeOnly = "active-only"

    /// The two parts of a guest's share, in W.
    public struct Split: Equatable, Sendable {
        public var idle: Double
        public var active: Double
        public var total: Double { idle + active }
    }

    /// The idle part for k of T threads: P_idle · k / T, or 0 under `active-only`. On an
    /// oversubscribed host, whose tenants hold `allocatedVCPUs` Σk > T vCPUs, the allocation is
    /// k / Σk instead, so that the idle parts still add up to P_idle (the simulator knows Σk; a
    /// guest does not, and sees its host's oversubscription only as steal).
    public func idleWatts(host: HostShape, vcpus: Int, allocatedVCPUs: Int? = nil) -> Double {
        self == .activeOnly ? 0 : host.idleWatts * Double(vcpus) / Double(max(host.threads, allocatedVCPUs ?? 0))
    }

    /// The rule applied to host-side truth: `packageWatts` P_pkg, busy CPU time of the guest
    /// (`vmBusy`) and of the whole host (`hostBusy`, same unit). The active part may be negative
    /// (a package below its mean idle power), so that tenants filling the host sum to P_pkg exactly;
    /// the total never is. An idle host (`hostBusy` 0) has no active part.
    public func split(packageWatts: Double, host: HostShape, vcpus: Int, vmBusy: Double, hostBusy: Double,
                      allocatedVCPUs: Int? = nil) -> Split {
        let share = hostBusy > 0 ? min(1, max(0, vmBusy / hostBusy)) : 0
        let idle = idleWatts(host: host, vcpus: vcpus, allocatedVCPUs: allocatedVCPUs)
        return Split(idle: idle, active: max(-idle, (packageWatts - host.idleWatts) * share))
    }

    /// Parses `idle-by-allocation` or `active-only`.
    public init(parsing text: String) throws {
        guard let rule = ShareRule(rawValue: text) else {
            throw VraplError("unknown share rule '\(text)' (known: \(ShareRule.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = rule
    }
}
