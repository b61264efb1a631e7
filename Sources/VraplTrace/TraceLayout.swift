#if canImport(FoundationEssentials)
import FoundationEssentials  // JSON coders only; the recording chain does not link Foundation
#else
import Foundation
#endif
import VraplCore

/// Names of everything in a trace file (docs/trace-format.md is the prose version of this).
public enum TraceLayout {
    public static let monotonic = "timestamp_monotonic_ns"
    public static let wallClock = "timestamp_wall_ns"
    /// `cpu_user` … `cpu_guest_nice`, in kernel order.
    public static let cpuDatasets = CPUTimes.fieldNames.map { "cpu_" + $0 }
    public static let contextSwitches = "ctxt"
    public static let interrupts = "intr"
    public static let processes = "processes"
    public static let procsRunning = "procs_running"
    public static let procsBlocked = "procs_blocked"
    /// The 15 /proc/stat datasets in the order the writer keeps its counter columns.
    public static let statDatasets = cpuDatasets + [contextSwitches, interrupts, processes, procsRunning, procsBlocked]
    public static let vmstatGroup = "vmstat"
    public static let raplGroup = "rapl"
    public static let energyDataset = "energy_uj"
    public static let simHidden = "sim_hidden_w"
    public static let segmentsGroup = "segments"
    /// Guest-view traces: `/guest_view/{vcpus,energy_uj}` with `@host` (JSON) and `@rule`.
    public static let guestViewGroup = "guest_view"
    public static let guestViewVcpus = "vcpus"
    /// Per-CPU lines: `/percpu/cpu_<field>` (samples × CPUs) with `@cpus` (JSON list of CPU numbers).
    public static let perCPUGroup = "percpu"
    /// Busy CPU time in µs: `/cpu_usage/{user_usec,system_usec}` with `@source` (the file read).
    public static let cpuUsageGroup = "cpu_usage"
    public static let cpuUsageUser = "user_usec"
    public static let cpuUsageSystem = "system_usec"

    /// HDF5 group name of a RAPL zone: the powercap key with `:` replaced by `_` (`intel-rapl_0_1`).
    public static func raplGroupName(forKey key: String) -> String { key.replacing(":", with: "_") }

    /// Labels and segment parameters are stored as JSON objects with sorted keys.
    static func json(_ dictionary: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(dictionary) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Any encodable value as JSON with sorted keys.
    static func json<T: Encodable>(encodable value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes a JSON text, nil when it does not decode.
    static func decode<T: Decodable>(_: T.Type, json text: String) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// Parses a JSON object of strings (the one strict JSON reader, `VraplCore.JSONValue`); other
    /// values are kept as their JSON text as written (`3`, `1e20`, `true`, `[1,"two"]`); a repeated
    /// key keeps its first value.
    static func parseJSONObject(_ text: String, path: String, object: String) throws -> [String: String] {
        if text.isEmpty { return [:] }
        guard let members = (try? JSONValue.parse(text))?.objectValue else {
            throw TraceError(path: path, object: object, message: "expected a JSON object, found \(text.prefix(80))")
        }
        var out: [String: String] = [:]
        for (key, value) in members where out[key] == nil { out[key] = value.stringValue ?? value.text }
        return out
    }
}
