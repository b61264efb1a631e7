import Testing
@testable import VraplCore

@Suite struct PowerSourceTests {
    @Test(arguments: [("rapl", "rapl"), ("sim", "sim:basic"), ("sim:xeon-silver-4210r", "sim:xeon-silver-4210r")])
    func parsesAndPrints(text: String, printed: String) throws {
        let source = try #require(PowerSource(parsing: text))
        #expect(source.description == printed)
        #expect(source.isSimulated == (printed != "rapl"))
    }

    @Test(arguments: ["", "sim:", "RAPL", "simulated"])
    func rejectsUnknown(text: String) {
        #expect(PowerSource(parsing: text) == nil)
    }
}

@Suite struct UnitsTests {
    @Test func wattsOverSecondsIsJoules() {
        #expect(Watts(50).over(Seconds(0.016)).value == 0.8)
        #expect(Joules(0.8).per(Seconds(0.016)).value == 50)
        #expect(Joules(1).per(Seconds(0)).value == 0)
        #expect(Microjoules(2_500_000).joules.value == 2.5)
    }

    @Test func progressLineHasRateAndETA() {
        let line = ProgressReporter.format(label: "train", done: 50, total: 100, unit: "epochs", elapsed: 10, extra: "loss 1.0")
        #expect(line == "train 50/100 epochs (50%) 5 epochs/s ETA 0:10 loss 1.0")
    }
}
