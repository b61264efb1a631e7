import Foundation
import Testing
import VraplCampaign
@testable import VraplSim

@Suite("Schedules of the shipped matrices")
struct ShippedScheduleTests {
    @Test("the live matrix's schedule has its 40 bursts; the demo matrix scales to a target sample count")
    func shippedSchedules() throws {
        let live = try CampaignMatrix.load(path: SimFixtures.campaign("live"))
        let sched = SimSchedule.build(matrix: live, threads: 20, seed: 1)
        #expect(sched.segments.filter { $0.kind == .burst }.count == 40)
        let demo = try CampaignMatrix.load(path: SimFixtures.campaign("demo"))
        let target = SimSchedule.build(matrix: demo, threads: 20, seed: 1, targetSamples: 100_000).totalSamples
        #expect(abs(target - 100_000) < 1_000, "\(target)")
    }
}
