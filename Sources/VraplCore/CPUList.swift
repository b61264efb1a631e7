/// The kernel's cpulist format (`0-3,8,10-11`), as in `/sys/devices/system/cpu/online`,
/// `cpuset.cpus` and `taskset -c`.
public enum CPUList {
    /// Sorted, distinct CPU numbers; nil when malformed (or a number ≥ 8192).
    public static func parse(_ text: String) -> [Int]? {
        var out: [Int] = []
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        for part in trimmed.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2, let lo = Int(bounds[0]), lo >= 0, lo < HostShape.maxThreads else { return nil }
            let hi = bounds.count == 2 ? Int(bounds[1]) : lo
            guard let hi, hi >= lo, hi < HostShape.maxThreads else { return nil }
            out.append(contentsOf: lo...hi)
        }
        return Array(Set(out)).sorted()
    }

    /// The shortest cpulist text of `cpus` (`[0, 1, 2, 5]` → `0-2,5`).
    public static func format(_ cpus: [Int]) -> String {
        let sorted = Array(Set(cpus)).sorted()
        var parts: [String] = []
        var i = 0
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? String(sorted[i]) : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
