import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import VraplReport
import VraplCore

@Suite("SVGPlot")
struct SVGPlotTests {
    /// True when `svg` parses as well-formed XML.
    private func wellFormed(_ svg: String) -> Bool {
        guard let data = svg.data(using: .utf8) else { return false }
        return XMLParser(data: data).parse()
    }

    @Test("nice ticks are multiples of 1, 2, 5 × 10ⁿ covering the range",
          arguments: [(0.0, 10.0, 5, [0.0, 2, 4, 6, 8, 10]),
                      (0.3, 0.87, 5, [0.2, 0.4, 0.6, 0.8, 1.0]),
                      (-3.0, 12.0, 3, [-5.0, 0, 5, 10, 15])])
    func ticks(lo: Double, hi: Double, count: Int, expected: [Double]) {
        let t = SVGPlot.niceTicks(lo, hi, count: count)
        #expect(t.count == expected.count)
        for (a, b) in zip(t, expected) { #expect(abs(a - b) < 1e-9) }
    }

    @Test func histogramCountsByHand() {
        // Range [0, 4], 4 bins of width 1: 0.5→0, 1.0→1, 1.5→1, 3.9→3, 4.0 (top edge)→3, 5 dropped, NaN dropped.
        let (edges, counts) = SVGPlot.histogramCounts([0.5, 1.0, 1.5, 3.9, 4.0, 5, .nan], bins: 4, range: 0...4)
        #expect(edges == [0, 1, 2, 3, 4])
        #expect(counts == [1, 2, 0, 2])
    }

    @Test func linePlotHasSeriesLegendAndEscapedText() {
        let plot = SVGPlot.line(title: "loss <train & val>", xLabel: "epoch", yLabel: "MSE",
                                series: [.init(name: "train", y: [3, 2, 1.5, 1.2]),
                                         .init(name: "val", y: [3.5, 2.5, .nan, 2.0], dashed: true)])
        let svg = plot.render()
        #expect(wellFormed(svg))
        #expect(svg.contains("loss &lt;train &amp; val&gt;"))
        #expect(svg.contains(">train</text>") && svg.contains(">val</text>"))
        // The NaN breaks "val" into a polyline (2 points) and a lone point; "train" is one polyline.
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        #expect(svg.contains("stroke-dasharray=\"5,3\""))
    }

    @Test func scatterHistogramAndBarsAreWellFormed() {
        let x = (0..<500).map { Double($0) / 10 }
        let scatter = SVGPlot.scatter(title: "pred vs meas", xLabel: "measured W", yLabel: "predicted W",
                                      x: x, y: x.map { $0 * 1.1 })
        let s = scatter.render()
        #expect(wellFormed(s))
        #expect(s.components(separatedBy: "<circle").count - 1 == 500)
        #expect(s.contains("stroke-dasharray=\"6,4\""))  // identity line
        let hist = SVGPlot.histogram(title: "residuals", xLabel: "W", values: x, bins: 10)
        let h = hist.render()
        #expect(wellFormed(h))
        #expect(h.components(separatedBy: "<rect").count - 1 == 10 + 2)  // 10 bars + background + frame
        let bars = SVGPlot.bars(title: "MAE", xLabel: "family", yLabel: "W", categories: ["cpu", "io", "vm"],
                                series: [("model", [1, 2, -1]), ("baseline", [2, 3, 4])])
        let b = bars.render()
        #expect(wellFormed(b))
        #expect(b.components(separatedBy: "<title>").count - 1 == 6)
    }

    @Test func decimationKeepsExtremes() {
        var y = [Double](repeating: 1, count: 100_000)
        y[31_337] = 50; y[77_777] = -20
        let pts = SVGPlot.decimate(x: (0..<y.count).map(Double.init), y: y, maxPoints: 1000)
        #expect(pts.count <= 1000)
        #expect(pts.contains { $0.1 == 50 && $0.0 == 31_337 })
        #expect(pts.contains { $0.1 == -20 })
        #expect(zip(pts, pts.dropFirst()).allSatisfy { $0.0 < $1.0 })
    }

    @Test func writeFailsWithPath() {
        let plot = SVGPlot.line(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "a", y: [1, 2])])
        #expect(throws: VraplError.self) { try plot.write(to: "/nonexistent-dir-vrapl/x.svg") }
    }
}
