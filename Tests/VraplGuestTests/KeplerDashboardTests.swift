import Foundation
import Testing
import VraplCore
import VraplSources
@testable import VraplGuest

/// The guest's /metrics against Debian's Prometheus 2.42 (installed by scripts/install-deps.sh test):
/// `promtool check metrics` accepts the text, and a Prometheus server started by the test on
/// loopback, scraping the guest every second, answers every node-level expression of Kepler's own
/// Grafana dashboard (../shared/references/kepler-dashboard-queries.md) with data.
@Suite("Kepler's dashboard on the guest's metrics (Prometheus, promtool)", .serialized)
struct KeplerDashboardTests {
    static let prometheus = "/usr/bin/prometheus", promtool = "/usr/bin/promtool"

    /// The node-level panel and variable expressions, `$job` = vrapl, `$zone`/`$node` = `.+`.
    static let expressions = [
        #"sum by (zone) (kepler_node_cpu_watts{job="vrapl", zone=~".+"})"#,
        #"sum by (zone) (kepler_node_cpu_active_watts{job="vrapl", zone=~".+"})"#,
        #"sum by (zone) (kepler_node_cpu_idle_watts{job="vrapl", zone=~".+"})"#,
        #"count by (instance, model_name)(kepler_node_cpu_info{job="vrapl"})"#,
        #"group by (node_name,zone)(kepler_node_cpu_watts{job="vrapl"})"#,
        #"kepler_node_cpu_watts{job="vrapl", instance=~".+", zone=~".+"}"#,
        #"kepler_node_cpu_active_watts{job="vrapl", instance=~".+", zone=~".+"}"#,
        #"kepler_node_cpu_idle_watts{job="vrapl", instance=~".+", zone=~".+"}"#,
        #"kepler_node_cpu_info{job="vrapl"}"#,          // label_values(…, instance): the node selector
        #"kepler_node_cpu_watts{job="vrapl"}"#,         // label_values(…, zone)
        #"kepler_node_cpu_usage_ratio{job="vrapl"}"#,
        // Process level (`--processes N`).
        #"topk(10,sum by (comm,zone)(kepler_process_cpu_watts{job="vrapl", zone=~".+"}))"#,
        #"sum by (zone) (kepler_process_cpu_watts{job="vrapl", zone=~".+"})"#,
        #"kepler_process_cpu_watts{job="vrapl", zone=~".+",pid="4242"}"#,
        #"label_join(count by (pid, comm) (kepler_process_cpu_watts{job="vrapl"}), "process", " | ", "comm", "pid")"#,
    ]

    static func snapshot(guestShaped: Bool) throws -> GuestSnapshot {
        var s = ExporterTests.snapshot()
        let cpuinfo = GuestFixtures.fixtures.appendingPathComponent("procfs/this-machine").path
        s.node = NodeIdentity(nodeName: "vm-test-1", processors: CPUInfo(procfs: cpuinfo).processors)
        s.processes = [ProcessEnergy(pid: 4242, comm: "stress-ng", state: "R", watts: 3.5, joules: 70),
                       ProcessEnergy(pid: nil, comm: "other", state: "", watts: 0.5, joules: 12)]
        if guestShaped {
            s.estimate?.vcpus = 2
            s.estimate?.idleWatts = 2.5
            s.estimate?.idleEnergyJoules = 100
        }
        return s
    }

    @Test("promtool check metrics accepts the exposition of a whole-host and of a guest-shaped model")
    func promtoolAccepts() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            Issue.record("\(Self.promtool) is missing: scripts/install-deps.sh test installs prometheus"); return
        }
        for shaped in [false, true] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.promtool)
            p.arguments = ["check", "metrics"]
            let input = Pipe(), output = Pipe()
            p.standardInput = input; p.standardOutput = output; p.standardError = output
            try p.run()
            input.fileHandleForWriting.write(Data(PrometheusText.render(try Self.snapshot(guestShaped: shaped)).utf8))
            try input.fileHandleForWriting.close()
            p.waitUntilExit()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Status 0: the text parses and passes promtool's lint (counters end in _total, HELP on every family, …).
            #expect(p.terminationStatus == 0 && !text.lowercased().contains("error"), "\(text)")
        }
    }

    @Test("a Prometheus scraping the guest answers every node-level expression of Kepler's dashboard")
    func dashboardQueriesAnswer() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prometheus) else {
            Issue.record("\(Self.prometheus) is missing: scripts/install-deps.sh test installs prometheus"); return
        }
        let box = SnapshotBox(try Self.snapshot(guestShaped: true))
        let server = try MetricsServer(address: "127.0.0.1", port: 0) { PrometheusText.render(box.current) }
        server.start()
        defer { server.stop() }
        let dir = try GuestFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("prometheus.yml")
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: vrapl
            static_configs: [{targets: ["127.0.0.1:\(server.boundPort)"]}]
        """.write(to: config, atomically: true, encoding: .utf8)
        var prom: Process?
        var port = 0
        for _ in 0..<5 where prom == nil {
            port = 20_000 + Int.random(in: 0..<20_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.prometheus)
            p.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("data").path)",
                           "--web.listen-address=127.0.0.1:\(port)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(500_000)
            if p.isRunning { prom = p }
        }
        let running = try #require(prom, "prometheus did not start on loopback")
        defer { running.terminate(); running.waitUntilExit() }
        // Poll (at most 30 s) until every expression returns at least one series.
        let script = """
        import json, sys, time, urllib.parse, urllib.request
        port, exprs = sys.argv[1], json.loads(sys.argv[2])
        deadline, empty = time.time() + 30, exprs
        while time.time() < deadline:
            empty = []
            for e in exprs:
                try:
                    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": e})
                    r = json.loads(urllib.request.urlopen(url, timeout=2).read())
                    if r.get("status") != "success" or not r["data"]["result"]:
                        empty.append(e)
                except Exception:
                    empty.append(e)
            if not empty:
                break
            time.sleep(0.5)
        print(json.dumps(empty))
        """
        let expressionsJSON = String(decoding: try JSONEncoder().encode(Self.expressions), as: UTF8.self)
        let out = try python(script, [String(port), expressionsJSON]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(out == "[]", "expressions without data: \(out)")
    }
}
