import VraplCore

/// Reads a `torch.save` checkpoint (a ZIP of `<name>/data.pkl` plus one raw storage file per
/// tensor) without PyTorch and without executing pickle code: a small pickle machine that knows
/// the opcodes `torch.save` emits (protocol 2) and builds only four things by name:
/// `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and the `torch.FloatStorage` /
/// `torch.LongStorage` classes. Any other class, any other opcode, a storage the ZIP lacks, or a
/// truncated file is a one-line error naming the file.
public enum TorchCheckpoint {
    /// A value of the unpickled object tree.
    public indirect enum Value: Equatable, Sendable {
        case none, bool(Bool), int(Int), double(Double), string(String)
        case list([Value]), tuple([Value])
        /// Keys in insertion order.
        case dict([(Value, Value)])
        case tensor(Tensor)
        /// Internal: a global the pickle named, a storage reference.
        case global(String)
        case storage(dtype: String, key: String, count: Int)

        public static func == (a: Value, b: Value) -> Bool {
            switch (a, b) {
            case (.none, .none): return true
            case let (.bool(x), .bool(y)): return x == y
            case let (.int(x), .int(y)): return x == y
            case let (.double(x), .double(y)): return x == y
            case let (.string(x), .string(y)): return x == y
            case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)): return x == y
            case let (.dict(x), .dict(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            case let (.tensor(x), .tensor(y)): return x == y
            case let (.global(x), .global(y)): return x == y
            default: return false
            }
        }

        /// The value under string key `key` of a dict.
        public subscript(key: String) -> Value? {
            guard case .dict(let pairs) = self else { return nil }
            return pairs.first { $0.0 == .string(key) }?.1
        }
        public var doubleValue: Double? {
            switch self { case .double(let x): return x; case .int(let i): return Double(i); default: return nil }
        }
        public var intValue: Int? { if case .int(let i) = self { return i }; return nil }
        public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
        public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
        public var arrayValue: [Value]? {
            switch self { case .list(let v), .tuple(let v): return v; default: return nil }
        }
    }

    /// A tensor: its values (row-major, as float32 or int64) and shape.
    public struct Tensor: Equatable, Sendable {
        public var shape: [Int]
        public var floats: [Float]?
        public var int64s: [Int64]?
    }

    /// Reads and unpickles the checkpoint at `path`.
    public static func read(_ path: String) throws -> Value {
        let bytes: [UInt8]
        do { bytes = try TextFile.readRegularFile(path) } catch let error as VraplError {
            throw VraplError("\(path): cannot read checkpoint: \(error.message)")
        }
        return try parse(bytes, source: path)
    }

    /// Unpickles checkpoint bytes; `source` names the file in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> Value {
        func fail(_ reason: String) -> VraplError { VraplError("\(source): not a PyTorch checkpoint vrapl can read: \(reason)") }
        let zip = try StoredZip(bytes, fail: fail)
        guard let pickleName = zip.names.first(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) else {
            throw fail("no data.pkl in the archive (a torch.save file is a ZIP holding <name>/data.pkl)")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        var machine = Unpickler(bytes: try zip.contents(pickleName), fail: fail) { dtype, key, count in
            let name = prefix + "data/" + key
            guard zip.names.contains(name) else { throw fail("tensor storage '\(name)' is missing from the archive") }
            return (dtype, try zip.contents(name), count)
        }
        return try machine.run()
    }
}

/// The entries of a ZIP file whose members are stored uncompressed (as `torch.save` writes them).
struct StoredZip {
    let bytes: [UInt8]
    let fail: (String) -> VraplError
    /// name → (data offset, size)
    private var entries: [String: (Int, Int)] = [:]
    private(set) var names: [String] = []

    init(_ bytes: [UInt8], fail: @escaping (String) -> VraplError) throws {
        self.bytes = bytes
        self.fail = fail
        func u16(_ i: Int) throws -> Int {
            guard i >= 0, i + 2 <= bytes.count else { throw fail("truncated ZIP") }
            return Int(bytes[i]) | Int(bytes[i + 1]) << 8
        }
        func u32(_ i: Int) throws -> Int {
            guard i >= 0, i + 4 <= bytes.count else { throw fail("truncated ZIP") }
            return Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
        }
        // End of central directory: the last "PK\5\6" within the final 64 KiB + 22 bytes.
        guard bytes.count >= 22 else { throw fail("too short for a ZIP archive") }
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 65_557) {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 5, bytes[i + 3] == 6 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("no ZIP end-of-central-directory record (truncated or not a ZIP)") }
        var count = try u16(eocd + 10)
        var directory = try u32(eocd + 16)
        // ZIP64 (torch writes it for large archives): the locator sits just before the EOCD.
        if (count == 0xFFFF || directory == 0xFFFF_FFFF), eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let record = try u32(eocd - 12)
            guard try u32(record) == 0x0606_4B50 else { throw fail("bad ZIP64 end-of-central-directory record") }
            count = try u32(record + 32)
            directory = try u32(record + 48)
        }
        var p = directory
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad ZIP central directory entry at byte \(p)") }
            let method = try u16(p + 10)
            var size = try u32(p + 24)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLength <= bytes.count else { throw fail("truncated ZIP") }
            let name = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            // ZIP64 extra field: 64-bit sizes and offset.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let tag = try u16(e), length = try u16(e + 2)
                if tag == 1 {
                    var q = e + 4
                    if try u32(p + 20) == 0xFFFF_FFFF { q += 8 }  // uncompressed size first
                    if size == 0xFFFF_FFFF { size = try u32(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u32(q) }
                }
                e += 4 + length
            }
            guard method == 0 else { throw fail("ZIP member '\(name)' is compressed (method \(method)); torch.save stores members uncompressed") }
            guard try u32(local) == 0x0403_4B50 else { throw fail("bad ZIP local header for '\(name)'") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard start >= 0, size >= 0, start + size <= bytes.count else { throw fail("ZIP member '\(name)' runs past the end of the file (truncated?)") }
            entries[name] = (start, size)
            names.append(name)
            p = extraEnd + commentLength
        }
    }

    func contents(_ name: String) throws -> ArraySlice<UInt8> {
        guard let (start, size) = entries[name] else { throw fail("'\(name)' is missing from the archive") }
        return bytes[start..<(start + size)]
    }
}

/// The pickle machine (protocol 2 opcodes as `torch.save` writes them).
struct Unpickler {
    typealias Value = TorchCheckpoint.Value
    let bytes: ArraySlice<UInt8>
    let fail: (String) -> VraplError
    /// Resolves a persistent storage id to (dtype, raw bytes, element count).
    let storage: (String, String, Int) throws -> (String, ArraySlice<UInt8>, Int)
    private var index: Int
    private var stack: [Value] = []
    private var marks: [Int] = []
    private var memo: [Int: Value] = [:]

    init(bytes: ArraySlice<UInt8>, fail: @escaping (String) -> VraplError,
         storage: @escaping (String, String, Int) throws -> (String, ArraySlice<UInt8>, Int)) {
        self.bytes = bytes; self.fail = fail; self.storage = storage; index = bytes.startIndex
    }

    static let allowedGlobals: Set<String> = ["collections OrderedDict", "torch._utils _rebuild_tensor_v2",
                                              "torch FloatStorage", "torch LongStorage"]

    private mutating func byte() throws -> UInt8 {
        guard index < bytes.endIndex else { throw fail("pickle ends early (truncated)") }
        defer { index += 1 }
        return bytes[index]
    }
    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, index + n <= bytes.endIndex else { throw fail("pickle ends early (truncated)") }
        defer { index += n }
        return bytes[index..<(index + n)]
    }
    private mutating func uint(_ n: Int) throws -> Int {
        var v = 0
        for (k, b) in try take(n).enumerated() { v |= Int(b) << (8 * k) }
        return v
    }
    private mutating func line() throws -> String {
        var out: [UInt8] = []
        while true { let b = try byte(); if b == 0x0A { break }; out.append(b); if out.count > 256 { throw fail("pickle GLOBAL name too long") } }
        return String(decoding: out, as: UTF8.self)
    }
    private mutating func pop() throws -> Value {
        guard let v = stack.popLast() else { throw fail("pickle stack underflow") }
        return v
    }
    private mutating func popMark() throws -> [Value] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("pickle MARK missing") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    mutating func run() throws -> Value {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                    // PROTO
            case 0x2E: return try pop()                                  // STOP
            case 0x28: marks.append(stack.count)                         // MARK
            case 0x7D: stack.append(.dict([]))                           // EMPTY_DICT
            case 0x5D: stack.append(.list([]))                           // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                          // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))               // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                 // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))        // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x4E: stack.append(.none)                               // NONE
            case 0x88: stack.append(.bool(true))                         // NEWTRUE
            case 0x89: stack.append(.bool(false))                        // NEWFALSE
            case 0x4B: stack.append(.int(try uint(1)))                   // BININT1
            case 0x4D: stack.append(.int(try uint(2)))                   // BININT2
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x8A:                                                   // LONG1
                let n = try uint(1)
                guard n <= 8 else { throw fail("pickle integer of \(n) bytes") }
                var v = 0
                for (k, b) in try take(n).enumerated() { v |= Int(b) << (8 * k) }
                if n > 0 && n < 8, v & (1 << (8 * n - 1)) != 0 { v -= 1 << (8 * n) }
                stack.append(.int(v))
            case 0x47:                                                   // BINFLOAT (big-endian)
                var bits: UInt64 = 0
                for b in try take(8) { bits = bits << 8 | UInt64(b) }
                stack.append(.double(Double(bitPattern: bits)))
            case 0x58: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))   // BINUNICODE
            case 0x8C: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))   // SHORT_BINUNICODE
            case 0x71: memo[try uint(1)] = stack.last                    // BINPUT
            case 0x72: memo[try uint(4)] = stack.last                    // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                     // MEMOIZE
            case 0x68, 0x6A:                                             // BINGET, LONG_BINGET
                let key = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[key] else { throw fail("pickle refers to memo \(key) that was never stored") }
                stack.append(v)
            case 0x73:                                                   // SETITEM
                let v = try pop(), k = try pop()
                try setItems([(k, v)])
            case 0x75:                                                   // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw fail("pickle SETITEMS with an odd number of items") }
                try setItems(stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) })
            case 0x61: let v = try pop(); try append([v])                // APPEND
            case 0x65: try append(try popMark())                         // APPENDS
            case 0x63:                                                   // GLOBAL
                let name = try line() + " " + (try line())
                guard Unpickler.allowedGlobals.contains(name) else {
                    throw fail("the pickle names '\(name.replacingOccurrences(of: " ", with: "."))', which a checkpoint does not need (refused: vrapl never runs pickle code)")
                }
                stack.append(.global(name))
            case 0x51:                                                   // BINPERSID
                guard case .tuple(let id) = try pop(), id.count >= 5, id[0] == .string("storage"),
                      case .global(let type) = id[1], let key = id[2].stringValue, let count = id[4].intValue else {
                    throw fail("unexpected persistent id (not a torch storage)")
                }
                stack.append(.storage(dtype: type, key: key, count: count))
            case 0x52:                                                   // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try reduce(callable, arguments))
            case 0x62:                                                   // BUILD (OrderedDict state: none expected)
                _ = try pop()
            default:
                throw fail(String(cFormat: "unsupported pickle opcode 0x%02x at byte %d", Int(op), index - bytes.startIndex - 1))
            }
            if stack.count > 1_000_000 { throw fail("pickle stack too deep") }
        }
    }

    private mutating func setItems(_ items: [(Value, Value)]) throws {
        guard case .dict(var pairs) = try pop() else { throw fail("pickle SETITEM on something that is not a dict") }
        for (k, v) in items {
            if let i = pairs.firstIndex(where: { $0.0 == k }) { pairs[i].1 = v } else { pairs.append((k, v)) }
        }
        stack.append(.dict(pairs))
    }

    private mutating func append(_ items: [Value]) throws {
        guard case .list(let list) = try pop() else { throw fail("pickle APPEND on something that is not a list") }
        stack.append(.list(list + items))
    }

    private func reduce(_ callable: Value, _ arguments: Value) throws -> Value {
        guard case .global(let name) = callable, case .tuple(let args) = arguments else { throw fail("pickle REDUCE of something not allowed") }
        switch name {
        case "collections OrderedDict":
            return .dict([])
        case "torch._utils _rebuild_tensor_v2":
            guard args.count >= 4, case .storage(let type, let key, let count) = args[0], let offset = args[1].intValue,
                  let shape = args[2].arrayValue?.compactMap(\.intValue), let strides = args[3].arrayValue?.compactMap(\.intValue),
                  shape.count == args[2].arrayValue?.count, strides.count == shape.count else {
                throw fail("malformed tensor (_rebuild_tensor_v2 arguments)")
            }
            guard shape.count <= 8, shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 28 }), strides.allSatisfy({ $0 >= 0 && $0 <= 1 << 40 }),
                  offset >= 0, count >= 0, count <= 1 << 40 else { throw fail("tensor shape \(shape) or strides \(strides) out of range") }
            let (dtype, raw, _) = try storage(type, key, count)
            let elementSize = dtype == "torch FloatStorage" ? 4 : 8
            guard raw.count >= count * elementSize else { throw fail("storage '\(key)' holds \(raw.count) bytes, less than \(count) elements") }
            // Row-major, possibly offset or strided views: gather element by element.
            var total = 1
            for dimension in shape {
                let (product, overflow) = total.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= count else { throw fail("tensor of shape \(shape) is larger than its storage '\(key)' (\(count) elements)") }
                total = product
            }
            var index = [Int](repeating: 0, count: shape.count)
            var floats: [Float] = [], ints: [Int64] = []
            for _ in 0..<total {
                var element = offset
                for (i, s) in zip(index, strides) {
                    let (step, o1) = i.multipliedReportingOverflow(by: s)
                    let (sum, o2) = element.addingReportingOverflow(step)
                    guard !o1, !o2 else { throw fail("tensor view reaches outside storage '\(key)'") }
                    element = sum
                }
                guard element >= 0, element < count else { throw fail("tensor view reaches outside storage '\(key)'") }
                let at = raw.startIndex + element * elementSize
                if elementSize == 4 {
                    let bits = UInt32(raw[at]) | UInt32(raw[at + 1]) << 8 | UInt32(raw[at + 2]) << 16 | UInt32(raw[at + 3]) << 24
                    floats.append(Float(bitPattern: bits))
                } else {
                    var bits: UInt64 = 0
                    for k in (0..<8).reversed() { bits = bits << 8 | UInt64(raw[at + k]) }
                    ints.append(Int64(bitPattern: bits))
                }
                var d = shape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
            }
            return .tensor(TorchCheckpoint.Tensor(shape: shape, floats: elementSize == 4 ? floats : nil, int64s: elementSize == 8 ? ints : nil))
        default:
            throw fail("pickle calls '\(name)', which a checkpoint does not need")
        }
    }
}
