import Foundation
import VraplCore

/// Element types we read and write. Model weights are F32; BatchNorm's `num_batches_tracked` is I64.
/// Anything else (F16, BF16, F64, I32, BOOL, …) is rejected with a clear error.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case i64 = "I64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: return 4
        case .i64: return 8
        }
    }
}

/// One tensor: element type, shape and the values (row-major, C order, as PyTorch stores them).
public struct SafetensorsTensor: Equatable, Sendable {
    public enum Values: Equatable, Sendable {
        case float32([Float])
        case int64([Int64])
    }

    public var shape: [Int]
    public var values: Values

    public var dtype: SafetensorsDType {
        switch values {
        case .float32: return .f32
        case .int64: return .i64
        }
    }

    /// Number of elements (product of the shape; 1 for a scalar of shape []).
    public var elementCount: Int { shape.reduce(1, *) }

    /// The float values, or nil for an integer tensor.
    public var floats: [Float]? { if case .float32(let v) = values { return v } else { return nil } }

    public init(shape: [Int], floats: [Float]) {
        self.shape = shape
        self.values = .float32(floats)
    }

    public init(shape: [Int], int64s: [Int64]) {
        self.shape = shape
        self.values = .int64(int64s)
    }
}

/// A safetensors file: `u64` little-endian header length N, N bytes of UTF-8 JSON header
/// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}`),
/// then the byte buffer, offsets relative to its start. Tensors are little-endian and must tile the
/// buffer exactly (no holes, no overlap), as the reference implementation requires.
public struct SafetensorsFile: Equatable, Sendable {
    /// Largest header we accept (the reference implementation's limit).
    public static let maxHeaderBytes = 100_000_000

    public var tensors: [String: SafetensorsTensor]
    public var metadata: [String: String]

    public init(tensors: [String: SafetensorsTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: Reading

    /// Reads and validates a file. Errors are one line that starts with the path.
    /// - Parameter allowNonFinite: accept NaN/±Inf in F32 tensors (default: reject, naming the tensor).
    public static func read(contentsOf url: URL, allowNonFinite: Bool = false) throws -> SafetensorsFile {
        let bytes: [UInt8]
        do {
            bytes = try TextFile.readRegularFile(url.path)
        } catch let error as VraplError {
            throw VraplError("\(url.path): cannot read safetensors file: \(error.message)")
        }
        return try parse(bytes, source: url.path, allowNonFinite: allowNonFinite)
    }

    /// Parses and validates bytes. `source` names the file in errors.
    public static func parse(_ bytes: [UInt8], source: String, allowNonFinite: Bool = false) throws -> SafetensorsFile {
        func fail(_ reason: String) -> VraplError { VraplError("\(source): invalid safetensors file: \(reason)") }

        guard bytes.count >= 8 else { throw fail("truncated: \(bytes.count) bytes, need at least 8 for the header length") }
        var headerLength64: UInt64 = 0
        for i in 0..<8 { headerLength64 |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength64 <= UInt64(maxHeaderBytes) else {
            throw fail("header length \(headerLength64) exceeds the \(maxHeaderBytes)-byte limit")
        }
        let headerLength = Int(headerLength64)
        guard headerLength >= 2 else { throw fail("header length \(headerLength) is too small for a JSON object") }
        guard 8 + headerLength <= bytes.count else {
            throw fail("truncated: header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let headerBytes = Array(bytes[8..<(8 + headerLength)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        guard headerBytes.first == UInt8(ascii: "{") else { throw fail("header does not start with '{'") }
        let header: JSONValue
        do {
            header = try JSONValue.parse(bytes: headerBytes)
        } catch {
            throw fail("header JSON: \(error)")
        }
        guard let members = header.objectValue else { throw fail("header is not a JSON object") }

        let bufferStart = 8 + headerLength
        let bufferLength = bytes.count - bufferStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []
        var seen = Set<String>()

        for (name, value) in members {
            guard seen.insert(name).inserted else { throw fail("duplicate key '\(name)'") }
            if name == "__metadata__" {
                if case .null = value { continue }
                guard let pairs = value.objectValue else { throw fail("__metadata__ is not an object of strings") }
                for (key, v) in pairs {
                    guard let s = v.stringValue else { throw fail("__metadata__['\(key)'] is not a string") }
                    metadata[key] = s
                }
                continue
            }
            guard value.objectValue != nil else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dtypeText = value["dtype"]?.stringValue else { throw fail("tensor '\(name)': missing dtype") }
            guard let dtype = SafetensorsDType(rawValue: dtypeText) else {
                throw fail("tensor '\(name)': unsupported dtype \(dtypeText) (only F32 and I64 are accepted)")
            }
            guard let shapeArray = value["shape"]?.arrayValue else { throw fail("tensor '\(name)': missing shape") }
            var shape: [Int] = []
            var count = 1
            for dim in shapeArray {
                guard let n = dim.nonNegativeInteger else { throw fail("tensor '\(name)': shape entry is not a non-negative integer") }
                let (product, overflow) = count.multipliedReportingOverflow(by: n)
                guard !overflow, product <= bytes.count else { throw fail("tensor '\(name)': shape \(shapeArray.map { $0.text }) is too large for the file") }
                count = product
                shape.append(n)
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].nonNegativeInteger, let end = offsets[1].nonNegativeInteger else {
                throw fail("tensor '\(name)': data_offsets must be two non-negative integers")
            }
            guard begin <= end else { throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] run backwards") }
            guard end <= bufferLength else {
                throw fail("tensor '\(name)': data_offsets [\(begin), \(end)] run past the \(bufferLength)-byte data buffer (file truncated?)")
            }
            let expected = count * dtype.byteSize
            guard end - begin == expected else {
                throw fail("tensor '\(name)': shape \(shape) × \(dtype.rawValue) needs \(expected) bytes but data_offsets cover \(end - begin)")
            }
            entries.append((name, dtype, shape, begin, end))
        }

        // The tensors must tile the buffer: sorted by offset, each starts where the previous ended.
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        for entry in sorted {
            if entry.begin < cursor { throw fail("tensor '\(entry.name)': data_offsets [\(entry.begin), \(entry.end)] overlap another tensor") }
            if entry.begin > cursor { throw fail("tensor '\(entry.name)': gap before data_offsets [\(entry.begin), \(entry.end)]") }
            cursor = entry.end
        }
        guard cursor == bufferLength else {
            throw fail("data buffer is \(bufferLength) bytes but the tensors cover \(cursor)")
        }

        var tensors: [String: SafetensorsTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            let start = bufferStart + entry.begin
            let count = (entry.end - entry.begin) / entry.dtype.byteSize
            switch entry.dtype {
            case .f32:
                var values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBytes { dst in
                    bytes.withUnsafeBytes { src in
                        for i in 0..<count {
                            let bits = src.loadUnaligned(fromByteOffset: start + 4 * i, as: UInt32.self)
                            dst.storeBytes(of: UInt32(littleEndian: bits), toByteOffset: 4 * i, as: UInt32.self)
                        }
                    }
                }
                if !allowNonFinite, let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw fail("tensor '\(entry.name)' has a non-finite value (\(values[bad])) at element \(bad)")
                }
                tensors[entry.name] = SafetensorsTensor(shape: entry.shape, floats: values)
            case .i64:
                var values = [Int64](repeating: 0, count: count)
                bytes.withUnsafeBytes { src in
                    for i in 0..<count {
                        values[i] = Int64(littleEndian: src.loadUnaligned(fromByteOffset: start + 8 * i, as: Int64.self))
                    }
                }
                tensors[entry.name] = SafetensorsTensor(shape: entry.shape, int64s: values)
            }
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    // MARK: Writing

    /// The file's bytes: `__metadata__` first, then tensors in name order, header padded with spaces to
    /// a multiple of 8 bytes (as the reference writer does), data little-endian.
    public func serialized() throws -> [UInt8] {
        var members: [(String, JSONValue)] = []
        if !metadata.isEmpty {
            members.append(("__metadata__", .object(metadata.keys.sorted().map { ($0, .string(metadata[$0] ?? "")) })))
        }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            guard let tensor = tensors[name] else { continue }
            guard name != "__metadata__" else { throw VraplError("tensor name '__metadata__' is reserved") }
            guard tensor.shape.allSatisfy({ $0 >= 0 }) else { throw VraplError("tensor '\(name)': negative dimension in shape \(tensor.shape)") }
            let count: Int
            switch tensor.values {
            case .float32(let v): count = v.count
            case .int64(let v): count = v.count
            }
            guard count == tensor.elementCount else {
                throw VraplError("tensor '\(name)': shape \(tensor.shape) needs \(tensor.elementCount) values, has \(count)")
            }
            let size = count * tensor.dtype.byteSize
            members.append((name, .object([
                ("dtype", .string(tensor.dtype.rawValue)),
                ("shape", .array(tensor.shape.map { JSONValue.int($0) })),
                ("data_offsets", .array([.int(offset), .int(offset + size)])),
            ])))
            offset += size
        }
        var header = Array(JSONValue.object(members).text.utf8)
        while header.count % 8 != 0 { header.append(0x20) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        let n = UInt64(header.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        out.append(contentsOf: header)
        for name in names {
            guard let tensor = tensors[name] else { continue }
            switch tensor.values {
            case .float32(let v):
                for x in v {
                    let bits = x.bitPattern.littleEndian
                    withUnsafeBytes(of: bits) { out.append(contentsOf: $0) }
                }
            case .int64(let v):
                for x in v {
                    withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
                }
            }
        }
        return out
    }

    /// Writes the file atomically (temporary file in the same directory, then rename).
    public func write(to url: URL) throws {
        let bytes = try serialized()
        do {
            try Data(bytes).write(to: url, options: .atomic)
        } catch {
            throw VraplError("\(url.path): cannot write safetensors file: \(Self.reason(error))")
        }
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? CocoaError, let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError,
           underlying.domain == NSPOSIXErrorDomain, let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue))
        }
        if let e = error as? CocoaError {
            switch e.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            default: break
            }
        }
        return "\(error.localizedDescription)".replacingOccurrences(of: "\n", with: " ")
    }
}
