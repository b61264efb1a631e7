import Foundation
import VraplCampaign
@testable import VraplSim

/// Paths and shared fixtures for the simulator tests.
enum SimFixtures {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var profilePath: String { repoRoot.appendingPathComponent("configs/sim/xeon-silver-4210r.yaml").path }
    static func campaign(_ name: String) -> String { repoRoot.appendingPathComponent("configs/campaigns/\(name).yaml").path }

    static func profile() throws -> SimProfile { try SimProfile.load(profilePath) }

    /// A schedule of explicit segments (no matrix), for targeted tests.
    static func schedule(_ parts: [(ScheduledSegment.Kind, [Combination.Stressor], Int)]) -> SimSchedule {
        var segs: [ScheduledSegment] = []
        for (i, part) in parts.enumerated() {
            let (kind, stressors, samples) = part
            let family = stressors.first?.name ?? "idle"
            segs.append(ScheduledSegment(name: "s\(i)-\(family)", kind: kind, stressors: stressors, samples: samples,
                                         parameters: ["family": family, "kind": kind.rawValue,
                                                      "stressor": stressors.map(\.name).joined(separator: "+"),
                                                      "workers": stressors.map { String($0.workers) }.joined(separator: "+")]))
        }
        return SimSchedule(segments: segs, sampleInterval: 0.016)
    }
}

/// Writes an executable shell script.
func script(_ path: String, _ text: String) throws {
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
}
