import ArgumentParser
import VraplCore

/// A duration on a command line, by `DurationText`'s one rule: a number and a unit (`16ms`, `1s`,
/// `60s`, `2m`, `500us`); a bare number is refused with a hint, as in every config file. Declare it
/// with its parser so that the hint reaches the user:
///
/// ```swift
/// @Option(help: "Stop after this long.", transform: DurationArgument.parse) var duration: DurationArgument?
/// ```
public struct DurationArgument: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// Parses `text`; the error is DurationText's message (with its hint), shown as the option's error.
    public static let parse: @Sendable (String) throws -> DurationArgument = { text in
        do { return DurationArgument(nanoseconds: try DurationText.nanoseconds(text)) } catch let error as VraplError {
            throw ValidationError(error.message)
        }
    }

    public static func milliseconds(_ ms: UInt64) -> DurationArgument { DurationArgument(nanoseconds: ms * 1_000_000) }
    public static func seconds(_ s: UInt64) -> DurationArgument { DurationArgument(nanoseconds: s * 1_000_000_000) }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
    public static func < (a: DurationArgument, b: DurationArgument) -> Bool { a.nanoseconds < b.nanoseconds }

    /// `16ms`, `1s`, `2m`.
    public var description: String { DurationText.format(nanoseconds: nanoseconds) }
}
