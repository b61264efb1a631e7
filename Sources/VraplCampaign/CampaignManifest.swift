import Foundation
import VraplCore

/// `campaign.json` in the campaign's output directory: one entry per combination with its status, so
/// an interrupted campaign resumes without redoing finished combinations.
public struct CampaignManifest: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case pending, running, done, failed }

    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var family: String
        public var parameters: [String: String]
        public var status: Status
        /// Trace file, relative to the output directory.
        public var trace: String
        /// Wall-clock ns when stress-ng started and ended (0 until known).
        public var stressStartNs: Int64 = 0
        public var stressEndNs: Int64 = 0
        public var message: String? = nil

        enum CodingKeys: String, CodingKey {
            case name, family, parameters, status, trace, message
            case stressStartNs = "stress_start_ns", stressEndNs = "stress_end_ns"
        }
    }

    public var format: String = "vrapl-campaign"
    public var matrix: String
    public var matrixFile: String
    public var coreCount: Int
    public var powerSource: PowerSource
    public var entries: [Entry]

    enum CodingKeys: String, CodingKey {
        case format, matrix, entries
        case matrixFile = "matrix_file", coreCount = "core_count", powerSource = "power_source"
    }

    public static func path(in dir: String) -> String { dir + "/campaign.json" }

    public static func load(dir: String) throws -> CampaignManifest? {
        let p = path(in: dir)
        guard let data = FileManager.default.contents(atPath: p) else { return nil }
        do { return try JSONDecoder().decode(CampaignManifest.self, from: data) } catch {
            throw VraplError("\(p) is not a campaign manifest: \(error)")
        }
    }

    /// Saves atomically (write to a temporary file, then rename).
    public func save(dir: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try enc.encode(self) } catch { throw VraplError("cannot encode campaign manifest: \(error)") }
        try TextFile.writeAtomically(String(decoding: data, as: UTF8.self), to: CampaignManifest.path(in: dir))
    }

    public var doneCount: Int { entries.filter { $0.status == .done }.count }
}
