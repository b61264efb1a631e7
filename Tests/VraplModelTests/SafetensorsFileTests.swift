import Foundation
import Testing
import VraplTestSupport
import VraplCore
@testable import VraplModel

/// Builds raw safetensors bytes from a header text and a data buffer (no validation).
func rawSafetensors(header: String, data: [UInt8], lengthOverride: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = lengthOverride ?? UInt64(h.count)
    var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    out += h
    out += data
    return out
}

@Suite("Safetensors file")
struct SafetensorsFileTests {
    @Test("round trip of F32 and I64 tensors and metadata")
    func roundTrip() throws {
        let file = SafetensorsFile(tensors: [
            "a.weight": SafetensorsTensor(shape: [2, 3], floats: [1, -2, 3.5, 0, 1e-7, -0]),
            "b.num_batches_tracked": SafetensorsTensor(shape: [], int64s: [42]),
            "empty": SafetensorsTensor(shape: [0, 4], floats: []),
        ], metadata: ["format": "x", "quote\"key": "line\nbreak ü"])
        let bytes = try file.serialized()
        #expect((bytes.count - 8) % 1 == 0)
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(headerLength % 8 == 0)
        let back = try SafetensorsFile.parse(bytes, source: "mem")
        #expect(back == file)
    }

    @Test("hand-written file: exact little-endian layout")
    func exactLayout() throws {
        // 1.0f = 00 00 80 3F, -2.0f = 00 00 00 C0; int64 7.
        let header = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"__metadata__":{"k":"v"}}"#
        let data: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 7, 0, 0, 0, 0, 0, 0, 0]
        let file = try SafetensorsFile.parse(rawSafetensors(header: header, data: data), source: "hand")
        #expect(file.tensors["x"]?.floats == [1, -2])
        #expect(file.tensors["n"]?.values == .int64([7]))
        #expect(file.metadata == ["k": "v"])
    }

    static let good = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    static let eight: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0]

    /// (bytes, substring the error must contain)
    static let corruptions: [(String, [UInt8], String)] = [
        ("empty file", [], "truncated"),
        ("7 bytes", [1, 0, 0, 0, 0, 0, 0], "truncated"),
        ("header beyond file", rawSafetensors(header: good, data: eight, lengthOverride: 1000), "runs past the end"),
        ("huge header length", rawSafetensors(header: good, data: eight, lengthOverride: UInt64.max), "exceeds"),
        ("data truncated", Array(rawSafetensors(header: good, data: eight).dropLast(3)), "run past"),
        ("trailing bytes", rawSafetensors(header: good, data: eight + [1, 2, 3, 4]), "cover"),
        ("shape × dtype mismatch", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight), "needs 12 bytes"),
        ("overlap", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "overlap"),
        ("gap", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "gap"),
        ("backwards offsets", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight), "backwards"),
        ("F16 rejected", rawSafetensors(header: #"{"x":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#, data: eight), "unsupported dtype F16"),
        ("float shape", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}"#, data: eight), "non-negative integer"),
        ("negative shape", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight), "non-negative integer"),
        ("not JSON", rawSafetensors(header: "{nope", data: eight), "header JSON"),
        ("not an object", rawSafetensors(header: "[1]", data: []), "does not start"),
        ("non-UTF-8 header", rawSafetensors(header: "", data: [0x7B, 0xFF, 0xFE, 0x7D], lengthOverride: 4), "UTF-8"),
        ("NaN weight", rawSafetensors(header: good, data: [0, 0, 0xC0, 0x7F, 0, 0, 0, 0]), "non-finite"),
        ("Inf weight", rawSafetensors(header: good, data: [0, 0, 0x80, 0x7F, 0, 0, 0, 0]), "non-finite"),
        ("metadata not strings", rawSafetensors(header: #"{"__metadata__":{"a":1}}"#, data: []), "not a string"),
        ("duplicate tensor", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), "duplicate"),
        ("missing offsets", rawSafetensors(header: #"{"x":{"dtype":"F32","shape":[2]}}"#, data: eight), "data_offsets"),
    ]

    @Test("corrupt files give one-line errors naming the file", arguments: corruptions.indices)
    func corruptFile(_ index: Int) {
        let (label, bytes, expected) = Self.corruptions[index]
        let message = errorMessage { _ = try SafetensorsFile.parse(bytes, source: "/models/bad.safetensors") }
        #expect(message != nil, "\(label) was accepted")
        if let message {
            #expect(message.hasPrefix("/models/bad.safetensors: "), "\(label): \(message)")
            #expect(message.contains(expected), "\(label): \(message)")
            #expect(!message.contains("\n"), "\(label): multi-line error")
        }
    }

    @Test("non-finite values are accepted only on request")
    func allowNonFinite() throws {
        let bytes = rawSafetensors(header: Self.good, data: [0, 0, 0xC0, 0x7F, 0, 0, 0, 0])
        let file = try SafetensorsFile.parse(bytes, source: "nan", allowNonFinite: true)
        #expect(file.tensors["x"]?.floats?.first?.isNaN == true)
    }

    @Test("reading a missing file names it")
    func missingFile() {
        let message = errorMessage { _ = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: "/nonexistent/m.safetensors")) }
        #expect(message?.hasPrefix("/nonexistent/m.safetensors: cannot read") == true)
    }

    @Test("SHA-256 matches the FIPS test vectors")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("JSON reader: strings, escapes, numbers, nesting limit")
    func jsonReader() throws {
        let v = try JSONValue.parse(#"{"a":"x\u00fc\ud83d\ude00\n","b":[1,-2.5e3,true,null],"c":{}}"#)
        #expect(v["a"]?.stringValue == "xü😀\n")
        #expect(v["b"]?.arrayValue?.count == 4)
        #expect(v["b"]?.arrayValue?[0].nonNegativeInteger == 1)
        #expect(v["b"]?.arrayValue?[1].doubleValue == -2500)
        #expect(try JSONValue.parse(v.text) == v)
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: (any Error).self) { try JSONValue.parse(deep) }
        #expect(throws: (any Error).self) { try JSONValue.parse("01") }
        #expect(throws: (any Error).self) { try JSONValue.parse(#""\ud800""#) }
    }
}
