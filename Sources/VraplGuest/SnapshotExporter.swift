/// Everything the guest publishes once per export interval (the textfile, the powercap and sysfs
/// trees, JSONL, the terminal line) is an exporter fed the same immutable `GuestSnapshot`; the
/// metrics server reads the latest snapshot from its `SnapshotBox` instead, when it is scraped.
public protocol SnapshotExporter: AnyObject {
    /// Writes this snapshot out; errors name the file or tree.
    func export(_ snapshot: GuestSnapshot) throws
    /// The last export, at exit: what the files hold from then on (an exporter with its own, longer
    /// interval writes it whatever that interval says). By default `export`.
    func finish(_ snapshot: GuestSnapshot) throws
}

extension SnapshotExporter {
    public func finish(_ snapshot: GuestSnapshot) throws { try export(snapshot) }
}
