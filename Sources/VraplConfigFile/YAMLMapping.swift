import Foundation
import VraplCore
import Yams

/// One mapping of a YAML configuration file (a training config, a simulator profile, a campaign
/// matrix, an attribution config): typed look-ups whose errors name the key by its full dotted path,
/// and `rejectUnknown`, so that a typo is an error naming the key instead of a silent default.
///
/// Optional look-ups (`string`, `int`, `double`, …) give nil for an absent key or a YAML null and
/// throw for a value of the wrong type; `require` turns an absent value into "missing key 'a.b'".
/// Errors are `VraplError`s without the file name; the loader adds it (`load(path:what:)`).
public struct YAMLMapping {
    public let values: [String: Any]
    /// Dotted path of this mapping inside the file; empty for the root.
    public let path: String

    public init(_ values: [String: Any], path: String = "") { self.values = values; self.path = path }

    /// The root mapping of `text`; `what` names the kind of file in the error ("a campaign matrix").
    public static func parse(_ text: String, what: String) throws -> YAMLMapping {
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw VraplError("invalid YAML: \(error)") }
        guard let map = root as? [String: Any] else { throw VraplError("\(what) must be a YAML mapping") }
        return YAMLMapping(map)
    }

    /// Reads `path` as UTF-8 text (a regular file); errors name the file and `what` it is.
    public static func readText(path: String, what: String) throws -> String {
        let bytes: [UInt8]
        do { bytes = try TextFile.readRegularFile(path) } catch let error as VraplError {
            throw VraplError("cannot read \(what) \(path): \(error.message)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw VraplError("\(what) \(path): not UTF-8 text") }
        return text
    }

    public var keys: [String] { values.keys.sorted() }
    public func contains(_ key: String) -> Bool { values[key].map { !($0 is NSNull) } ?? false }

    /// `a.b` for key `b` of mapping `a`.
    public func fullKey(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses a key that is not in `known`, naming it and the known ones.
    public func rejectUnknown(_ known: [String]) throws {
        if let bad = keys.first(where: { !known.contains($0) }) {
            throw VraplError("unknown key '\(fullKey(bad))' (known\(path.isEmpty ? "" : " in \(path)"): \(known.joined(separator: ", ")))")
        }
    }

    /// `value`, or "missing key 'a.b'".
    public func require<T>(_ value: T?, _ key: String) throws -> T {
        guard let value else { throw VraplError("missing key '\(fullKey(key))'") }
        return value
    }

    private func raw(_ key: String) -> Any? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        return v
    }

    public func mapping(_ key: String) throws -> YAMLMapping? {
        guard let v = raw(key) else { return nil }
        guard let m = v as? [String: Any] else { throw VraplError("'\(fullKey(key))' must be a mapping") }
        return YAMLMapping(m, path: fullKey(key))
    }

    /// A scalar as text (numbers and booleans as YAML wrote them).
    public func string(_ key: String) throws -> String? {
        guard let v = raw(key) else { return nil }
        if v is [Any] || v is [String: Any] { throw VraplError("'\(fullKey(key))' must be a single value") }
        return v as? String ?? "\(v)"
    }

    public func int(_ key: String) throws -> Int? {
        guard let v = raw(key) else { return nil }
        if let i = v as? Int { return i }
        if let d = v as? Double, d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw VraplError("'\(fullKey(key))' must be an integer, found '\(v)'")
    }

    static func number(_ v: Any) -> Double? {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String { return Double(s) }
        return nil
    }

    public func double(_ key: String) throws -> Double? {
        guard let v = raw(key) else { return nil }
        guard let d = Self.number(v), d.isFinite else { throw VraplError("'\(fullKey(key))' must be a number, found '\(v)'") }
        return d
    }

    public func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        guard let b = v as? Bool else { throw VraplError("'\(fullKey(key))' must be true or false") }
        return b
    }

    public func list(_ key: String) throws -> [Any]? {
        guard let v = raw(key) else { return nil }
        guard let a = v as? [Any] else { throw VraplError("'\(fullKey(key))' must be a list") }
        return a
    }

    public func ints(_ key: String) throws -> [Int]? {
        try list(key)?.map { item in
            guard let i = item as? Int else { throw VraplError("'\(fullKey(key))' must be a list of integers, found '\(item)'") }
            return i
        }
    }

    public func doubles(_ key: String) throws -> [Double]? {
        try list(key)?.map { item in
            guard let d = Self.number(item), d.isFinite else { throw VraplError("'\(fullKey(key))' must be a list of numbers, found '\(item)'") }
            return d
        }
    }

    public func strings(_ key: String) throws -> [String]? {
        try list(key)?.map { item in
            if item is [Any] || item is [String: Any] { throw VraplError("'\(fullKey(key))' must be a list of names") }
            return item as? String ?? "\(item)"
        }
    }

    /// A duration in seconds: a YAML number is seconds, text follows `DurationText` (`16ms`, `2m`).
    public func duration(_ key: String) throws -> Double? {
        guard let v = raw(key) else { return nil }
        if let x = Self.number(v), !(v is String) { return x }
        return try DurationText.parse("\(v)", what: fullKey(key))
    }
}
