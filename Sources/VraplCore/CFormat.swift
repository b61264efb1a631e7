#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Text formatting without Foundation. The recording chain (VraplCore, VraplSources, VraplTrace,
// VraplCollect and `vrapl-collect`) does not import Foundation, so the collector neither maps nor
// initialises Foundation, CoreFoundation and ICU (docs/PERFORMANCE.md, "Collector"). These helpers
// replace the few Foundation string calls that chain used.

extension String {
    /// printf-style formatting through C's `vsnprintf`, for numbers: `%d %ld %u %lu %f %e %g %x %%`
    /// with flags, width and precision. Swift `Int` is 64-bit: pass it with `%ld`/`%lu`. `%s` and
    /// `%@` are not supported. Gives the same text as Foundation's `String(format:)` for these.
    public init(cFormat format: String, _ arguments: CVarArg...) {
        var small = [CChar](repeating: 0, count: 128)
        let needed = Int(withVaList(arguments) { vsnprintf(&small, small.count, format, $0) })
        if needed < 0 {
            self = ""
        } else if needed < small.count {
            self = String(decoding: small[0..<needed].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            var large = [CChar](repeating: 0, count: needed + 1)
            _ = withVaList(arguments) { vsnprintf(&large, large.count, format, $0) }
            self = String(decoding: large[0..<needed].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    public func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }

    /// The string cut or right-padded with spaces to exactly `length` characters (as Foundation's
    /// `padding(toLength:withPad:" ",startingAt:0)`).
    public func padded(to length: Int) -> String {
        count >= length ? String(prefix(length)) : self + String(repeating: " ", count: length - count)
    }
}
