import Foundation
import VraplCore
import VraplSources
import VraplTrace

/// A delimited text table (CSV or TSV) with a header row. Cells are trimmed strings.
public struct DelimitedTable: Sendable {
    public var source: String
    public var header: [String]
    public var rows: [[String]]

    /// Parses CSV (`,`) or TSV (tab, detected from the header line). No quoting beyond stripping `"`.
    public static func parse(_ text: String, source: String) throws -> DelimitedTable {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("#") }
        guard let first = lines.first else { throw VraplError("\(source): empty file (a header row is required)") }
        let sep: Character = first.contains("\t") ? "\t" : ","
        func cells(_ line: String) -> [String] {
            line.split(separator: sep, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        let header = cells(first).map { $0.lowercased() }
        var rows: [[String]] = []
        for (n, line) in lines.dropFirst().enumerated() {
            let c = cells(line)
            guard c.count == header.count else {
                throw VraplError("\(source): line \(n + 2) has \(c.count) fields, the header has \(header.count)")
            }
            rows.append(c)
        }
        return DelimitedTable(source: source, header: header, rows: rows)
    }

    public static func load(_ path: String) throws -> DelimitedTable {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw VraplError("\(path): cannot read file") }
        return try parse(text, source: path)
    }

    /// Index of the first header matching one of the names.
    public func column(_ names: [String]) -> Int? {
        for n in names { if let i = header.firstIndex(of: n) { return i } }
        return nil
    }

    public func requireColumn(_ names: [String]) throws -> Int {
        guard let i = column(names) else {
            throw VraplError("\(source): missing column \(names.map { "'\($0)'" }.joined(separator: " or ")) (header: \(header.joined(separator: ",")))")
        }
        return i
    }

    /// A numeric cell; empty or `nan` is nil, anything else non-numeric is an error naming file and line.
    public func number(_ row: Int, _ col: Int) throws -> Double? {
        let s = rows[row][col]
        if s.isEmpty || s.lowercased() == "nan" || s.lowercased() == "n/a" { return nil }
        guard let v = Double(s), v.isFinite else {
            throw VraplError("\(source): line \(row + 2), column '\(header[col])': '\(s)' is not a number")
        }
        return v
    }

    /// A timestamp cell: Unix seconds, or ISO 8601 / `YYYY-MM-DD HH:MM:SS[.fff]` (UTC).
    public func timestamp(_ row: Int, _ col: Int) throws -> Double {
        let s = rows[row][col]
        if let v = Double(s), v.isFinite { return v }
        if let v = Self.parseDate(s) { return v }
        throw VraplError("\(source): line \(row + 2): timestamp '\(s)' is neither Unix seconds nor ISO 8601")
    }

    static func parseDate(_ s: String) -> Double? {
        var t = s.replacingOccurrences(of: " ", with: "T")
        if t.hasSuffix("Z") { t.removeLast() }
        var fraction = 0.0
        if let dot = t.lastIndex(of: "."), let f = Double("0" + t[dot...]) { fraction = f; t = String(t[..<dot]) }
        let fmt = DateFormatter()
        fmt.locale = Locale(identifier: "en_US_POSIX")
        fmt.timeZone = TimeZone(identifier: "UTC")
        fmt.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return fmt.date(from: t).map { $0.timeIntervalSince1970 + fraction }
    }
}

/// The host CSV of the paper's `host_logger.py`: `timestamp, rapl_package_w, gpuN_power_w, gpuN_util_pct`
/// (an optional `phase` column splits the file into phases).
public struct HostRow: Sendable, Equatable {
    public var time: Double
    public var phase: String
    public var cpuW: Double
    public var gpuW: [Double]
    public var gpuUtilPct: [Double?]
}

/// One row of the cgroup CSV (long format: one row per cgroup per sample).
public struct CGroupRow: Sendable, Equatable {
    public var time: Double
    public var cgroup: String
    public var cpuPercent: Double
    public var memoryBytes: Double?
    public var memoryMax: CGroupLimit?
    /// Bytes read + written since the previous row of this cgroup.
    public var ioBytes: Double
}

/// Reads the paper-shaped offline inputs.
public enum OfflineInputs {
    public static func hostRows(_ t: DelimitedTable) throws -> [HostRow] {
        let iTime = try t.requireColumn(["timestamp", "time", "t"])
        let iCPU = try t.requireColumn(["rapl_package_w", "cpu_w", "package_w", "rapl_w"])
        let iPhase = t.column(["phase"])
        var gpuPower: [Int] = []
        var gpuUtil: [Int?] = []
        var g = 0
        while let i = t.column(["gpu\(g)_power_w"]) {
            gpuPower.append(i)
            gpuUtil.append(t.column(["gpu\(g)_util_pct", "gpu\(g)_util"]))
            g += 1
        }
        var rows: [HostRow] = []
        for r in t.rows.indices {
            guard let cpu = try t.number(r, iCPU) else { continue }
            let gw = try gpuPower.map { try t.number(r, $0) ?? 0 }
            let gu = try gpuUtil.map { c -> Double? in try c.flatMap { try t.number(r, $0) } }
            rows.append(HostRow(time: try t.timestamp(r, iTime), phase: iPhase.map { t.rows[r][$0] } ?? "",
                                cpuW: cpu, gpuW: gw, gpuUtilPct: gu))
        }
        return rows.sorted { $0.time < $1.time }
    }

    /// Columns: `timestamp`, `cgroup` (or `name`/`slice`/`workload`), `cpu_percent`, optional
    /// `memory_bytes`/`memory_current`/`memory` (bytes) or `memory_mb`, `memory_max` (bytes or `max`),
    /// per-row `io_read_bytes`/`io_write_bytes`, or cumulative `io_rbytes`/`io_wbytes` (differenced here).
    public static func cgroupRows(_ t: DelimitedTable) throws -> [CGroupRow] {
        let iTime = try t.requireColumn(["timestamp", "time", "t"])
        let iName = try t.requireColumn(["cgroup", "name", "slice", "workload"])
        let iCPU = try t.requireColumn(["cpu_percent", "cpu_pct", "cpu_util"])
        let iMem = t.column(["memory_bytes", "memory_current", "memory"])
        let iMemMB = t.column(["memory_mb"])
        let iMax = t.column(["memory_max"])
        let iRead = t.column(["io_read_bytes"]), iWrite = t.column(["io_write_bytes"])
        let iRCum = t.column(["io_rbytes", "rbytes"]), iWCum = t.column(["io_wbytes", "wbytes"])
        var last: [String: Double] = [:]
        var rows: [CGroupRow] = []
        for r in t.rows.indices {
            let name = CGroupReader.normalise(t.rows[r][iName])
            var row = CGroupRow(time: try t.timestamp(r, iTime), cgroup: name, cpuPercent: try t.number(r, iCPU) ?? 0,
                                memoryBytes: nil, memoryMax: nil, ioBytes: 0)
            if let i = iMem { row.memoryBytes = try t.number(r, i) }
            if let i = iMemMB, let mb = try t.number(r, i) { row.memoryBytes = mb * 1_048_576 }
            if let i = iMax, !t.rows[r][i].isEmpty {
                row.memoryMax = try CGroupParse.limit(t.rows[r][i], path: "\(t.source) line \(r + 2) memory_max")
            }
            row.ioBytes = try (iRead.map { try t.number(r, $0) ?? 0 } ?? 0) + (iWrite.map { try t.number(r, $0) ?? 0 } ?? 0)
            if iRCum != nil || iWCum != nil {
                let cum = try (iRCum.map { try t.number(r, $0) ?? 0 } ?? 0) + (iWCum.map { try t.number(r, $0) ?? 0 } ?? 0)
                if let prev = last[name], cum >= prev { row.ioBytes += cum - prev }
                last[name] = cum
            }
            rows.append(row)
        }
        return rows.sorted { $0.time < $1.time }
    }

    /// Wall-power CSV: `timestamp` and `power_w` (or `wall_w`, `watts`, `power`).
    public static func wallRows(_ t: DelimitedTable) throws -> [(time: Double, watts: Double)] {
        let iTime = try t.requireColumn(["timestamp", "time", "t"])
        let iW = try t.requireColumn(["power_w", "wall_w", "watts", "power", "real_power_w"])
        var out: [(Double, Double)] = []
        for r in t.rows.indices { if let w = try t.number(r, iW) { out.append((try t.timestamp(r, iTime), w)) } }
        return out.sorted { $0.0 < $1.0 }
    }

    /// The paper's stable window: rows of each phase without the first `startS` and last `endS` seconds.
    public static func trim(_ rows: [HostRow], _ spec: TrimSpec) -> [HostRow] {
        var out: [HostRow] = []
        var order: [String] = []
        var byPhase: [String: [HostRow]] = [:]
        for r in rows {
            if byPhase[r.phase] == nil { order.append(r.phase) }
            byPhase[r.phase, default: []].append(r)
        }
        for p in order {
            guard let rs = byPhase[p], let first = rs.first?.time, let last = rs.last?.time else { continue }
            out += rs.filter { $0.time >= first + spec.startS && $0.time <= last - spec.endS }
        }
        return out
    }

    /// Nearest element by time within `tolerance` (binary search on sorted times).
    static func nearest<T>(_ items: [T], time: (T) -> Double, at t: Double, tolerance: Double) -> T? {
        var lo = 0, hi = items.count
        while lo < hi { let mid = (lo + hi) / 2; if time(items[mid]) < t { lo = mid + 1 } else { hi = mid } }
        var best: T?
        var bestDistance = Double.infinity
        for k in [lo - 1, lo] where k >= 0 && k < items.count {
            let d = abs(time(items[k]) - t)
            if d <= tolerance && d < bestDistance { best = items[k]; bestDistance = d }
        }
        return best
    }

    /// Turns host rows (already trimmed), cgroup rows and an optional wall series into model inputs.
    /// Each host row is the interval ending at its timestamp; its length is the gap to the previous
    /// row of the same phase (the median gap for the first row). Workloads without any cgroup row in a
    /// phase are not part of that phase; a present workload missing near one row is incomplete.
    public static func intervals(config: AttributionConfig, host: [HostRow], cgroups: [CGroupRow],
                                 wall: [(time: Double, watts: Double)]?) -> [(SystemInterval, UsageInterval)] {
        let gaps = zip(host.dropFirst(), host).map { $0.time - $1.time }.filter { $0 > 0 }.sorted()
        let typical = gaps.isEmpty ? config.intervalS : gaps[gaps.count / 2]
        var byGroup: [String: [CGroupRow]] = [:]
        for r in cgroups { byGroup[r.cgroup, default: []].append(r) }
        var phaseSpan: [String: (Double, Double)] = [:]
        for r in host {
            let s = phaseSpan[r.phase] ?? (r.time, r.time)
            phaseSpan[r.phase] = (min(s.0, r.time - typical), max(s.1, r.time))
        }
        var out: [(SystemInterval, UsageInterval)] = []
        var previous: HostRow?
        for row in host {
            var dt = typical
            if let p = previous, p.phase == row.phase, row.time - p.time > 0, row.time - p.time < 5 * typical { dt = row.time - p.time }
            previous = row
            let gpus = row.gpuW.indices.map {
                GPUInterval(index: $0, energy: Joules(row.gpuW[$0] * dt), utilizationPct: row.gpuUtilPct[$0])
            }
            var wallEnergy: Joules?
            if let wall, let w = nearest(wall, time: { $0.time }, at: row.time, tolerance: max(dt, 1.0)) {
                wallEnergy = Joules(w.watts * dt)
            }
            let system = SystemInterval(start: row.time - dt, duration: Seconds(dt), cpu: Joules(row.cpuW * dt), gpus: gpus,
                                        wall: wallEnergy, phase: row.phase)
            let span = phaseSpan[row.phase] ?? (row.time, row.time)
            var workloads: [WorkloadInterval] = []
            var present: [WorkloadSpec] = []
            for spec in config.workloads {
                let groups = spec.cgroups.isEmpty ? [spec.name] : spec.cgroups
                let inPhase = groups.contains { g in (byGroup[g] ?? []).contains { $0.time >= span.0 - dt && $0.time <= span.1 + dt } }
                guard inPhase else { continue }
                present.append(spec)
                var w = WorkloadInterval(name: spec.name, cpuUsageUsec: 0, gpus: spec.gpus)
                var memory = 0.0
                for g in groups {
                    guard let r = nearest(byGroup[g] ?? [], time: { $0.time }, at: row.time, tolerance: dt * 0.75) else {
                        w.complete = false; w.notes.append("no cgroup sample for \(g) near t=\(row.time)"); continue
                    }
                    w.cpuUsageUsec += r.cpuPercent / 100 * dt * 1e6
                    w.ioBytes += r.ioBytes
                    if let m = r.memoryMax?.byteCount { memory += Double(m) } else if let c = r.memoryBytes { memory += c }
                }
                w.memoryBytes = spec.memoryGB.map { $0 * bytesPerGB } ?? memory
                workloads.append(w)
            }
            let samples = row.gpuW.indices.map { GPUSample(index: $0, utilizationPct: row.gpuUtilPct[$0]) }
            let util = GPUWorkloadMapper.utilization(samples: samples, workloads: present) { _ in nil }
            for i in workloads.indices { workloads[i].gpuUtilizationPct = util[workloads[i].name] ?? [:] }
            out.append((system, UsageInterval(workloads: workloads, unknownCPUUsageUsec: nil)))
        }
        return out
    }

    /// Loads files and attributes every stable-window interval.
    public static func attribute(config: AttributionConfig, systemPath: String, usagePath: String, wallPath: String?) throws -> [IntervalAttribution] {
        let raw: [HostRow]
        if systemPath.hasSuffix(".h5") || systemPath.hasSuffix(".hdf5") {
            raw = try hostRows(trace: try TraceReader.read(systemPath), binSeconds: config.intervalS, source: systemPath)
        } else {
            raw = try hostRows(try DelimitedTable.load(systemPath))
        }
        let host = trim(raw, config.trim)
        guard !host.isEmpty else { throw VraplError("\(systemPath): no rows left after trimming \(config.trim.startS) s / \(config.trim.endS) s") }
        let cg = try cgroupRows(try DelimitedTable.load(usagePath))
        let wall = try wallPath.map { try wallRows(try DelimitedTable.load($0)) }
        let attributor = Attributor(config: config)
        let memory = config.memoryTotalGB.map { $0 * bytesPerGB }
        return intervals(config: config, host: host, cgroups: cg, wall: wall).map {
            attributor.attribute(system: $0.0, usage: $0.1, memoryTotalBytes: memory)
        }
    }
}
