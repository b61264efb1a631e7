import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplGuest

/// The guest's sysfs-shaped tree read by the real node_exporter (Debian's prometheus-node-exporter,
/// installed by scripts/install-deps.sh test): started on loopback by the test, bounded, stopped by it.
@Suite("node_exporter reads the guest's powercap tree", .serialized)
struct NodeExporterTests {
    static let binary = "/usr/bin/prometheus-node-exporter"

    /// Starts node_exporter's rapl collector alone on `--path.sysfs root`; returns it and its port.
    static func start(sysfs root: String) throws -> (Process, Int) {
        try start(["--path.sysfs=\(root)", "--collector.disable-defaults", "--collector.rapl"])
    }

    /// Starts node_exporter with `arguments` on a free loopback port, once it answers; the caller stops it.
    static func start(_ arguments: [String]) throws -> (Process, Int) {
        for attempt in 0..<5 {
            let port = 20_000 + Int.random(in: 0..<20_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = arguments + ["--web.listen-address=127.0.0.1:\(port)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Up to 5 s for it to listen; a port taken by someone else makes it exit: try another.
            for _ in 0..<50 {
                usleep(100_000)
                if !p.isRunning { break }
                if (try? python("import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)", ["http://127.0.0.1:\(port)/metrics"])) != nil {
                    return (p, port)
                }
            }
            p.terminate(); p.waitUntilExit()
            if attempt == 4 { break }
        }
        throw VraplError("\(binary) did not start listening on loopback")
    }

    @Test("--sysfs-root: node_exporter --path.sysfs finds the package zone and reports the guest's energy; the counter advances and continues across a restart")
    func nodeExporterReadsTheTree() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            Issue.record("\(Self.binary) is missing: scripts/install-deps.sh test installs prometheus-node-exporter")
            return
        }
        let root = try Scratch.file("sys")
        let exporter = try PowercapExporter(directory: root, layout: .sysfs)
        var snapshot = ExporterTests.snapshot()
        snapshot.estimate?.energyJoules = 1234.25
        try exporter.export(snapshot)
        let (node, port) = try Self.start(sysfs: root)
        defer { node.terminate(); node.waitUntilExit() }
        let url = "http://127.0.0.1:\(port)/metrics"
        func joules() throws -> Double? {
            let lines = try python(promParse, [url]).split(separator: "\n")
            guard let line = lines.first(where: { $0.contains("node_rapl_package_joules_total{") && $0.contains("index=0") }),
                  let value = line.split(separator: " ").last else { return nil }
            return Double(value)
        }
        let start = exporter.startEnergyUj
        let first = try #require(try joules(), "node_exporter exported no node_rapl_package_joules_total")
        #expect(abs(first - (Double(start) / 1e6 + 1234.25)) < 1e-6)
        snapshot.estimate?.energyJoules = 1300
        try exporter.export(snapshot)
        let second = try #require(try joules())
        #expect(abs(second - first - 65.75) < 1e-6)
        // A restarted guest continues the counter, so node_exporter sees no reset.
        let again = try PowercapExporter(directory: root, layout: .sysfs)
        snapshot.estimate?.energyJoules = 10
        try again.export(snapshot)
        let third = try #require(try joules())
        #expect(abs(third - second - 10) < 1e-6)
        #expect(FileManager.default.fileExists(atPath: root + "/class/powercap/intel-rapl/enabled"))
    }
}
