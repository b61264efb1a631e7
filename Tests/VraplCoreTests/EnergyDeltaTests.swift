import Testing
@testable import VraplCore

/// The wrap-around table: every interval yields a delta, none is dropped.
@Suite struct EnergyDeltaTests {
    static let cases: [(previous: UInt64, current: UInt64, maxRange: UInt64, expected: UInt64)] = [
        (100, 250, 1_000, 150),                       // plain increase
        (500, 500, 1_000, 0),                         // no change
        (990, 9, 1_000, 20),                          // wrap: 990→1000 is 10, 1000→0 is 1, 0→9 is 9
        (1_000, 0, 1_000, 1),                         // exactly at the top
        (262_143_328_850, 1_000_000, 262_143_328_850, 1_000_001), // typical package range
        (5, 3, 0, UInt64.max - 1),                    // unknown range: 64-bit modular
    ]

    @Test(arguments: cases)
    func delta(c: (previous: UInt64, current: UInt64, maxRange: UInt64, expected: UInt64)) {
        let d = energyDelta(previous: Microjoules(c.previous), current: Microjoules(c.current), maxRange: Microjoules(c.maxRange))
        #expect(d.value == c.expected)
    }
}
