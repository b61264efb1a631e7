import Glibc
import VraplCore
import VraplSources

/// The host facts written as root attributes: host name, CPU model (from `<procfs>/cpuinfo`),
/// kernel (uname), and USER_HZ.
public enum HostInfo {
    public static func hostName() -> String { HostName.current() ?? "unknown" }

    /// `Linux 6.1.0-18-amd64` (sysname and release).
    public static func kernel() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(u.sysname)) \(text(u.release))"
    }

    /// The host's CPU model from `<procfs>/cpuinfo` (`VraplSources.CPUInfo`), "unknown" without one.
    public static func cpuModel(procfs: String) -> String { CPUInfo(procfs: procfs).modelName }

    public static func cpuModel(cpuinfo text: String) -> String { CPUInfo(text: text).modelName }

    /// USER_HZ, the unit of /proc/stat's cpu fields (normally 100; `VraplCore.UserHz`).
    public static func userHz() -> Int { Int(UserHz.value) }
}
