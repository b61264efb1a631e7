/// Prometheus text exposition: the one label-value escaping (backslash, double quote, newline), used
/// by the guest's `/metrics` and by `vrapl attribute`'s `metrics.prom`.
public enum PrometheusLabel {
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
