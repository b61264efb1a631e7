import Foundation
import Testing
@testable import VraplEval

@Suite("Eval calibration")
struct CalibrationTests {
    @Test func theilSenIgnoresOutliers() {
        let x: [Double] = [1, 2, 3, 4, 5, 6, 7]
        var y = x.map { 3 + 2 * $0 }
        y[3] = 100   // one disturbed interval
        let fit = CalibrationResult.theilSen(x: x, y: y)
        #expect(close(fit.a, 3) && close(fit.s, 2))
    }

    @Test func idleOffsetFittedOnFirstHalfOnly() {
        // 8 rows: first half idle with the model +5 W too high; second half: idle +5 then busy +5 and one +1.
        let measured: [Double] = [25, 25, 25, 25, 25, 25, 80, 80]
        let predicted: [Double] = [30, 30, 30, 30, 30, 30, 85, 81]
        let busy: [Double] = [1, 1, 1, 1, 1, 1, 90, 90]
        let r = CalibrationResult.run(.idleOffset, data: "t", predicted: predicted, measured: measured, busyPercent: busy)
        #expect(r.fitRows == 4 && r.scoreRows == 4)
        #expect(r.parameters == [5])
        // Scored rows 4…7: errors before 5, 5, 5, 1 → after 0, 0, 0, −4.
        #expect(close(r.before.mae, 4))
        #expect(close(r.after?.mae, 1))
        #expect(close(r.idleBiasBefore, 5) && close(r.idleBiasAfter, 0))
    }

    @Test func hostOffsetScaleRecoversLinearDistortion() {
        // measured = 10 + 0.5 · predicted exactly; 4 intervals of 2 rows fit, the rest is scored.
        let predicted = (0..<16).map { 40 + 3 * Double($0 % 5) + Double($0) }
        let measured = predicted.map { 10 + 0.5 * $0 }
        let r = CalibrationResult.run(.hostOffsetScale, data: "t", predicted: predicted, measured: measured,
                                      busyPercent: [Double](repeating: 50, count: 16), intervalRows: 2)
        #expect(r.parameters.count == 2 && close(r.parameters[0], 10, 1e-9) && close(r.parameters[1], 0.5, 1e-9))
        #expect((r.after?.rmse ?? 1) < 1e-9)
        let none = CalibrationResult.run(.idleOffset, data: "t", predicted: predicted, measured: measured,
                                         busyPercent: [Double](repeating: 50, count: 16))
        #expect(none.after == nil && none.note != nil)
    }
}
