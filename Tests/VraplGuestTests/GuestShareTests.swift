import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplDataset
import VraplModel
import VraplNN
import VraplTrace
@testable import VraplGuest

/// A guest-shaped model (guest-share-5 features, host of 20 threads, P_idle 25 W, k 1…8).
func guestShapedModel(d: Int = 4, vcpus: ClosedRange<Int> = 1...8) throws -> ModelFile {
    var arch = Architecture.cnnV41(numFeatures: 5, sequenceLength: d)
    arch.cnnChannels = [8, 8]
    arch.latentDim = 8
    arch.powerHeadLayers = [16, 8]
    let network = try Network(architecture: arch, maxBatch: 1, seed: 3)
    try network.setValues(of: "power_head.network.\(3 * arch.powerHeadLayers.count).bias", to: [6])
    let ranges: [Double] = [100, 100, 100, 15, 1]
    var model = ModelFile(architecture: arch, features: FeatureSet.guestShare5.featureNames,
                          embedding: Embedding(d: d, tau: 1, sampleIntervalMs: 16),
                          normalization: Normalization(featureMin: Array(repeating: 0, count: 5 * d),
                                                       featureRange: ranges.flatMap { Array(repeating: $0, count: d) }),
                          target: "guest_share_watts", powerSource: .simulated(profile: "test"), name: "guest-shaped",
                          tensors: try ModelFile.tensors(from: network))
    model.guestShape = GuestShape(host: HostShape(threads: 20, cpuModel: "test host", idleWatts: 25), vcpus: vcpus, rule: .idleByAllocation)
    return model
}

/// A raw sample of a `vcpus`-CPU guest at tick `i` (half busy).
func guestSample(_ i: Int, vcpus: Int) -> RawSample {
    var stat = ProcStatSnapshot()
    let ticks = UInt64(i) * UInt64(vcpus) * 16 / 10
    stat.cpu.user = ticks / 2
    stat.cpu.idle = ticks - ticks / 2
    stat.contextSwitches = UInt64(i) * 50
    return RawSample(monotonicNs: 1_000_000_000 + UInt64(i) * 16_000_000, stat: stat, vcpus: vcpus)
}

@Suite("Guest: a VM's share of its host", .serialized)
struct GuestShareTests {
    @Test("the window carries k/T; the estimate splits into P_idle·k/T and the rest; active-only charges no idle")
    func splitAndRule() throws {
        let model = try guestShapedModel()
        let predictor = ConstantPredictor(inputSize: model.inputSize, watts: 7)
        let e = try GuestEstimator(model: model, predictor: predictor)
        var last: GuestEstimate?
        for i in 0..<40 { last = e.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? last }
        let est = try #require(last)
        #expect(est.vcpus == 2 && est.idleWatts == 2.5 && est.activeWatts == 4.5 && est.watts == 7)
        // vcpu_share is the last feature block of the raw window: k/T = 0.1 at every lag.
        #expect(predictor.lastWindow.suffix(4).allSatisfy { abs($0 - 0.1) < 1e-6 })
        #expect(abs((est.activeEnergyJoules ?? 0) + est.idleEnergyJoules - est.energyJoules) < 1e-9)

        let activeOnly = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7), shareRule: .activeOnly)
        var a: GuestEstimate?
        for i in 0..<40 { a = activeOnly.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? a }
        #expect(a?.idleWatts == 0 && a?.watts == 4.5 && a?.activeWatts == 4.5)

        // A model that undershoots its idle part is reported at the idle part (the share cannot be lower).
        let low = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 1))
        var l: GuestEstimate?
        for i in 0..<40 { l = low.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? l }
        #expect(l?.watts == 2.5 && l?.activeWatts == 0 && l?.predictedWatts == 1)
    }

    @Test("an interval in the model gives every estimate its bounds (moved by the rule, floored), in JSONL and the terminal line")
    func interval() throws {
        var model = try guestShapedModel()
        model.interval = PredictionInterval(nominal: 0.8, method: "test", edges: [], low: [-1.5], high: [2], calibrationWindows: 100)
        let e = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7), shareRule: .activeOnly)
        var last: GuestEstimate?
        for i in 0..<40 { last = e.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? last }
        let est = try #require(last)
        // active-only moves the estimate by −2.5 W: [7 − 1.5, 7 + 2] − 2.5.
        #expect(est.interval == PowerInterval(low: 3, high: 6.5) && est.watts == 4.5)
        // Energy bounds integrate the bounds over the same intervals as the energy (all at 16 ms here).
        let b = try #require(est.energyBoundsJoules)
        #expect(abs(b.low / est.energyJoules - 3 / 4.5) < 1e-9 && abs(b.high / est.energyJoules - 6.5 / 4.5) < 1e-9)
        let line = JSONLWriter.line(est, calibration: nil)
        #expect(line.contains("\"low_watts\":3.0000,\"high_watts\":6.5000"))
        var identity = ModelIdentity(model: model, featureSet: "guest-share-5")
        identity.hash = "x"
        #expect(TerminalLine.render(GuestSnapshot(model: identity, estimate: est)).contains("4.50 W [3.0–6.5]"))
        var none = est
        none.interval = nil
        #expect(TerminalLine.render(GuestSnapshot(model: identity, estimate: none)).contains("[interval n/a]"))
    }

    @Test("a normalized interval: the guest widens each estimate by the local spread of its own window, as computed from the same feature rows")
    func normalizedInterval() throws {
        var model = try guestShapedModel()
        // A reference set over the five features whose power spreads with the user share.
        var rng = SplitMix64(seed: 2)
        let means: [[Float]] = (0..<400).map { _ in
            [Float(rng.next() % 100), 0, 0, Float(rng.next() % 1000) / 100, 0.1]
        }
        let reference = try #require(LocalSpread(means: means, targets: means.map { $0[0] / 25 * (1 + Float(rng.next() % 100) / 100) }, k: 20))
        model.interval = PredictionInterval(nominal: 0.8, method: PredictionInterval.normalizedMethod, edges: [], low: [-0.5], high: [0.75],
                                            calibrationWindows: 100)
        model.interval?.local = reference
        model.interval?.epsilonWatts = 0.5
        try model.interval?.validate()
        let e = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7))
        var extractor = FeatureExtractor(featureSet: .guestShare5, hostThreads: 20)
        var rows: [[Float]] = []
        var last: GuestEstimate?
        for i in 0..<40 {
            let sample = guestSample(i, vcpus: 2)
            last = e.process(sample, wallClockUnix: Double(i)) ?? last
            if let row = extractor.push(sample) { rows.append(row) }
        }
        let est = try #require(last)
        let d = model.embedding.d
        let window = rows.suffix(d)
        let m = (0..<5).map { f in window.reduce(Float(0)) { $0 + $1[f] } / Float(d) }
        let a = reference.makeIndex().spread(means: m)
        let shift = est.watts - 7  // the rule's offset, applied to the bounds like the estimate
        let interval = try #require(est.interval)
        #expect(abs(interval.low - (7 - 0.5 * (a + 0.5) + shift)) < 1e-6 && abs(interval.high - (7 + 0.75 * (a + 0.5) + shift)) < 1e-6,
                "\(interval) vs spread \(a)")
    }

    @Test("hotplug: a changed vCPU count restarts the window, is counted, and loses no energy")
    func hotplug() throws {
        let model = try guestShapedModel()
        let e = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7))
        var estimates: [GuestEstimate] = []
        for i in 0..<60 {
            e.process(guestSample(i, vcpus: i < 30 ? 2 : 4), wallClockUnix: Double(i)) { est, _ in estimates.append(est) }
        }
        #expect(e.vcpuChangeCount == 1)
        // The held estimate covers the refill: every interval from the first prediction is integrated.
        let first = try #require(estimates.first)
        let covered = Double(estimates.last!.monotonicNs - first.monotonicNs) / 1e9
        let expectedJoules = estimates.dropFirst().reduce(0.0) { $0 + $1.watts * 0.016 }
        #expect(abs(estimates.last!.energyJoules - first.energyJoules - expectedJoules) < 1e-9 && covered > 0.8)
        // New predictions resume after the window refills (d + 1 samples), at k = 4.
        let after = estimates.filter { $0.index >= 30 && $0.isNewPrediction }
        #expect(after.first?.index == 30 + 4 && after.first?.vcpus == 4 && after.first?.idleWatts == 5)
    }

    @Test("a guest outside the trained k range is flagged out of distribution; larger than the host is refused")
    func sizeChecks() throws {
        let model = try guestShapedModel(vcpus: 1...8)
        let e = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7))
        var last: GuestEstimate?
        for i in 0..<20 { last = e.process(guestSample(i, vcpus: 12), wallClockUnix: Double(i)) ?? last }
        #expect(last?.isOutOfDistribution == true && last?.trustLimitedBy == "vcpu_share")

        var warnings: [String] = []
        #expect(try GuestRunner.checkGuestSize(model: model, onlineCPUs: 2, path: "stat", warn: { warnings.append($0) }) == 2)
        #expect(warnings.isEmpty)
        let big = errorMessage { _ = try GuestRunner.checkGuestSize(model: model, onlineCPUs: 32, path: "stat", warn: { _ in }) }
        #expect(big?.contains("32 vCPUs") == true && big?.contains("20 threads") == true)
        #expect(try GuestRunner.checkGuestSize(model: model, onlineCPUs: 12, path: "stat", warn: { warnings.append($0) }) == 12)
        #expect(warnings.last?.contains("outside the k = 1…8") == true)
        // No per-CPU lines: the whole-host view, said once.
        #expect(try GuestRunner.checkGuestSize(model: model, onlineCPUs: 0, path: "/x/stat", warn: { warnings.append($0) }) == 20)
        #expect(warnings.last?.contains("/x/stat has no per-CPU lines") == true)
        // A whole-host model says what it assumes.
        #expect(try GuestRunner.checkGuestSize(model: try GuestFixtures.model(d: 4), onlineCPUs: 2, path: "stat", warn: { warnings.append($0) }) == 0)
        #expect(warnings.last?.contains("whole-host model") == true)
    }

    @Test("a model with busy time from cpu.stat reads the root's cpu.stat; where there is none the guest falls back to /proc/stat ticks and says so once")
    func busyTimeSourceOfTheGuest() throws {
        let cgroupfs = GuestFixtures.fixtures.appendingPathComponent("cgroupfs").path
        let usec = FeatureSet.guestShare5.withBusySource(.cgroupCPUStat)
        var warnings: [String] = []
        let reader = GuestRunner.openCPUUsage(featureSet: usec, cgroupfs: cgroupfs + "/t1", warn: { warnings.append($0) })
        #expect(try reader?.read() == CPUUsage(userUsec: 3_800_000, systemUsec: 2_450_000) && warnings.isEmpty)
        #expect(GuestRunner.openCPUUsage(featureSet: usec, cgroupfs: cgroupfs + "/broken", warn: { warnings.append($0) }) == nil)
        #expect(warnings.count == 1 && warnings[0].contains("broken/cpu.stat") && warnings[0].contains("falling back to /proc/stat ticks"), "\(warnings)")
        // A tick model reads nothing more.
        #expect(GuestRunner.openCPUUsage(featureSet: .guestShare5, cgroupfs: cgroupfs + "/t1", warn: { warnings.append($0) }) == nil && warnings.count == 1)
        // The estimator computes the model's features from the samples' µs (the same extractor as training).
        var model = try guestShapedModel()
        model.busySource = .cgroupCPUStat
        let estimator = try GuestEstimator(model: model, predictor: try model.makeNetwork(maxBatch: 1))
        #expect(estimator.featureSet.needsCPUUsage)
    }

    @Test("host metadata missing, negative or inconsistent: the model is refused at load with one line")
    func badHostMetadata() throws {
        let good = try guestShapedModel()
        var meta = try good.metadata()
        #expect(try ModelFile.parse(try SafetensorsFile(tensors: good.tensors, metadata: meta).serialized(), source: "m").guestShape == good.guestShape)
        let cases: [(String, (inout [String: String]) -> Void)] = [
            ("host metadata (guest_shape) is missing", { $0["guest_shape"] = nil }),
            ("idle_watts -3", { $0["guest_shape"] = $0["guest_shape"]!.replacingOccurrences(of: "\"idle_watts\":25", with: "\"idle_watts\":-3") }),
            ("vcpus 1…40", { $0["guest_shape"] = $0["guest_shape"]!.replacingOccurrences(of: "\"vcpus_max\":8", with: "\"vcpus_max\":40") }),
        ]
        for (fragment, edit) in cases {
            meta = try good.metadata()
            edit(&meta)
            let message = errorMessage { _ = try ModelFile.parse(try SafetensorsFile(tensors: good.tensors, metadata: meta).serialized(), source: "m.safetensors") }
            #expect(message?.hasPrefix("m.safetensors: invalid model:") == true && message?.contains(fragment) == true, "\(message ?? "accepted")")
            #expect(message?.contains("\n") == false)
        }
    }

    @Test("/metrics of a guest-shaped model: Kepler's active and idle families and host_view, parsed by prometheus_client")
    func metrics() throws {
        let model = try guestShapedModel()
        let e = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: model.inputSize, watts: 7))
        var last: GuestEstimate?
        for i in 0..<40 { last = e.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? last }
        var identity = ModelIdentity(model: model, featureSet: "guest-share-5")
        identity.hash = "0123456789ab"
        let dir = try Scratch.directory()
        let file = dir.appendingPathComponent("m.prom")
        try PrometheusText.render(GuestSnapshot(model: identity, estimate: last)).write(to: file, atomically: true, encoding: .utf8)
        let lines = Set(try python(promParse, [file.path]).split(separator: "\n").map(String.init))
        #expect(lines.contains("gauge kepler_node_cpu_watts{path=vrapl-guest,zone=package} 7"))
        #expect(lines.contains("gauge kepler_node_cpu_idle_watts{path=vrapl-guest,zone=package} 2.5"))
        #expect(lines.contains("gauge kepler_node_cpu_active_watts{path=vrapl-guest,zone=package} 4.5"))
        #expect(lines.contains("gauge vrapl_guest_vcpus{} 2"))
        #expect(lines.contains { $0.hasPrefix("counter kepler_node_cpu_active_joules_total{path=vrapl-guest,zone=package} ") })
        #expect(lines.contains { $0.hasPrefix("counter kepler_node_cpu_idle_joules_total{path=vrapl-guest,zone=package} ") })
        #expect(lines.contains { $0.contains("vrapl_model_info{") && $0.contains("host_threads=20") && $0.contains("host_view=guest-share") })
    }
}

@Suite("Shipped models")
struct ShippedModelTests {
    static let models = GuestFixtures.packageRoot.appendingPathComponent("models")

    @Test("the shipped guest-shaped model: 20-thread host, k 1…20, simulated, and its card says so")
    func guestShaped() throws {
        let url = Self.models.appendingPathComponent("sim-xeon-silver-4210r-guest-v41.safetensors")
        let model = try ModelFile.load(contentsOf: url)
        let shape = try #require(model.guestShape)
        #expect(shape.host.threads == 20 && shape.vcpus == 1...20 && shape.rule == .idleByAllocation)
        #expect(abs(shape.host.idleWatts - 24.571) < 1e-6)
        #expect(model.powerSource.isSimulated && model.target == "guest_share_watts" && model.features.last == "vcpu_share")
        let card = try String(contentsOf: url.deletingPathExtension().appendingPathExtension("md"), encoding: .utf8)
        #expect(card.contains("SIMULATED POWER") && card.contains("guest-shaped") && card.contains("T = 20 threads"))
        // It runs in the guest: a 2-vCPU guest gets at least its idle part, P_idle·2/20.
        let e = try GuestEstimator(model: model, predictor: try model.makeNetwork(maxBatch: 1))
        var last: GuestEstimate?
        for i in 0..<60 { last = e.process(guestSample(i, vcpus: 2), wallClockUnix: Double(i)) ?? last }
        let est = try #require(last)
        #expect(est.watts.isFinite && est.watts >= 24.571 * 2 / 20 - 1e-9 && est.watts < 100)
    }

    @Test("the shipped whole-host model has no host metadata")
    func wholeHost() throws {
        let model = try ModelFile.load(contentsOf: Self.models.appendingPathComponent("sim-xeon-silver-4210r-v41.safetensors"))
        #expect(model.guestShape == nil && model.target == "package_power_watts")
    }
}
