/// An error from the trace store. It always names the file and, where there is one, the HDF5 object
/// (`/rapl/intel-rapl_0/energy_uj`, an attribute as `/@format_version`) it concerns.
public struct TraceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The trace file.
    public var path: String
    /// The HDF5 object inside the file (empty for the file itself).
    public var object: String
    /// What went wrong, including HDF5's own explanation when it gave one.
    public var message: String

    public init(path: String, object: String = "", message: String) {
        self.path = path
        self.object = object
        self.message = message
    }

    /// `<file>: <object>: <message>`.
    public var description: String {
        object.isEmpty ? "\(path): \(message)" : "\(path): \(object): \(message)"
    }
}
