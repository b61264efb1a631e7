#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import VraplCore

/// A small, dependency-free SVG plotter for reports and training curves (no Python anywhere).
///
/// Four kinds: multi-series line plots with a legend, scatter plots with an optional identity line,
/// histograms and (grouped) bar charts. Axes get "nice" ticks (1, 2, 5 × 10ⁿ) and labels.
/// Non-finite values are skipped. Long line series are reduced to at most `maxLinePoints` points by
/// keeping each bucket's minimum and maximum (so spikes survive); scatter plots keep at most
/// `maxScatterPoints` points by an even stride.
///
/// ```swift
/// let plot = SVGPlot.line(title: "Training", xLabel: "epoch", yLabel: "loss",
///                         series: [.init(name: "train", x: epochs, y: train), .init(name: "val", x: epochs, y: val)])
/// try plot.write(to: "out/training.svg")
/// ```
public struct SVGPlot: Sendable {
    /// One named data series.
    public struct Series: Sendable {
        public var name: String
        public var x: [Double]
        public var y: [Double]
        /// CSS colour; nil picks from the palette by position.
        public var color: String?
        /// Draw a dashed line (line plots only).
        public var dashed: Bool
        public init(name: String, x: [Double], y: [Double], color: String? = nil, dashed: Bool = false) {
            self.name = name; self.x = x; self.y = y; self.color = color; self.dashed = dashed
        }
        /// A series against its index 0, 1, 2, …
        public init(name: String, y: [Double], color: String? = nil, dashed: Bool = false) {
            self.init(name: name, x: (0..<y.count).map(Double.init), y: y, color: color, dashed: dashed)
        }
    }

    public enum Kind: Sendable {
        case line
        case scatter(identityLine: Bool)
        /// Bars: `categories` on the x axis, one bar per series per category (series y = values).
        case bars(categories: [String])
        /// Histogram: pre-binned; series x = bin edges (count + 1), y = counts.
        case histogram
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var kind: Kind
    public var series: [Series]
    public var width: Double = 760
    public var height: Double = 440
    /// Forces the y range to include zero (default for bars and histograms).
    public var yIncludesZero: Bool = false
    public var maxLinePoints: Int = 2000
    public var maxScatterPoints: Int = 6000
    /// Optional note printed under the title (e.g. "power source: sim").
    public var subtitle: String? = nil

    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                 "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String, kind: Kind, series: [Series]) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.kind = kind; self.series = series
    }

    // MARK: Constructors

    public static func line(title: String, xLabel: String, yLabel: String, series: [Series]) -> SVGPlot {
        SVGPlot(title: title, xLabel: xLabel, yLabel: yLabel, kind: .line, series: series)
    }

    public static func scatter(title: String, xLabel: String, yLabel: String, x: [Double], y: [Double],
                               name: String = "points", identityLine: Bool = true) -> SVGPlot {
        SVGPlot(title: title, xLabel: xLabel, yLabel: yLabel, kind: .scatter(identityLine: identityLine),
                series: [Series(name: name, x: x, y: y)])
    }

    /// Histogram of `values` in `bins` equal bins over their finite range (or `range`).
    public static func histogram(title: String, xLabel: String, values: [Double], bins: Int = 40,
                                 range: ClosedRange<Double>? = nil) -> SVGPlot {
        let (edges, counts) = histogramCounts(values, bins: bins, range: range)
        var plot = SVGPlot(title: title, xLabel: xLabel, yLabel: "count", kind: .histogram,
                           series: [Series(name: "count", x: edges, y: counts)])
        plot.yIncludesZero = true
        return plot
    }

    /// Grouped bar chart: one group per category, one bar per series (`values[i]` for category i).
    public static func bars(title: String, xLabel: String, yLabel: String, categories: [String],
                            series: [(name: String, values: [Double])]) -> SVGPlot {
        var plot = SVGPlot(title: title, xLabel: xLabel, yLabel: yLabel, kind: .bars(categories: categories),
                           series: series.map { Series(name: $0.name, x: (0..<$0.values.count).map(Double.init), y: $0.values) })
        plot.yIncludesZero = true
        return plot
    }

    /// Equal-width bin edges (bins + 1) and counts; values outside the range are dropped.
    public static func histogramCounts(_ values: [Double], bins: Int, range: ClosedRange<Double>? = nil) -> (edges: [Double], counts: [Double]) {
        let finite = values.filter { $0.isFinite }
        let n = max(1, bins)
        var lo = range?.lowerBound ?? (finite.min() ?? 0)
        var hi = range?.upperBound ?? (finite.max() ?? 1)
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let w = (hi - lo) / Double(n)
        var counts = [Double](repeating: 0, count: n)
        for v in finite where v >= lo && v <= hi {
            let b = min(n - 1, Int((v - lo) / w))
            counts[b] += 1
        }
        return ((0...n).map { lo + Double($0) * w }, counts)
    }

    // MARK: Output

    public func write(to path: String) throws {
        do {
            try render().write(to: URL(fileURLWithPath: path), atomically: true, encoding: .utf8)
        } catch {
            throw VraplError("cannot write plot \(path): \(error)")
        }
    }

    /// The SVG document.
    public func render() -> String {
        let left = 70.0, right = 20.0, top = subtitle == nil ? 40.0 : 56.0, bottom = 56.0
        let plotW = width - left - right, plotH = height - top - bottom
        var out = ""
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(Self.escape(title))</text>\n"
        if let subtitle {
            out += "<text x=\"\(f(width / 2))\" y=\"40\" text-anchor=\"middle\" fill=\"#555\">\(Self.escape(subtitle))</text>\n"
        }

        // Data ranges.
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for (x, y) in zip(s.x, s.y) where x.isFinite && y.isFinite { xs.append(x); ys.append(y) }
        }
        if case .histogram = kind, let s = series.first { xs = s.x.filter { $0.isFinite } }
        var xLo = xs.min() ?? 0, xHi = xs.max() ?? 1
        var yLo = ys.min() ?? 0, yHi = ys.max() ?? 1
        if case .scatter(true) = kind { let lo = min(xLo, yLo), hi = max(xHi, yHi); xLo = lo; yLo = lo; xHi = hi; yHi = hi }
        if case .bars(let cats) = kind { xLo = -0.5; xHi = Double(max(cats.count, 1)) - 0.5 }
        if yIncludesZero { yLo = min(yLo, 0); yHi = max(yHi, 0) }
        if !(xHi > xLo) { xLo -= 1; xHi += 1 }
        if !(yHi > yLo) { yLo -= 1; yHi += 1 }
        let yTicks = Self.niceTicks(yLo, yHi, count: 6)
        yLo = min(yLo, yTicks.first ?? yLo); yHi = max(yHi, yTicks.last ?? yHi)
        var xTicks: [Double] = []
        if case .bars = kind {} else {
            xTicks = Self.niceTicks(xLo, xHi, count: 8)
            if case .line = kind {} else { xLo = min(xLo, xTicks.first ?? xLo); xHi = max(xHi, xTicks.last ?? xHi) }
        }
        let sx = { (x: Double) -> Double in left + (x - xLo) / (xHi - xLo) * plotW }
        let sy = { (y: Double) -> Double in top + plotH - (y - yLo) / (yHi - yLo) * plotH }

        // Grid, axes and ticks.
        out += "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n"
        for t in yTicks { out += "<line x1=\"\(f(left))\" y1=\"\(f(sy(t)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(sy(t)))\"/>\n" }
        for t in xTicks where t >= xLo && t <= xHi { out += "<line x1=\"\(f(sx(t)))\" y1=\"\(f(top))\" x2=\"\(f(sx(t)))\" y2=\"\(f(top + plotH))\"/>\n" }
        out += "</g>\n"
        out += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<g fill=\"#333\">\n"
        for t in yTicks {
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(sy(t) + 4))\" text-anchor=\"end\">\(Self.tickLabel(t))</text>\n"
        }
        for t in xTicks where t >= xLo && t <= xHi {
            out += "<text x=\"\(f(sx(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(Self.tickLabel(t))</text>\n"
        }
        if case .bars(let cats) = kind {
            let rotate = cats.count > 8
            for (i, c) in cats.enumerated() {
                let x = sx(Double(i)), y = top + plotH + 16
                if rotate {
                    out += "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"end\" font-size=\"10\" transform=\"rotate(-35 \(f(x)) \(f(y)))\">\(Self.escape(c))</text>\n"
                } else {
                    out += "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"middle\">\(Self.escape(c))</text>\n"
                }
            }
        }
        out += "</g>\n"
        out += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">\(Self.escape(yLabel))</text>\n"

        // Data.
        out += "<g clip-path=\"none\">\n"
        switch kind {
        case .line:
            for (i, s) in series.enumerated() {
                let color = s.color ?? Self.palette[i % Self.palette.count]
                let pts = Self.decimate(x: s.x, y: s.y, maxPoints: maxLinePoints)
                // Break the polyline at non-finite values.
                var runs: [[(Double, Double)]] = [[]]
                for p in pts {
                    if p.0.isFinite && p.1.isFinite { runs[runs.count - 1].append(p) } else if !(runs.last?.isEmpty ?? true) { runs.append([]) }
                }
                let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
                for run in runs where !run.isEmpty {
                    if run.count == 1 {
                        out += "<circle cx=\"\(f(sx(run[0].0)))\" cy=\"\(f(sy(run[0].1)))\" r=\"2.5\" fill=\"\(color)\"/>\n"
                        continue
                    }
                    let d = run.map { "\(f(sx($0.0))),\(f(sy($0.1)))" }.joined(separator: " ")
                    out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.4\"\(dash) points=\"\(d)\"/>\n"
                }
            }
        case .scatter(let identity):
            if identity {
                out += "<line x1=\"\(f(sx(xLo)))\" y1=\"\(f(sy(xLo)))\" x2=\"\(f(sx(xHi)))\" y2=\"\(f(sy(xHi)))\" stroke=\"#888\" stroke-dasharray=\"6,4\"/>\n"
            }
            for (i, s) in series.enumerated() {
                let color = s.color ?? Self.palette[i % Self.palette.count]
                let n = min(s.x.count, s.y.count)
                let stride = max(1, Int((Double(n) / Double(max(1, maxScatterPoints))).rounded(.up)))
                out += "<g fill=\"\(color)\" fill-opacity=\"0.35\">\n"
                var k = 0
                while k < n {
                    let x = s.x[k], y = s.y[k]
                    if x.isFinite && y.isFinite { out += "<circle cx=\"\(f(sx(x)))\" cy=\"\(f(sy(y)))\" r=\"1.8\"/>\n" }
                    k += stride
                }
                out += "</g>\n"
            }
        case .histogram:
            if let s = series.first {
                let color = s.color ?? Self.palette[0]
                out += "<g fill=\"\(color)\" fill-opacity=\"0.8\" stroke=\"white\" stroke-width=\"0.5\">\n"
                for i in 0..<min(s.y.count, max(0, s.x.count - 1)) where s.y[i] > 0 {
                    let x0 = sx(s.x[i]), x1 = sx(s.x[i + 1]), y0 = sy(s.y[i]), yb = sy(max(yLo, 0))
                    out += "<rect x=\"\(f(x0))\" y=\"\(f(y0))\" width=\"\(f(max(0, x1 - x0)))\" height=\"\(f(max(0, yb - y0)))\"/>\n"
                }
                out += "</g>\n"
            }
        case .bars(let cats):
            let groupW = plotW / Double(max(cats.count, 1)) * 0.8
            let barW = groupW / Double(max(series.count, 1))
            let base = sy(max(yLo, min(0, yHi)))
            for (j, s) in series.enumerated() {
                let color = s.color ?? Self.palette[j % Self.palette.count]
                out += "<g fill=\"\(color)\">\n"
                for (i, v) in s.y.enumerated() where i < cats.count && v.isFinite {
                    let x0 = sx(Double(i)) - groupW / 2 + Double(j) * barW
                    let yv = sy(v)
                    out += "<rect x=\"\(f(x0))\" y=\"\(f(min(yv, base)))\" width=\"\(f(barW * 0.92))\" height=\"\(f(abs(base - yv)))\"><title>\(Self.escape(s.name)) \(Self.escape(cats[i])): \(Self.tickLabel(v))</title></rect>\n"
                }
                out += "</g>\n"
            }
        }
        out += "</g>\n"

        // Legend (line, bars with several series, scatter with several series).
        let showLegend: Bool
        switch kind {
        case .line: showLegend = !series.isEmpty
        case .bars, .scatter: showLegend = series.count > 1
        case .histogram: showLegend = false
        }
        if showLegend {
            let lw = min(260.0, 30 + 7.0 * Double(series.map { $0.name.count }.max() ?? 4))
            let lh = 8 + 16.0 * Double(series.count)
            let lx = left + plotW - lw - 8, ly = top + 8
            out += "<rect x=\"\(f(lx))\" y=\"\(f(ly))\" width=\"\(f(lw))\" height=\"\(f(lh))\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n"
            for (i, s) in series.enumerated() {
                let color = s.color ?? Self.palette[i % Self.palette.count]
                let y = ly + 14 + 16 * Double(i)
                out += "<rect x=\"\(f(lx + 6))\" y=\"\(f(y - 8))\" width=\"14\" height=\"8\" fill=\"\(color)\"/>\n"
                out += "<text x=\"\(f(lx + 26))\" y=\"\(f(y))\">\(Self.escape(s.name))</text>\n"
            }
        }
        out += "</svg>\n"
        return out
    }

    // MARK: Helpers

    /// "Nice" tick positions (multiples of 1, 2 or 5 × 10ⁿ) covering [lo, hi] with about `count` ticks.
    public static func niceTicks(_ lo: Double, _ hi: Double, count: Int) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo, count > 0 else { return [] }
        let raw = (hi - lo) / Double(count)
        let mag = pow(10, floor(log10(raw)))
        let frac = raw / mag
        let step = (frac <= 1 ? 1 : frac <= 2 ? 2 : frac <= 5 ? 5 : 10) * mag
        let first = floor(lo / step) * step
        let last = ceil(hi / step) * step
        var ticks: [Double] = []
        var t = first
        var guardCount = 0
        while t <= last + step * 1e-9 && guardCount < 1000 {
            ticks.append(abs(t) < step * 1e-9 ? 0 : t)
            t += step; guardCount += 1
        }
        return ticks
    }

    static func tickLabel(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e5 || a < 1e-3 { return String(cFormat: "%.2g", v) }
        if v == v.rounded() { return String(cFormat: "%.0f", v) }
        if a >= 10 { return String(cFormat: "%.1f", v) }
        if a >= 1 {
            var s = String(cFormat: "%.2f", v)
            while s.hasSuffix("0") { s.removeLast() }
            return s
        }
        return String(cFormat: "%.3g", v)
    }

    /// Min/max decimation to at most ~maxPoints points, keeping order.
    static func decimate(x: [Double], y: [Double], maxPoints: Int) -> [(Double, Double)] {
        let n = min(x.count, y.count)
        if n <= maxPoints || maxPoints < 4 { return (0..<n).map { (x[$0], y[$0]) } }
        let buckets = maxPoints / 2
        var out: [(Double, Double)] = []
        out.reserveCapacity(buckets * 2)
        for b in 0..<buckets {
            let lo = b * n / buckets, hi = (b + 1) * n / buckets
            guard hi > lo else { continue }
            var iMin = lo, iMax = lo
            for i in lo..<hi where y[i].isFinite {
                if !y[iMin].isFinite || y[i] < y[iMin] { iMin = i }
                if !y[iMax].isFinite || y[i] > y[iMax] { iMax = i }
            }
            if iMin == iMax { out.append((x[iMin], y[iMin])) }
            else if iMin < iMax { out.append((x[iMin], y[iMin])); out.append((x[iMax], y[iMax])) }
            else { out.append((x[iMax], y[iMax])); out.append((x[iMin], y[iMin])) }
        }
        return out
    }

    static func escape(_ s: String) -> String {
        s.replacing("&", with: "&amp;").replacing("<", with: "&lt;")
            .replacing(">", with: "&gt;").replacing("\"", with: "&quot;")
    }

    private func f(_ v: Double) -> String { String(cFormat: "%.1f", v) }
}
