import Foundation
import VraplCore

/// What the campaign is running now, as written to the campaign state file (JSON):
/// `{"name": "cpu-2", "family": "cpu", "stressors": [{"name": "cpu", "workers": 2}]}`;
/// an empty `stressors` list means idle or cooldown.
public struct CampaignCurrent: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var workers: Int
        public init(name: String, workers: Int) { self.name = name; self.workers = workers }
    }
    public var name: String
    public var family: String
    public var stressors: [Entry]
    public init(name: String, family: String, stressors: [Entry]) { self.name = name; self.family = family; self.stressors = stressors }

    /// Default path shared by `vrapl campaign` and `vrapl simulate live` run by the same user:
    /// `campaign/current.json` in the user's private runtime directory
    /// (`PrivateDirectory.runtimeDirectory()`: `$XDG_RUNTIME_DIR/vrapl`, `/run/vrapl` as root).
    public static var defaultPath: String { PrivateDirectory.runtimeDirectory() + "/campaign/current.json" }

    public static func read(path: String) -> CampaignCurrent? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(CampaignCurrent.self, from: data)
    }

    /// Writes the state atomically into a directory only this user controls (created 0700 when
    /// missing; a directory another user owns or can write is refused, naming it).
    public func write(path: String) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try PrivateDirectory.ensure(dir)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        let data = try enc.encode(self)
        try TextFile.writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: path)
    }
}
