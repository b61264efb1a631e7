import Foundation
import Testing
@testable import VraplNN

/// A minimal safetensors reader for the test fixture (float32 tensors only; the model-file module has the
/// real one).
struct TinySafetensors {
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    var metadata: [String: String] = [:]

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count >= 8 else { throw VraplTestError("\(path): too short") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= data.count,
              let header = try JSONSerialization.jsonObject(with: data[(data.startIndex + 8)..<(data.startIndex + headerEnd)]) as? [String: Any]
        else { throw VraplTestError("\(path): bad header") }
        for (name, value) in header {
            if name == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let entry = value as? [String: Any], entry["dtype"] as? String == "F32",
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw VraplTestError("\(path): unsupported tensor \(name)") }
            let start = data.startIndex + headerEnd + offsets[0], end = data.startIndex + headerEnd + offsets[1]
            guard end <= data.endIndex, (end - start) % 4 == 0 else { throw VraplTestError("\(path): bad offsets for \(name)") }
            var values = [Float](repeating: 0, count: (end - start) / 4)
            values.withUnsafeMutableBytes { _ = data.copyBytes(to: $0, from: start..<end) }
            tensors[name] = (shape, values)
        }
    }

    func values(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw VraplTestError("fixture has no tensor \(name)") }
        return t.values
    }
}

struct VraplTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// The whole training step against PyTorch (Tests/Reference/make_reference.py): outputs, loss, every gradient,
/// parameters and running statistics after 1 and 10 AdamW steps.
@Suite("NN against PyTorch")
struct PyTorchReferenceTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/nn/reference_v41_small.safetensors").path

    /// Largest |a − b| / max(|b|, floor), floor = 1e-2·max|b| of the tensor (a relative measure that does not
    /// blow up on entries that are zero up to rounding).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(b.map { abs($0) }.max() ?? 0, 1e-6)
        var worst: Float = 0
        for i in a.indices { worst = max(worst, abs(a[i] - b[i]) / max(abs(b[i]), 1e-2 * scale)) }
        return worst
    }

    /// Conv biases followed by BatchNorm: their true gradient is exactly 0, both sides hold rounding noise, which
    /// AdamW turns into steps of up to ±lr. They (and the running means they shift) are compared in absolute terms.
    static let noiseBiases: Set<String> = ["encoder.cnn.0.bias", "encoder.cnn.3.bias"]

    @Test("Outputs, loss, gradients, and parameters after 1 and 10 AdamW steps match PyTorch to 1e-4")
    func trainingStep() throws {
        let ref = try TinySafetensors(path: Self.fixture)
        let archJSON = try #require(ref.metadata["architecture"])
        let architecture = try JSONDecoder().decode(Architecture.self, from: Data(archJSON.utf8))
        let x = try ref.values("input"), target = try ref.values("target")
        let batch = target.count
        let net = try Network(architecture: architecture, maxBatch: batch, threads: 1, seed: 0)
        for t in net.tensors { try net.setValues(of: t.name, to: ref.values("init/" + t.name)) }

        var report: [(String, Float)] = []
        func check(_ name: String, _ ours: [Float], _ theirs: [Float], tolerance: Float = 1e-4) {
            let e = Self.relativeError(ours, theirs)
            report.append((name, e))
            #expect(e <= tolerance, "\(name): relative error \(e)")
        }

        // Forward (train mode) and losses.
        let out = net.forward(inputs: x, training: true)
        check("output", out, try ref.values("output"))
        check("latent", (0..<batch).flatMap { Array(net.latent(row: $0)) }, try ref.values("latent"))
        for (kind, name) in [(LossKind.mse, "loss_mse"), (.l1, "loss_l1"), (.huber(delta: 1), "loss_huber")] {
            let loss = lossForwardBackward(kind: kind, dPrediction: nil, prediction: out, target: target, count: batch,
                                           totalCount: batch) / Double(batch)
            check(name, [Float(loss)], try ref.values(name))
        }

        // Gradients of the MSE loss.
        net.zeroGradients()
        var dOut = [Float](repeating: 0, count: batch)
        _ = lossForwardBackward(kind: .mse, dPrediction: &dOut, prediction: out, target: target, count: batch, totalCount: batch)
        // Re-run forward so the running statistics are updated exactly once, as in PyTorch's first step.
        for t in net.tensors where !t.isFloat || t.name.contains("running") { try net.setValues(of: t.name, to: ref.values("init/" + t.name)) }
        net.forward(inputs: x, training: true)
        net.backward(outputGradient: dOut)
        for t in net.tensors {
            guard case .parameter(let offset) = t.storage, !Self.noiseBiases.contains(t.name) else { continue }
            let g = Array(UnsafeBufferPointer(start: net.gradients.pointer + offset, count: t.count))
            check("grad/" + t.name, g, try ref.values("grad/" + t.name))
        }

        // AdamW: start again from the initial state and take 10 steps on the batch.
        for t in net.tensors { try net.setValues(of: t.name, to: ref.values("init/" + t.name)) }
        var optimizer = AdamW(parameterCount: net.parameterCount, learningRate: 5e-4, weightDecay: 3e-4)
        var losses: [Float] = []
        for step in 1...10 {
            losses.append(Float(net.trainStep(inputs: x, targets: target, loss: .mse, optimizer: &optimizer)))
            guard step == 1 || step == 10 else { continue }
            for t in net.tensors {
                let ours = try net.values(of: t.name), theirs = try ref.values("step\(step)/" + t.name)
                if Self.noiseBiases.contains(t.name) || t.name.hasSuffix("running_mean") {
                    let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? 0
                    report.append(("step\(step)/\(t.name) (absolute)", worst))
                    // Each side moves by at most lr per step in either direction (plus decay), the running means follow.
                    #expect(worst <= 2 * Float(step) * 5e-4 * 1.01, "\(t.name) after \(step) steps: \(worst)")
                } else {
                    check("step\(step)/" + t.name, ours, theirs)
                }
            }
        }
        check("losses", losses, try ref.values("losses"))
        // Eval mode (running statistics) on PyTorch's own state after the 10 steps, so that the noise biases above
        // do not enter.
        for t in net.tensors { try net.setValues(of: t.name, to: ref.values("step10/" + t.name)) }
        let evalOut = net.forward(inputs: x, training: false)
        check("eval_output", evalOut, try ref.values("eval_output"))
        check("predict(window:)", (0..<batch).map { i in net.predict(window: Array(x[(i * net.inputSize)..<((i + 1) * net.inputSize)])) },
              try ref.values("eval_output"))
        let relative = report.filter { !$0.0.hasSuffix("(absolute)") }
        let worst = relative.max { $0.1 < $1.1 }
        print("PyTorch reference: \(relative.count) relative comparisons, largest relative difference \(worst?.1 ?? 0) (\(worst?.0 ?? ""))")
        for (name, e) in relative.sorted(by: { $0.1 > $1.1 }).prefix(4) { print("  \(name): \(e)") }
        for (name, e) in report where name.hasSuffix("(absolute)") && name.hasPrefix("step10") { print("  \(name): \(e)") }
    }
}
