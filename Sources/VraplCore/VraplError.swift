/// A user-facing error: one line saying what went wrong and which file, path or resource it concerns.
/// Modules may define richer error enums; anything that reaches the user is printed via `description`.
///
/// The message is kept on one line whatever it wraps (a YAML parser's context snippet, a C library's
/// ctime, a list of problems): its lines are trimmed and joined with "; ".
public struct VraplError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = VraplError.oneLine(message) }
    public var description: String { message }

    /// `text` on one line: non-empty lines trimmed and joined with "; ".
    public static func oneLine(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return text.split(whereSeparator: \.isNewline)
            .map { String($0).trimmingWhitespace() }
            .filter { !$0.isEmpty }
            .joined(separator: "; ")
    }
}
