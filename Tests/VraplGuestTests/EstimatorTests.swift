import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplDataset
import VraplModel
import VraplNN
import VraplTrace
@testable import VraplGuest

@Suite("Guest window and estimator")
struct EstimatorTests {
    @Test("ring window is feature-major, newest first, τ apart", arguments: [(3, 1), (4, 2), (2, 3)])
    func ringOrder(_ d: Int, _ tau: Int) {
        let ring = WindowRing(featureCount: 2, d: d, tau: tau)
        let total = ring.capacity + 5
        for t in 0..<total { ring.push([Float(t), Float(1000 + t)]) }
        var window = [Float](repeating: -1, count: 2 * d)
        window.withUnsafeMutableBufferPointer { ring.makeRawWindow(into: $0.baseAddress!) }
        let newest = total - 1
        let expected = (0..<2).flatMap { f in (0..<d).map { j in Float(f * 1000 + newest - j * tau) } }
        #expect(window == expected)
    }

    @Test("an oldest-first ring (DECODE-RAPL's training layout) reverses each feature block", arguments: [(3, 1), (4, 2)])
    func ringOldestFirst(_ d: Int, _ tau: Int) {
        let newest = WindowRing(featureCount: 2, d: d, tau: tau), oldest = WindowRing(featureCount: 2, d: d, tau: tau, order: .oldestFirst)
        for t in 0..<(newest.capacity + 3) { newest.push([Float(t), Float(1000 + t)]); oldest.push([Float(t), Float(1000 + t)]) }
        var a = [Float](repeating: -1, count: 2 * d), b = a
        a.withUnsafeMutableBufferPointer { newest.makeRawWindow(into: $0.baseAddress!) }
        b.withUnsafeMutableBufferPointer { oldest.makeRawWindow(into: $0.baseAddress!) }
        var reversed: [Float] = []
        for f in 0..<2 { reversed += a[(f * d)..<((f + 1) * d)].reversed() }
        #expect(b == reversed)
        // The same layout as the training path's window builder with that order.
        #expect(DelayEmbedding(d: d, tau: tau, order: .oldestFirst).slot(lag: 0) == d - 1)
    }

    /// The training path, written independently: features of the whole trace (FeatureSeries), windows
    /// ending at every valid sample, scaled with MinMaxScaler, predicted with the network.
    static func trainingPathPredictions(model: ModelFile, trace: TraceData) throws -> [(Int, Float)] {
        let series = try FeatureSeries(trace: trace, featureSet: .decodeRapl4)
        let network = try model.makeNetwork()
        let d = model.embedding.d, tau = model.embedding.tau
        let scaler = MinMaxScaler(featureMin: model.normalization.featureMin.map { Float($0) },
                                  featureRange: model.normalization.featureRange.map { Float($0) })
        var out: [(Int, Float)] = []
        for end in (series.firstValid + (d - 1) * tau)..<series.count {
            var window = [Float](repeating: 0, count: 4 * d)
            for f in 0..<4 { for j in 0..<d { window[f * d + j] = series.value(feature: f, at: end - j * tau) } }
            out.append((end, network.predict(window: scaler.transform(window))))
        }
        return out
    }

    @Test("replay gives exactly the training path's predictions, from the first full window on", arguments: [1, 2])
    func equalsTrainingPath(tau: Int) throws {
        let model = try GuestFixtures.model(d: 6, tau: tau)
        let trace = GuestFixtures.trace(samples: 80, gapAt: 40)
        let expected = try Self.trainingPathPredictions(model: model, trace: trace)
        let estimator = try GuestEstimator(model: model, predictor: try model.makeNetwork())
        let source = TraceDataSource(trace: trace, name: "synthetic")
        var got: [(Int, Float)] = []
        for t in 0..<source.count {
            if let e = estimator.process(source.sample(t), wallClockUnix: source.wallClockUnix(t)), e.isNewPrediction {
                got.append((e.index, Float(e.predictedWatts)))
            }
        }
        #expect(got.map(\.0) == expected.map(\.0))
        #expect(got.first?.0 == 1 + 5 * tau)
        #expect(got.map(\.1) == expected.map(\.1))
        #expect(estimator.warmupSamples == 1 + 5 * tau + 1)
    }

    /// The batched mode (issue: the guest at the sampling floor): 60 s of 16 ms samples, with a late
    /// tick, through both modes, flushing once a second as the live loop does, predicting every
    /// sample and every 4th, with and without the sliding forward (which only applies when every
    /// sample is predicted). The same estimates come out, in the same order, and the energy counter
    /// agrees to 1e-6 relative.
    @Test("batched prediction gives the per-tick mode's estimates and energy", arguments: [(1, false), (4, false), (1, true), (4, true)])
    func batchedEqualsPerTick(predictEvery: Int, sharesSlidingWindows: Bool) throws {
        let model = try GuestFixtures.model(d: 25, architecture: .cnnV41())
        let trace = GuestFixtures.trace(samples: 3750, gapAt: 1000)
        let source = TraceDataSource(trace: trace, name: "synthetic")
        let perTick = try GuestEstimator(model: model, predictor: try model.makeNetwork(), predictEvery: predictEvery)
        let capacity = 64
        let network = try model.makeNetwork(maxBatch: 16)  // chunks of 16
        network.sharesSlidingWindows = sharesSlidingWindows  // as the runner does
        let batched = try GuestEstimator(model: model, predictor: network, predictEvery: predictEvery,
                                         batch: GuestEstimator.Batch(predictor: network, capacity: capacity))
        var a: [GuestEstimate] = [], b: [GuestEstimate] = []
        var flushes = 0
        for t in 0..<source.count {
            if let e = perTick.process(source.sample(t), wallClockUnix: source.wallClockUnix(t)) { a.append(e) }
            batched.process(source.sample(t), wallClockUnix: source.wallClockUnix(t)) { e, _ in b.append(e) }
            #expect(batched.pendingSampleCount <= capacity)
            if t % 62 == 61 { batched.flush { e, _ in b.append(e) }; flushes += 1 }
        }
        batched.flush { e, _ in b.append(e) }
        #expect(flushes == 60)
        // Windows of consecutive samples slide: nearly every chunk takes the sliding forward.
        if sharesSlidingWindows && predictEvery == 1 { #expect(network.slidingPasses > 200) } else { #expect(network.slidingPasses == 0) }
        #expect(a.count == b.count && a.count == 3750 - 25)
        #expect(a.map(\.index) == b.map(\.index))
        #expect(a.map(\.isNewPrediction) == b.map(\.isNewPrediction))
        #expect(a.last?.predictionCount == b.last?.predictionCount)
        var worst = 0.0
        for (x, y) in zip(a, b) { worst = max(worst, abs(x.predictedWatts - y.predictedWatts)) }
        #expect(worst <= 1e-4, "largest prediction difference \(worst) W")
        let ea = perTick.energyJoules, eb = batched.energyJoules
        #expect(ea > 0 && abs(ea - eb) <= 1e-6 * ea, "energy \(ea) J per tick vs \(eb) J batched")
        #expect(zip(a, b).allSatisfy { abs(($0.trust ?? 0) - ($1.trust ?? 0)) <= 1e-3 })
    }

    @Test("an empty batch is refused at start")
    func emptyBatch() throws {
        let model = try GuestFixtures.model(d: 8)
        let network = try model.makeNetwork(maxBatch: 4)
        #expect(throws: VraplError.self) {
            _ = try GuestEstimator(model: model, predictor: network, batch: GuestEstimator.Batch(predictor: network, capacity: 0))
        }
    }

    @Test("energy integrates the held power over the real Δt; a missed tick stretches the interval")
    func energyIntegration() throws {
        let model = try GuestFixtures.model(d: 4)
        let predictor = ConstantPredictor(inputSize: 16, watts: 10)
        let estimator = try GuestEstimator(model: model, predictor: predictor, predictEvery: 3)
        let trace = GuestFixtures.trace(samples: 60, gapAt: 30)
        let source = TraceDataSource(trace: trace, name: "synthetic")
        var firstPredictionIndex: Int?
        var lastEnergy = 0.0
        for t in 0..<source.count {
            guard let e = estimator.process(source.sample(t), wallClockUnix: 0) else { continue }
            if firstPredictionIndex == nil { firstPredictionIndex = t }
            #expect(e.energyJoules >= lastEnergy)
            lastEnergy = e.energyJoules
        }
        let first = try #require(firstPredictionIndex)
        #expect(first == 4)  // sample 0 has no row; rows 1…4 fill d = 4
        // 10 W over every interval ending at a sample from the first prediction on.
        let seconds = Double(trace.monotonicNs[59] - trace.monotonicNs[first - 1]) / 1e9
        #expect(abs(lastEnergy - 10 * seconds) < 1e-9)
        #expect(seconds > 57 * 0.016)  // includes the 48 ms gap
        // predict-every 3: 1 + floor((rows after the first) / 3) predictions.
        #expect(predictor.calls == 1 + (59 - first) / 3)
    }

    @Test("steal: the share of this VM's CPU time its host ran something else, over the busy stretch, in the estimate, JSONL and /metrics")
    func stealPercent() throws {
        let model = try GuestFixtures.model(d: 4)
        let estimator = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: 16, watts: 10))
        // 2 vCPUs at USER_HZ 100 over 16 ms: 3.2 ticks an interval; a quarter of them stolen, half busy, a quarter idle.
        var last: GuestEstimate?
        for t in 0..<200 {
            var stat = ProcStatSnapshot()
            let ticks = UInt64(Double(t) * 3.2)
            stat.cpu.steal = ticks / 4; stat.cpu.user = ticks / 2; stat.cpu.idle = ticks - ticks / 4 - ticks / 2
            if let e = estimator.process(RawSample(monotonicNs: UInt64(t) * 16_000_000, stat: stat, vcpus: 2), wallClockUnix: 0) { last = e }
        }
        let e = try #require(last)
        #expect(abs(e.stealPercent - 25) < 1.5 && abs(e.busyPercent - 75) < 1.5, "steal \(e.stealPercent), busy \(e.busyPercent)")
        #expect(JSONLWriter.line(e, calibration: nil).contains("\"steal_cpu_percent\":25") || JSONLWriter.line(e, calibration: nil).contains("\"steal_cpu_percent\":2"))
    }

    @Test("model and guest must agree: unknown features and input size are refused at start")
    func disagreement() throws {
        var model = try GuestFixtures.model(d: 4)
        model.features = ["user_percent", "system_percent", "iowait_percent", "gpu_temperature"]
        let message = errorMessage { _ = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: 16, watts: 1)) }
        #expect(message?.contains("not computed by any feature set") == true, "\(message ?? "accepted")")
        let good = try GuestFixtures.model(d: 4)
        let size = errorMessage { _ = try GuestEstimator(model: good, predictor: ConstantPredictor(inputSize: 15, watts: 1)) }
        #expect(size?.contains("15 inputs") == true)
    }

    @Test("trust: in-range windows are trusted, an impossible value is flagged and counted")
    func trust() throws {
        let model = try GuestFixtures.model(d: 4)
        let estimator = try GuestEstimator(model: model, predictor: ConstantPredictor(inputSize: 16, watts: 5))
        var stat = ProcStatSnapshot()
        var t: UInt64 = 0
        var last: GuestEstimate?
        // 30 % user, 10 % system, ~e^9 context switches/s: inside the training quantiles.
        for _ in 0..<10 {
            stat.cpu.user += 3; stat.cpu.system += 1; stat.cpu.idle += 6
            stat.contextSwitches += 130  // 130 / 0.016 s ≈ 8125/s → log1p ≈ 9.0
            t += 16_000_000
            last = estimator.process(RawSample(monotonicNs: t, stat: stat), wallClockUnix: 0) ?? last
        }
        let calm = try #require(last)
        #expect(calm.trust == 1)
        #expect(!calm.isOutOfDistribution)
        // iowait 100 %: far above anything in training (max 60).
        stat.cpu.iowait += 10
        stat.contextSwitches += 130
        t += 16_000_000
        let odd = try #require(estimator.process(RawSample(monotonicNs: t, stat: stat), wallClockUnix: 0))
        #expect(odd.isOutOfDistribution)
        #expect((odd.trust ?? 1) < 0.5)
        #expect(odd.outOfDistributionCount == 1)
        #expect(odd.trustLimitedBy == "iowait_percent")
    }
}
