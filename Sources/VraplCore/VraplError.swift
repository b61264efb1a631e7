/// A user-facing error: one line saying what went wrong and which file, path or resource it concerns.
/// Modules may define richer error enums; anything that reaches the user is printed via `description`.
public struct VraplError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
