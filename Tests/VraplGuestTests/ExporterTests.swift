import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplModel
@testable import VraplGuest

/// Parses exposition text with prometheus_client's own parser and prints `name{labels} value` lines.
let promParse = """
import sys
from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.read() if sys.argv[1] == '-' else (open(sys.argv[1]).read() if not sys.argv[1].startswith('http') else __import__('urllib.request').request.urlopen(sys.argv[1], timeout=5).read().decode())
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{fam.type} {s.name}{{{labels}}} {s.value!r}")
"""

@Suite("Guest exporters", .serialized)
struct ExporterTests {
    static func snapshot() -> GuestSnapshot {
        let identity = ModelIdentity(name: "demo \"v4\"", hash: "0123456789ab", powerSource: .simulated(profile: "xeon-4210r"),
                                     featureSet: "decode-rapl-4", architecture: "cnn1d")
        let estimate = GuestEstimate(index: 99, monotonicNs: 1, wallClockUnix: 1.7e9, predictedWatts: 42.5, isNewPrediction: true,
                                     energyJoules: 1234.25, busyPercent: 37.5, trust: 0.75, isOutOfDistribution: false,
                                     trustLimitedBy: "iowait_percent", outOfDistributionCount: 3, predictionCount: 98)
        var s = GuestSnapshot(model: identity, estimate: estimate,
                              calibration: CalibrationState(offsetWatts: 2, scale: 1.1, pairs: 7, active: true, calibratedWatts: 48.75,
                                                            calibratedEnergyJoules: 1300, hostEnergyJoules: 1290))
        s.samples = 100
        return s
    }

    @Test("/metrics text parses with prometheus_client and carries the Kepler and vrapl series")
    func prometheusParses() throws {
        let dir = try Scratch.directory()
        let file = dir.appendingPathComponent("m.prom")
        try PrometheusText.render(Self.snapshot()).write(to: file, atomically: true, encoding: .utf8)
        let lines = Set(try python(promParse, [file.path]).split(separator: "\n").map(String.init))
        #expect(lines.contains("gauge kepler_node_cpu_watts{path=vrapl-guest,zone=package} 42.5"))
        #expect(lines.contains("counter kepler_node_cpu_joules_total{path=vrapl-guest,zone=package} 1234.25"))
        #expect(lines.contains("gauge vrapl_trust_score{} 0.75"))
        #expect(lines.contains("counter vrapl_out_of_distribution_windows_total{} 3"))
        #expect(lines.contains("gauge vrapl_calibrated_watts{zone=package} 48.75"))
        #expect(lines.contains("gauge vrapl_model_info{architecture=cnn1d,features=decode-rapl-4,hash=0123456789ab,host_view=whole-host,interval=n/a,name=demo \"v4\",power_source=sim,power_source_detail=sim:xeon-4210r} 1"))
        #expect(lines.contains { $0.hasPrefix("gauge vrapl_build_info{component=vrapl-guest,version=") })
    }

    @Test("HTTP server serves /metrics on loopback; a second server on the same port fails naming it")
    func server() throws {
        let box = SnapshotBox(Self.snapshot())
        let server = try MetricsServer(address: "127.0.0.1", port: 0) { PrometheusText.render(box.current) }
        server.start()
        defer { server.stop() }
        let port = server.boundPort
        let lines = try python(promParse, ["http://127.0.0.1:\(port)/metrics"])
        #expect(lines.contains("counter kepler_node_cpu_joules_total{path=vrapl-guest,zone=package} 1234.25"))
        let status = try python("import urllib.request,urllib.error,sys\ntry:\n urllib.request.urlopen(sys.argv[1])\nexcept urllib.error.HTTPError as e:\n print(e.code)", ["http://127.0.0.1:\(port)/nope"])
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "404")
        let message = errorMessage { _ = try MetricsServer(address: "127.0.0.1", port: port) { "" } }
        #expect(message == "cannot listen on 127.0.0.1:\(port): Address already in use")
    }

    @Test("listen address parsing defaults to loopback", arguments: [
        (":9102", "127.0.0.1", UInt16(9102)), ("9102", "127.0.0.1", 9102), ("0.0.0.0:80", "0.0.0.0", 80), ("localhost:1", "127.0.0.1", 1),
    ])
    func listenParsing(_ text: String, _ host: String, _ port: UInt16) throws {
        let (h, p) = try MetricsServer.parseListen(text)
        #expect(h == host && p == port)
    }

    @Test("bad listen addresses are one-line errors", arguments: ["", ":0", ":70000", "example.com:80", "1.2.3:80"])
    func badListen(_ text: String) {
        let message = errorMessage { _ = try MetricsServer.parseListen(text) }
        #expect(message?.hasPrefix("--listen \(text):") == true)
    }

    @Test("textfile: written atomically as DIR/vrapl.prom, parseable, no temporary left behind")
    func textfile() throws {
        let dir = try Scratch.directory()
        let exporter = try TextfileExporter(directory: dir.path + "/collector")
        try exporter.export(Self.snapshot())
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/collector")
        #expect(files == ["vrapl.prom"])
        let lines = try python(promParse, [dir.path + "/collector/vrapl.prom"])
        #expect(lines.contains("kepler_node_cpu_watts{path=vrapl-guest,zone=package} 42.5"))
    }

    /// `--textfile-interval`: an export within the interval of the last write leaves the file alone,
    /// the exit's `finish` writes whatever the interval; without an interval every export writes.
    @Test("textfile interval: exports within it keep the last file, the last export at exit always writes")
    func textfileInterval() throws {
        let dir = try Scratch.directory()
        let path = dir.path + "/vrapl.prom"
        func energy() throws -> String? {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
                .first { $0.hasPrefix("kepler_node_cpu_joules_total{") }.map { String($0.split(separator: " ").last ?? "") }
        }
        var s = Self.snapshot()
        let hourly = try TextfileExporter(directory: dir.path, minimumIntervalNs: 3_600_000_000_000)
        try hourly.export(s)
        #expect(try energy() == "1234.25")
        s.estimate?.energyJoules = 2000
        try hourly.export(s)
        #expect(try energy() == "1234.25")
        try hourly.finish(s)
        #expect(try energy() == "2000")
        s.estimate?.energyJoules = 3000
        let every = try TextfileExporter(directory: dir.path)
        try every.export(s)
        #expect(try energy() == "3000")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["vrapl.prom"])
    }

    @Test("unwritable output directories are refused at start, naming them")
    func unwritable() throws {
        let blocker = try Scratch.directory().appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let textfile = errorMessage { _ = try TextfileExporter(directory: blocker.path) }
        #expect(textfile == "--textfile \(blocker.path): not a directory")
        let nested = errorMessage { _ = try PowercapExporter(directory: blocker.path + "/sub") }
        #expect(nested?.hasPrefix("--powercap-dir \(blocker.path)/sub: cannot create directory") == true, "\(nested ?? "")")
        let sysfs = errorMessage { _ = try PowercapExporter(directory: blocker.path + "/sys", layout: .sysfs) }
        #expect(sysfs?.hasPrefix("--sysfs-root \(blocker.path)/sys: cannot create directory") == true, "\(sysfs ?? "")")
        // A root directory the guest cannot write into (as an ordinary user; root writes anywhere).
        if getuid() != 0 {
            let ro = try Scratch.directory()
            chmod(ro.path, 0o555)
            let denied = errorMessage { _ = try PowercapExporter(directory: ro.path, layout: .sysfs) }
            #expect(denied?.hasPrefix("--sysfs-root \(ro.path)") == true, "\(denied ?? "")")
        }
        let range = errorMessage { _ = try PowercapExporter(directory: blocker.deletingLastPathComponent().appendingPathComponent("r").path, maxEnergyRange: 0, layout: .sysfs) }
        #expect(range?.contains("the counter range must be positive") == true, "\(range ?? "")")
        let jsonl = errorMessage { _ = try JSONLWriter(path: blocker.path + "/x.jsonl") }
        #expect(jsonl?.hasPrefix("--jsonl \(blocker.path)/x.jsonl:") == true, "\(jsonl ?? "")")
    }

    @Test("powercap counter value wraps like the hardware counter", arguments: [
        (0.0, UInt64(1000), UInt64(0)), (0.000999, 1000, 999), (0.001, 1000, 1000), (0.0010015, 1000, 0), (0.0025, 1000, 498),
        (-1.0, 1000, 0), (5.0, 0, 5_000_000),
    ])
    func powercapWrap(_ joules: Double, _ range: UInt64, _ expected: UInt64) {
        #expect(PowercapExporter.counterValue(joules: joules, maxEnergyRange: range) == expected)
    }

    @Test("powercap tree: name, range, and energy_uj increasing by the integrated energy")
    func powercapTree() throws {
        let dir = try Scratch.directory()
        let exporter = try PowercapExporter(directory: dir.path)
        let zone = dir.path + "/intel-rapl:0"
        #expect(try String(contentsOfFile: zone + "/name", encoding: .utf8) == "package-0\n")
        #expect(try String(contentsOfFile: zone + "/max_energy_range_uj", encoding: .utf8) == "262143328850\n")
        var s = Self.snapshot()
        func counter() throws -> UInt64 {
            UInt64(try String(contentsOfFile: zone + "/energy_uj", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        try exporter.export(s)
        let first = try counter()
        s.estimate?.energyJoules += 12.5
        try exporter.export(s)
        #expect(try counter() - first == 12_500_000)
    }

    /// The probe's F7: a restart used to reset energy_uj to 0, which a reader applying the wrap rule
    /// counts as a whole range (262 kJ). The next run continues from the value left behind, and
    /// writes in place, so a reader holding the file open keeps seeing it.
    @Test("powercap tree: a restart continues the counter, written in place")
    func powercapRestart() throws {
        let dir = try Scratch.directory()
        let path = dir.path + "/intel-rapl:0/energy_uj"
        var s = Self.snapshot()  // 1234.25 J
        do {
            let first = try PowercapExporter(directory: dir.path)
            #expect(first.startEnergyUj == 0)
            try first.export(s)
        }
        let heldOpen = open(path, O_RDONLY)
        defer { close(heldOpen) }
        func readHeld() -> UInt64? {
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = pread(heldOpen, &bytes, 64, 0)
            return UInt64(String(decoding: bytes.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        #expect(readHeld() == 1_234_250_000)
        let second = try PowercapExporter(directory: dir.path)
        #expect(second.startEnergyUj == 1_234_250_000)
        s.estimate?.energyJoules = 0.5  // the new run has integrated half a joule
        try second.export(s)
        #expect(readHeld() == 1_234_750_000, "a reader that kept energy_uj open sees the new run")
        // A garbage or out-of-range value left behind starts a fresh counter.
        try "not a number\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try PowercapExporter(directory: dir.path).startEnergyUj == 0)
        try "999999999999999\n".write(toFile: path, atomically: false, encoding: .utf8)
        #expect(try PowercapExporter(directory: dir.path).startEnergyUj == 0)
    }

    @Test("a continued counter wraps past the range like the hardware", arguments: [
        (0.0, UInt64(0), UInt64(1000), UInt64(0)), (0.0005, 400, 1000, 900), (0.0007, 400, 1000, 99),
        (0.001, 1000, 1000, 999), (2.0, 5, 0, 2_000_005),
    ])
    func continuedWrap(_ joules: Double, _ start: UInt64, _ range: UInt64, _ expected: UInt64) {
        #expect(PowercapExporter.counterValue(joules: joules, continuingFrom: start, maxEnergyRange: range) == expected)
    }

    @Test("JSONL: one object per line with the documented keys")
    func jsonl() throws {
        let s = Self.snapshot()
        let line = JSONLWriter.line(s.estimate!, calibration: s.calibration)
        let parsed = try python("import json,sys; o=json.loads(sys.argv[1]); print(sorted(o.keys())); print(o['power_watts'], o['ood'], o['trust'])", [line])
        #expect(parsed.contains("['busy_cpu_percent', 'calibrated_energy_joules', 'calibrated_power_watts', 'energy_joules', 'index', 'ood', 'ood_count', 'power_watts', 'steal_cpu_percent', 'timestamp_unix', 'trust', 'trust_limited_by']"))
        #expect(parsed.contains("42.5 False 0.75"))
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
    }
}

@Suite("Host-assisted calibration")
struct CalibrationTests {
    @Test("recovers offset and scale from the host's counter, robust to outlier intervals")
    func recovers() {
        var calibrator = HostCalibrator(window: 40, minimumPairs: 5)
        var guestEnergy = 0.0, hostUj: UInt64 = 5_000_000, t: UInt64 = 0
        calibrator.observe(hostCounter: Microjoules(hostUj), guestEnergyJoules: 0, monotonicNs: 0)
        for i in 0..<30 {
            let guestWatts = 10 + Double((i * 7) % 23)
            var hostWatts = 4 + 1.5 * guestWatts
            if i == 11 || i == 23 { hostWatts = 500 }  // a disturbed interval (migration, exporter hiccup)
            t += 2_000_000_000
            guestEnergy += guestWatts * 2
            hostUj += UInt64(hostWatts * 2 * 1e6)
            calibrator.observe(hostCounter: Microjoules(hostUj), guestEnergyJoules: guestEnergy, monotonicNs: t)
        }
        #expect(calibrator.isActive)
        #expect(abs(calibrator.scale - 1.5) < 1e-6)
        #expect(abs(calibrator.offset - 4) < 1e-6)
        #expect(abs(calibrator.calibrate(20) - 34) < 1e-6)
    }

    @Test("identity until enough intervals; unchanged host counter is not an interval")
    func warmup() {
        var calibrator = HostCalibrator(minimumPairs: 3)
        calibrator.observe(hostCounter: Microjoules(100), guestEnergyJoules: 0, monotonicNs: 0)
        calibrator.observe(hostCounter: Microjoules(100), guestEnergyJoules: 5, monotonicNs: 1_000_000_000)
        #expect(calibrator.pairCount == 0)
        #expect(calibrator.calibrate(7) == 7)
        calibrator.observe(hostCounter: Microjoules(10_000_100), guestEnergyJoules: 10, monotonicNs: 2_000_000_000)
        #expect(calibrator.pairCount == 1)
        #expect(calibrator.hostEnergyJoules == 10)
    }
}

@Suite("Host energy reader")
struct HostEnergyReaderTests {
    @Test("reads DIR/intel-rapl:0/energy_uj and its range; garbage is a one-line error naming the file")
    func reads() throws {
        let dir = try Scratch.directory()
        let zone = dir.appendingPathComponent("intel-rapl:0")
        try FileManager.default.createDirectory(at: zone, withIntermediateDirectories: true)
        try "123456789\n".write(to: zone.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        try "262143328850\n".write(to: zone.appendingPathComponent("max_energy_range_uj"), atomically: true, encoding: .utf8)
        let reader = try HostEnergyReader(directory: dir.path)
        #expect(try reader.read() == Microjoules(123_456_789))
        #expect(reader.maxEnergyRange == Microjoules(262_143_328_850))
        try "12x4\n".write(to: zone.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        let garbage = errorMessage { _ = try HostEnergyReader(directory: dir.path) }
        #expect(garbage == "\(zone.path)/energy_uj: not a decimal counter")
        let missing = errorMessage { _ = try HostEnergyReader(directory: dir.path + "/nope") }
        #expect(missing?.contains("\(dir.path)/nope/intel-rapl:0/energy_uj") == true, "\(missing ?? "")")
    }

    @Test("Scaphandre's file as it writes it: empty or half-written reads are skipped, never an error or a zero")
    func scaphandreWrites() throws {
        let dir = try Scratch.directory()
        let zone = dir.appendingPathComponent("intel-rapl:0")
        try FileManager.default.createDirectory(at: zone, withIntermediateDirectories: true)
        let file = zone.appendingPathComponent("energy_uj")
        try "".write(to: file, atomically: true, encoding: .utf8)  // not written yet: fine at start
        let reader = try HostEnergyReader(directory: dir.path)
        #expect(reader.readIfComplete() == nil && reader.maxEnergyRange == Microjoules(0))
        var c = HostCalibrator(minimumPairs: 2)
        // 10 W host power on a guest estimate of 10 W, published every 5 s without newline; reads
        // in between catch it empty, or the first digits of a longer number.
        var t: UInt64 = 0, guest = 0.0, host: UInt64 = 1_000_000_000
        for step in 0..<12 {
            t += 5_000_000_000; guest += 50; host += 50_000_000
            // The guest reads once a second: empty, half written, then complete twice until the next write.
            for (k, text) in ["", String(String(host).prefix(3)), String(host), String(host)].enumerated() {
                try text.write(to: file, atomically: false, encoding: .utf8)
                if let v = reader.readIfComplete() {
                    c.observe(hostCounter: v, guestEnergyJoules: guest, monotonicNs: t + UInt64(k))
                } else {
                    c.skip()
                }
            }
            _ = step
        }
        #expect(c.skippedHostReads == 12 + 11)  // 12 empty, 11 partial (the very first one is the baseline)
        #expect(abs((c.hostEnergyJoules ?? 0) - 11 * 50) < 1e-6)
        #expect(!c.suspectsScaphandreBug)
    }

    @Test("a host counter 5× too slow (Scaphandre #428) is recognised; --host-energy-scale 5 corrects it")
    func scaphandreScaleBug() {
        func fit(scale: Double) -> HostCalibrator {
            var c = HostCalibrator(minimumPairs: 5, hostScale: scale)
            var guest = 0.0, host: UInt64 = 0
            c.observe(hostCounter: Microjoules(host), guestEnergyJoules: guest, monotonicNs: 0)
            for i in 1...20 {
                let watts = 10.0 + Double(i % 5) * 8  // varying guest power
                guest += watts * 5
                host += UInt64(watts * 5 * 0.2 * 1e6)  // grows 5× too slowly
                c.observe(hostCounter: Microjoules(host), guestEnergyJoules: guest, monotonicNs: UInt64(i) * 5_000_000_000)
            }
            return c
        }
        let buggy = fit(scale: 1)
        #expect(buggy.suspectsScaphandreBug && abs(buggy.scale - 0.2) < 0.01)
        let corrected = fit(scale: 5)
        #expect(!corrected.suspectsScaphandreBug && abs(corrected.scale - 1) < 0.01)
    }

    @Test("the runner publishes raw and calibrated power side by side with --host-energy")
    func sideBySide() throws {
        let dir = try Scratch.directory()
        let zone = dir.appendingPathComponent("host/intel-rapl:0")
        try FileManager.default.createDirectory(at: zone, withIntermediateDirectories: true)
        try "1000\n".write(to: zone.appendingPathComponent("energy_uj"), atomically: true, encoding: .utf8)
        let modelPath = try GuestFixtures.writeModel(try GuestFixtures.model(d: 4), in: dir)
        var config = GuestConfig(modelPath: modelPath)
        config.terminal = false
        config.procfs = GuestFixtures.fixtures.appendingPathComponent("procfs/this-machine").path
        config.hostEnergy = dir.path + "/host"
        config.duration = 0.3
        let runner = try GuestRunner(config: config)
        try runner.runLive()
        let s = runner.snapshot
        let calibration = try #require(s.calibration)
        #expect(!calibration.active)  // the host counter never moved: identity
        #expect(calibration.calibratedWatts == s.estimate?.watts)
        let text = PrometheusText.render(s)
        #expect(text.contains("vrapl_calibrated_watts{zone=\"package\"}") && text.contains("kepler_node_cpu_watts{node_name=") && text.contains("zone=\"package\",path=\"vrapl-guest\"}"))
    }
}
