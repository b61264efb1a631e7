#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VraplCore

/// A forward cursor over the bytes of a procfs/sysfs text file. It never allocates; the helpers that
/// build error messages (`lineText`, `lineNumber`) do, but they only run when a read has failed.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    static let space: UInt8 = 0x20, tab: UInt8 = 0x09, newline: UInt8 = 0x0A, zero: UInt8 = 0x30

    @inline(__always) var atEnd: Bool { index >= bytes.count }

    @inline(__always) mutating func skipBlanks() {
        while index < bytes.count, bytes[index] == Self.space || bytes[index] == Self.tab { index += 1 }
    }

    /// Moves past the next newline (or to the end). `memchr` (the C library's vector search): the
    /// lines skipped are long (/proc/stat's `intr` line has a count for every interrupt number, a
    /// thousand bytes and more), and a byte loop over them was most of a sample's parse.
    @inline(__always) mutating func skipLine() {
        guard index < bytes.count, let base = bytes.baseAddress else { index = bytes.count; return }
        if let hit = memchr(base + index, Int32(Self.newline), bytes.count - index) {
            index = base.distance(to: UnsafeRawPointer(hit)) + 1
        } else {
            index = bytes.count
        }
    }

    /// Advances over a key (bytes up to a blank or newline) and returns its end index.
    @inline(__always) mutating func scanKey() -> Int {
        while index < bytes.count {
            let b = bytes[index]
            if b == Self.space || b == Self.tab || b == Self.newline { break }
            index += 1
        }
        return index
    }

    /// True when `bytes[start..<end]` equals `literal`.
    @inline(__always) func equals(_ start: Int, _ end: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - start == n else { return false }
        let p = literal.utf8Start
        var i = 0
        while i < n {
            if bytes[start + i] != p[i] { return false }
            i += 1
        }
        return true
    }

    /// True when `bytes[start..<end]` equals `name`.
    @inline(__always) func equals(_ start: Int, _ end: Int, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard end - start == name.count else { return false }
        var i = 0
        while i < name.count {
            if bytes[start + i] != name[i] { return false }
            i += 1
        }
        return true
    }

    enum Number { case value(UInt64), endOfLine, garbage, overflow }

    /// Skips blanks and reads one decimal unsigned number. `.endOfLine` when the line (or file) ends
    /// first; `.garbage` when the token is not all digits; `.overflow` past UInt64.max.
    @inline(__always) mutating func scanNumber() -> Number {
        skipBlanks()
        guard index < bytes.count, bytes[index] != Self.newline else { return .endOfLine }
        var value: UInt64 = 0
        var digits = 0
        var overflow = false
        while index < bytes.count {
            let d = bytes[index] &- Self.zero
            if d > 9 { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(d))
            overflow = overflow || o1 || o2
            value = s
            digits += 1
            index += 1
        }
        if index < bytes.count {
            let b = bytes[index]
            if b != Self.space && b != Self.tab && b != Self.newline { return .garbage }
        }
        if digits == 0 { return .garbage }
        return overflow ? .overflow : .value(value)
    }

    /// Start index of the line that contains `position`.
    func lineStart(containing position: Int) -> Int {
        var i = min(position, bytes.count)
        while i > 0, bytes[i - 1] != Self.newline { i -= 1 }
        return i
    }

    /// 1-based line number of `position` (error messages only).
    func lineNumber(of position: Int) -> Int {
        var n = 1
        var i = 0
        let end = min(position, bytes.count)
        while i < end { if bytes[i] == Self.newline { n += 1 }; i += 1 }
        return n
    }

    /// The text of the line containing `position`, cut to 80 characters (error messages only).
    func lineText(containing position: Int) -> String {
        let start = lineStart(containing: position)
        var end = start
        while end < bytes.count, bytes[end] != Self.newline { end += 1 }
        let cut = min(end, start + 80)
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<cut]), as: UTF8.self)
        return cut < end ? text + "…" : text
    }

    /// The token at `position` (up to the next blank), for "found 'x'" in messages.
    func token(at position: Int) -> String {
        var start = min(position, bytes.count)
        while start < bytes.count, bytes[start] == Self.space || bytes[start] == Self.tab { start += 1 }
        var end = start
        while end < bytes.count, bytes[end] != Self.space, bytes[end] != Self.tab, bytes[end] != Self.newline { end += 1 }
        end = min(end, start + 40)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// `<path>: line N ('text'): <problem>`.
    func error(_ path: String, at position: Int, _ problem: String) -> VraplError {
        VraplError("\(path): line \(lineNumber(of: position)) ('\(lineText(containing: position))'): \(problem)")
    }
}
