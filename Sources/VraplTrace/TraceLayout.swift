import Foundation
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

    /// HDF5 group name of a RAPL zone: the powercap key with `:` replaced by `_` (`intel-rapl_0_1`).
    public static func raplGroupName(forKey key: String) -> String { key.replacingOccurrences(of: ":", with: "_") }

    /// Labels and segment parameters are stored as JSON objects with sorted keys.
    static func json(_ dictionary: [String: String]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: dictionary, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    /// Parses a JSON object of strings; non-string values are kept as their JSON text.
    static func parseJSONObject(_ text: String, path: String, object: String) throws -> [String: String] {
        if text.isEmpty { return [:] }
        guard let data = text.data(using: .utf8),
              let value = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let dictionary = value as? [String: Any] else {
            throw TraceError(path: path, object: object, message: "expected a JSON object, found \(text.prefix(80))")
        }
        var result: [String: String] = [:]
        for (key, value) in dictionary {
            if let s = value as? String { result[key] = s }
            else if let n = value as? NSNumber { result[key] = n.stringValue }
            else if let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]),
                    let s = String(data: data, encoding: .utf8) { result[key] = s }
        }
        return result
    }
}
