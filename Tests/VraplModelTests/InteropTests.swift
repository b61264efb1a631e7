import Foundation
import Testing
import VraplTestSupport
import VraplCore
import VraplNN
@testable import VraplModel

/// Interoperability with the Python `safetensors` package (numpy flavour; CI has numpy + safetensors).
@Suite("Safetensors interop with Python")
struct InteropTests {
    @Test("a model written by vrapl loads in safetensors.numpy with the right names, shapes, values and metadata")
    func pythonReadsOurs() throws {
        let model = try TestModels.model(.cnnV41(), features: ["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"])
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("ours.safetensors")
        try model.write(to: url)
        let script = """
        import json, sys
        from safetensors import safe_open
        from safetensors.numpy import load_file
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], framework="np") as f:
            meta = f.metadata()
        print(json.dumps({"tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype), "sum": float(v.astype("float64").sum())} for k, v in t.items()},
                          "meta": meta}))
        """
        let output = try python(script, [url.path])
        let json = try JSONValue.parse(output.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let tensors = json["tensors"]?.objectValue else { Issue.record("no tensors in \(output)"); return }
        #expect(Set(tensors.map(\.0)) == Set(model.tensors.keys))
        for (name, info) in tensors {
            guard let ours = model.tensors[name] else { continue }
            #expect(info["shape"]?.arrayValue?.compactMap(\.nonNegativeInteger) == ours.shape, "\(name)")
            #expect(info["dtype"]?.stringValue == (ours.dtype == .f32 ? "float32" : "int64"), "\(name)")
            let expectedSum: Double
            switch ours.values {
            case .float32(let v): expectedSum = v.reduce(0.0) { $0 + Double($1) }
            case .int64(let v): expectedSum = v.reduce(0.0) { $0 + Double($1) }
            }
            let sum = info["sum"]?.doubleValue ?? .nan
            #expect(abs(sum - expectedSum) <= 1e-9 * max(1, abs(expectedSum)), "\(name): \(sum) vs \(expectedSum)")
        }
        #expect(json["meta"]?["format"]?.stringValue == "vrapl-model")
        #expect(json["meta"]?["format_version"]?.stringValue == "1")
        #expect(json["meta"]?["power_source"]?.stringValue == "sim:test")
        let arch = json["meta"]?["architecture"]?.stringValue ?? ""
        #expect(try JSONDecoder().decode(Architecture.self, from: Data(arch.utf8)) == .cnnV41())
    }

    @Test("a model written by Python (safetensors.numpy.save_file with metadata) loads in vrapl")
    func weReadPythons() throws {
        let arch = Architecture.cnnV41()
        let layout = try ParameterLayout.expected(for: arch)
        let dir = try Scratch.directory()
        let url = dir.appendingPathComponent("python.safetensors")
        let layoutJSON = JSONValue.array(layout.map { .object([("name", .string($0.name)), ("shape", .array($0.shape.map { JSONValue.int($0) })), ("dtype", .string($0.dtype.rawValue))]) }).text
        let archJSON = String(decoding: try JSONEncoder().encode(arch), as: UTF8.self)
        let script = """
        import json, sys
        import numpy as np
        from safetensors.numpy import save_file
        layout = json.loads(sys.argv[2])
        tensors = {}
        for i, e in enumerate(layout):
            n = int(np.prod(e["shape"])) if e["shape"] else 1
            if e["dtype"] == "I64":
                tensors[e["name"]] = np.array(7, dtype=np.int64).reshape(e["shape"])
            else:
                tensors[e["name"]] = ((np.arange(n, dtype=np.float32) % 17) * 0.01 + i).reshape(e["shape"])
        meta = {"format": "vrapl-model", "format_version": "1", "architecture": sys.argv[3],
                "features": json.dumps(["user_percent", "system_percent", "iowait_percent", "log_ctx_switches"]),
                "embedding": json.dumps({"d": 25, "tau": 1, "sample_interval_ms": 16}),
                "normalization": json.dumps({"type": "minmax", "feature_min": [0.0] * 100, "feature_range": [100.0] * 100}),
                "target": "package_power_watts", "power_source": "rapl", "provenance": json.dumps({"converted_from": "decode-rapl"}),
                "some_future_key": "ignored"}
        save_file(tensors, sys.argv[1], metadata=meta)
        """
        _ = try python(script, [url.path, layoutJSON, archJSON])
        let model = try ModelFile.load(contentsOf: url)
        #expect(model.architecture == arch)
        #expect(model.powerSource == .rapl)
        #expect(model.extraMetadata["some_future_key"] == "ignored")
        for (i, entry) in layout.enumerated() {
            let tensor = model.tensors[entry.name]
            #expect(tensor?.shape == entry.shape)
            if entry.dtype == .i64 {
                #expect(tensor?.values == .int64([7]))
            } else if let values = tensor?.floats {
                let expected = (0..<values.count).map { Float($0 % 17) * 0.01 + Float(i) }
                #expect(values == expected, "\(entry.name)")
            }
        }
    }
}
