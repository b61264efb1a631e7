/// The vrapl version, written into traces, models and build-info metrics.
public enum VraplVersion {
    public static let string = "0.1.0"
}
