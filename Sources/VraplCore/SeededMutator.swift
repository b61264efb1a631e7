/// A seeded mutator for the text inputs vrapl reads from outside (/proc and /sys files, cgroup
/// files, CSV, YAML), behind the fuzz tests of each parser. Same seed, same inputs: a failure is
/// reproduced by its seed and index. Mutations work on bytes and on the text's structure (lines,
/// numbers, separators), because parsers of numeric text files fail at those joints.
///
/// Counts: the suite runs a short seeded run (`SeededMutator.iterations`, 2,000 by default); a long
/// run sets `VRAPL_FUZZ_ITERATIONS` (docs/reliability.md: 1,000,000 per target).
public struct SeededMutator {
    private var rng: SplitMix64
    /// Values that break integer parsing and arithmetic: empty, signs, overflow, floats, NaN.
    static let hostileNumbers: [String] = [
        "", "-1", "0", "+5", "18446744073709551615", "18446744073709551616", "9223372036854775807",
        "99999999999999999999999999", "1e308", "1.5", "nan", "inf", "0x10", "-0", "4294967296", " ", "\u{0}",
    ]
    static let hostileFragments: [String] = [" ", "\t", "\n", "\r\n", "\n\n", ":", "=", ",", ";", "\"", "{", "}", "[", "]",
                                             "#", "\u{FFFD}", "\u{0}", "max", "cpu", "cpu0", "intr", "- ", "  key: "]

    public init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// How many inputs a fuzz test runs: `VRAPL_FUZZ_ITERATIONS` or `defaultCount`.
    public static func iterations(default defaultCount: Int = 2000) -> Int {
        guard let text = getenv("VRAPL_FUZZ_ITERATIONS").map({ String(cString: $0) }), let n = Int(text), n > 0 else {
            return defaultCount
        }
        return n
    }

    /// What a fuzz run saw: inputs parsed, inputs refused, and every refusal that was not one line
    /// naming the input (each as "input I: message").
    public struct Outcome: Sendable {
        public var accepted = 0
        public var rejected = 0
        public var unclear: [String] = []
    }

    /// The one fuzz loop of the suites: `count` mutants of `corpus` (cycled) through `parse`; a
    /// thrown error must be one line containing `path`. A crash or hang ends the process, as it should.
    public static func run(corpus: [String], seed: UInt64, naming path: String, count: Int = iterations(),
                           _ parse: (String) throws -> Void) -> Outcome {
        var mutator = SeededMutator(seed: seed)
        var outcome = Outcome()
        for i in 0..<count {
            let input = mutator.mutate(corpus[i % corpus.count])
            do {
                try parse(input)
                outcome.accepted += 1
            } catch {
                outcome.rejected += 1
                let text = "\(error)"
                if !text.contains(path) || text.contains(where: \.isNewline) { outcome.unclear.append("input \(i): \(text)") }
            }
        }
        return outcome
    }

    private mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(rng.next() % UInt64(n)) }

    /// One mutant of `input`: 1 to 4 mutations of the kinds below.
    public mutating func mutate(_ input: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + below(4)) {
            switch below(10) {
            case 0 where !bytes.isEmpty:  // flip a bit
                bytes[below(bytes.count)] ^= UInt8(1 << below(8))
            case 1 where !bytes.isEmpty:  // truncate
                bytes.removeSubrange(below(bytes.count)...)
            case 2:  // insert a structural fragment
                bytes.insert(contentsOf: Array(Self.hostileFragments[below(Self.hostileFragments.count)].utf8), at: below(bytes.count + 1))
            case 3:  // replace a number with a hostile one
                let starts = (0..<bytes.count).filter { isDigit(bytes[$0]) && ($0 == 0 || !isDigit(bytes[$0 - 1])) }
                if !starts.isEmpty {
                    let start = starts[below(starts.count)]
                    var end = start
                    while end < bytes.count && isDigit(bytes[end]) { end += 1 }
                    bytes.replaceSubrange(start..<end, with: Array(Self.hostileNumbers[below(Self.hostileNumbers.count)].utf8))
                }
            case 4:  // delete a line
                var lines = split(bytes)
                if !lines.isEmpty { lines.remove(at: below(lines.count)); bytes = join(lines) }
            case 5:  // duplicate a line
                var lines = split(bytes)
                if !lines.isEmpty { let i = below(lines.count); lines.insert(lines[i], at: below(lines.count + 1)); bytes = join(lines) }
            case 6:  // swap two lines
                var lines = split(bytes)
                if lines.count > 1 { lines.swapAt(below(lines.count), below(lines.count)); bytes = join(lines) }
            case 7:  // random bytes
                let junk = (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                bytes.insert(contentsOf: junk, at: below(bytes.count + 1))
            case 8:  // a very long line or number
                bytes.insert(contentsOf: [UInt8](repeating: below(2) == 0 ? 0x39 : 0x20, count: 1 + below(5000)), at: below(bytes.count + 1))
            default:  // drop a byte
                if !bytes.isEmpty { bytes.remove(at: below(bytes.count)) }
            }
        }
        return bytes
    }

    /// A mutant of `text` as a String (invalid UTF-8 becomes U+FFFD, as a reader of the file would see).
    public mutating func mutate(_ text: String) -> String {
        String(decoding: mutate(Array(text.utf8)), as: UTF8.self)
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private func split(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] { bytes.split(separator: 0x0A, omittingEmptySubsequences: false) }
    private func join(_ lines: [ArraySlice<UInt8>]) -> [UInt8] { Array(lines.joined(separator: [0x0A])) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
