import Foundation
import Testing
import VraplTestSupport
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
        // Container and pod level (`--pods`).
        #"topk(10,sum by (container_name,zone)(kepler_container_cpu_watts{job="vrapl", zone=~".+"}))"#,
        #"sum by (zone) (kepler_container_cpu_watts{job="vrapl", zone=~".+"})"#,
        #"kepler_container_cpu_watts{job="vrapl", zone=~".+",container_name=~".+"}"#,
        #"kepler_container_cpu_watts"#,  // label_values(…, container_name)
        #"topk(10,sum by (pod_namespace,zone)(kepler_pod_cpu_watts{job="vrapl", zone=~".+"}))"#,
        #"sum by (zone) (kepler_pod_cpu_watts{job="vrapl", zone=~".+", pod_namespace=~".+"})"#,
        #"kepler_pod_cpu_watts{job="vrapl",pod_namespace=~".+", zone=~".+",pod_name=~".+"}"#,
        #"kepler_pod_cpu_watts{job="vrapl"}"#,  // label_values(…, pod_namespace), label_values(…, pod_name)
    ]

    static func snapshot(guestShaped: Bool) throws -> GuestSnapshot {
        var s = ExporterTests.snapshot()
        let cpuinfo = GuestFixtures.fixtures.appendingPathComponent("procfs/this-machine").path
        s.node = NodeIdentity(nodeName: "vm-test-1", processors: CPUInfo(procfs: cpuinfo).processors)
        s.processes = [ProcessEnergy(pid: 4242, comm: "stress-ng", state: "R", watts: 3.5, joules: 70),
                       ProcessEnergy(pid: nil, comm: "other", state: "", watts: 0.5, joules: 12)]
        // The pod panels from a cgroup fixture tree (systemd driver) through the guest's own split.
        let cg = try Scratch.directory()
        let logs = cg.appendingPathComponent("pods")
        try FileManager.default.createDirectory(at: logs.appendingPathComponent("shop_web-7d9_\(PodSplitTests.uidA)"), withIntermediateDirectories: true)
        try PodSplitTests.systemdTree(cg.appendingPathComponent("cg"), a: 0, b: 0, c: nil, system: 0)
        let split = try PodSplit(cgroupfs: cg.appendingPathComponent("cg").path, podLogs: logs.path)
        split.update(activeJoules: 0, monotonicNs: 1_000_000_000)
        try PodSplitTests.systemdTree(cg.appendingPathComponent("cg"), a: 500_000, b: 300_000, c: nil, system: 200_000)
        split.update(activeJoules: 10, monotonicNs: 2_000_000_000)
        s.containers = split.containers
        s.pods = split.pods
        s.kubeUnattributedJoules = split.unattributedJoules
        if guestShaped {
            s.estimate?.vcpus = 2
            s.estimate?.idleWatts = 2.5
            s.estimate?.idleEnergyJoules = 100
        }
        return s
    }

    /// Prometheus on a free loopback port scraping 127.0.0.1:`target` every second as job `vrapl`
    /// (config and data under `dir`); the caller stops it.
    static func startPrometheus(scraping target: Int, in dir: URL) throws -> (Process, Int) {
        let config = dir.appendingPathComponent("prometheus.yml"), data = dir.appendingPathComponent("data")
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: vrapl
            static_configs: [{targets: ["127.0.0.1:\(target)"]}]
        """.write(to: config, atomically: true, encoding: .utf8)
        for _ in 0..<5 {
            let port = 20_000 + Int.random(in: 0..<20_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: prometheus)
            p.arguments = ["--config.file=\(config.path)", "--storage.tsdb.path=\(data.path)", "--web.listen-address=127.0.0.1:\(port)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(500_000)
            if p.isRunning { return (p, port) }
        }
        throw VraplError("prometheus did not start on loopback")
    }

    /// One PromQL query's first value (nil without a result).
    static func query(_ port: Int, _ expression: String) throws -> Double? {
        let out = try python("""
        import json, sys, urllib.parse, urllib.request
        url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/query?" + urllib.parse.urlencode({"query": sys.argv[2]})
        r = json.loads(urllib.request.urlopen(url, timeout=2).read())
        res = r["data"]["result"] if r.get("status") == "success" else []
        print(res[0]["value"][1] if res else "none")
        """, [String(port), expression]).trimmingCharacters(in: .whitespacesAndNewlines)
        return Double(out)
    }

    @Test("the live guest under Prometheus for about 25 s: rate of its energy counter agrees with its power gauge within 5 %; node_exporter's textfile collector re-exports its file without a scrape error")
    func liveGuestCounterAndGauge() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prometheus), FileManager.default.isExecutableFile(atPath: NodeExporterTests.binary) else {
            Issue.record("prometheus or prometheus-node-exporter is missing: scripts/install-deps.sh test installs both"); return
        }
        guard CLITests.available else { Issue.record("build the guest first (swift build): \(CLITests.guest)"); return }
        let dir = try Scratch.directory()
        let model = try GuestFixtures.writeModel(try GuestFixtures.model(), in: dir)
        let textfile = dir.appendingPathComponent("textfile")
        try FileManager.default.createDirectory(at: textfile, withIntermediateDirectories: true)
        let guestPort = 20_000 + Int.random(in: 0..<20_000)
        let guest = Process()
        guest.executableURL = URL(fileURLWithPath: CLITests.guest)
        guest.arguments = ["--model", model, "--quiet", "--duration", "60s", "--listen", "127.0.0.1:\(guestPort)", "--textfile", textfile.path]
        guest.standardOutput = FileHandle.nullDevice
        guest.standardError = FileHandle.nullDevice
        try guest.run()
        defer { if guest.isRunning { guest.terminate() }; guest.waitUntilExit() }
        let (prom, port) = try Self.startPrometheus(scraping: guestPort, in: dir)
        defer { prom.terminate(); prom.waitUntilExit() }
        // About 25 s of scrapes (at most 45 s), then the 20 s rate of the counter against the gauge's
        // average. Both windows hold the same 1 s scrapes give or take one, so under the load of a
        // parallel test run (the guest estimates this machine's power) a window of 10 s could differ by
        // one busy second in ten; 20 s halves that.
        var rate: Double?, avg: Double?
        let deadline = Date().addingTimeInterval(45)
        sleep(25)
        while Date() < deadline {
            rate = try Self.query(port, #"rate(kepler_node_cpu_joules_total{zone="package"}[20s])"#)
            avg = try Self.query(port, #"avg_over_time(kepler_node_cpu_watts{zone="package"}[20s])"#)
            if rate != nil && avg != nil { break }
            sleep(1)
        }
        let r = try #require(rate, "no rate from Prometheus"), a = try #require(avg, "no average from Prometheus")
        #expect(a > 0 && abs(r - a) / a < 0.05, "rate \(r) W, average \(a) W")

        // node_exporter's textfile collector on the guest's textfile directory.
        let (node, nodePort) = try NodeExporterTests.start(["--collector.disable-defaults", "--collector.textfile",
                                                            "--collector.textfile.directory=\(textfile.path)"])
        defer { node.terminate(); node.waitUntilExit() }
        let lines = try python(promParse, ["http://127.0.0.1:\(nodePort)/metrics"]).split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("gauge node_textfile_scrape_error{} 0") }, "\(lines.filter { $0.contains("textfile") })")
        #expect(lines.contains { $0.hasPrefix("counter kepler_node_cpu_joules_total{") })
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
        let dir = try Scratch.directory()
        let (running, port) = try Self.startPrometheus(scraping: Int(server.boundPort), in: dir)
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
