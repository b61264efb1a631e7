import Foundation
import VraplCore

/// The JSON files reports write beside their Markdown (`metrics.json`, `<model>.history.json`):
/// sorted keys, pretty-printed, and a non-finite number as the string `"nan"`/`"inf"`/`"-inf"`
/// (JSON has no NaN), written atomically. Errors name the file and what it is.
public enum ReportJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    /// Encodes `value` to `path`; the error says `cannot write <what> <path>: <reason>`.
    public static func write<T: Encodable>(_ value: T, to path: String, what: String) throws {
        do { try encoder().encode(value).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw VraplError("cannot write \(what) \(path): \(error.localizedDescription)")
        }
    }
}
