import Glibc
import VraplCore

/// The host facts written as root attributes: host name, CPU model (from `<procfs>/cpuinfo`),
/// kernel (uname), and USER_HZ.
public enum HostInfo {
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `Linux 6.1.0-18-amd64` (sysname and release).
    public static func kernel() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(u.sysname)) \(text(u.release))"
    }

    /// The first `model name` of `<procfs>/cpuinfo` (x86), else `Hardware`/`cpu model`/`uarch` (other
    /// architectures), else "unknown" (also when the file is absent, as in minimal fixture trees).
    public static func cpuModel(procfs: String) -> String {
        guard let text = try? TextFile.read(procfs + "/cpuinfo") else { return "unknown" }
        return cpuModel(cpuinfo: text)
    }

    public static func cpuModel(cpuinfo text: String) -> String {
        for key in ["model name", "Hardware", "cpu model", "uarch", "cpu"] {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, String(parts[0]).trimmingWhitespace() == key else { continue }
                let value = String(parts[1]).trimmingWhitespace()
                if !value.isEmpty { return value }
            }
        }
        return "unknown"
    }

    /// USER_HZ, the unit of /proc/stat's cpu fields (normally 100; `VraplCore.UserHz`).
    public static func userHz() -> Int { Int(UserHz.value) }
}
