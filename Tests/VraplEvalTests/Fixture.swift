import Foundation
import Testing

/// The numpy reference written by Tests/Reference/eval_reference.py.
enum EvalFixture {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/eval/reference.json")

    static func load() throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.shape("top level")
        }
        return obj
    }

    enum FixtureError: Error { case shape(String) }

    static func dict(_ o: Any?, _ what: String) throws -> [String: Any] {
        guard let d = o as? [String: Any] else { throw FixtureError.shape(what) }
        return d
    }
    static func doubles(_ o: Any?, _ what: String) throws -> [Double] {
        guard let a = o as? [Any] else { throw FixtureError.shape(what) }
        return try a.map { v in
            guard let n = v as? NSNumber else { throw FixtureError.shape(what) }
            return n.doubleValue
        }
    }
    static func strings(_ o: Any?, _ what: String) throws -> [String] {
        guard let a = o as? [String] else { throw FixtureError.shape(what) }
        return a
    }
    static func double(_ o: Any?, _ what: String) throws -> Double {
        guard let n = o as? NSNumber else { throw FixtureError.shape(what) }
        return n.doubleValue
    }
    /// nil for JSON null.
    static func optionalDouble(_ o: Any?) -> Double? { (o as? NSNumber)?.doubleValue }
}

/// |a − b| ≤ tol · max(1, |b|).
func close(_ a: Double?, _ b: Double?, _ tol: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (x?, y?): return abs(x - y) <= tol * max(1, abs(y))
    default: return false
    }
}
