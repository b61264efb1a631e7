import CHDF5
import Glibc
import VraplCore

// A thin Swift layer over the parts of the HDF5 C API the trace store needs: files, groups,
// extendible chunked 1-D datasets of numbers or variable-length UTF-8 strings, and scalar string and
// integer attributes. Every call that can fail throws a `TraceError` that names the file and object
// together with HDF5's own error text; HDF5's automatic printing of its error stack is turned off.

/// Element types stored in numeric datasets and attributes.
protocol H5Scalar {
    /// The HDF5 native (in-memory) type of this Swift type.
    static var nativeType: hid_t { get }
}

extension UInt64: H5Scalar { static var nativeType: hid_t { vrapl_H5T_NATIVE_UINT64() } }
extension Int64: H5Scalar { static var nativeType: hid_t { vrapl_H5T_NATIVE_INT64() } }
extension Float: H5Scalar { static var nativeType: hid_t { vrapl_H5T_NATIVE_FLOAT() } }
extension Double: H5Scalar { static var nativeType: hid_t { vrapl_H5T_NATIVE_DOUBLE() } }

enum HDF5 {
    /// Silences HDF5's default error printing on the calling thread (per thread in thread-safe builds).
    @inline(__always) static func prepare() { vrapl_silence_errors() }

    /// HDF5's error stack as one line: the API call's message, then the most specific cause.
    static func errorStackText() -> String {
        final class Box { var lines: [String] = [] }
        let box = Box()
        let unmanaged = Unmanaged.passRetained(box)
        defer { unmanaged.release() }
        _ = H5Ewalk2(vrapl_H5E_DEFAULT(), H5E_WALK_DOWNWARD, { _, entry, data in
            guard let entry, let data else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
            let function = entry.pointee.func_name.map { String(cString: $0) } ?? ""
            let text = entry.pointee.desc.map { String(cString: $0) } ?? ""
            // HDF5's file-driver messages carry a ctime() newline: errors stay on one line.
            let line = function.isEmpty ? text : "\(function)(): \(text)"
            box.lines.append(String(line.map { $0 == "\n" ? " " : $0 }))
            return 0
        }, unmanaged.toOpaque())
        guard let first = box.lines.first else { return "" }
        if box.lines.count == 1 { return first }
        return "\(first) (\(box.lines[box.lines.count - 1]))"
    }

    /// Whether the current error stack mentions `text` (e.g. a lock held by someone else).
    static func lastErrorMentions(_ text: String) -> Bool { errorStackText().contains(text) }

    /// Throws a `TraceError` if `status` is negative.
    @inline(__always)
    static func check(_ status: herr_t, _ what: @autoclosure () -> String, path: String, object: String) throws {
        if status < 0 { throw failure(what(), path: path, object: object) }
    }

    /// Returns `id` or throws a `TraceError` if it is negative.
    @inline(__always)
    static func check(id: hid_t, _ what: @autoclosure () -> String, path: String, object: String) throws -> hid_t {
        if id < 0 { throw failure(what(), path: path, object: object) }
        return id
    }

    static func failure(_ what: String, path: String, object: String) -> TraceError {
        let stack = errorStackText()
        return TraceError(path: path, object: object, message: stack.isEmpty ? "\(what) failed" : "\(what) failed: \(stack)")
    }

    /// A new variable-length UTF-8 string type (caller closes it with H5Tclose).
    static func makeStringType(path: String, object: String) throws -> hid_t {
        let type = try check(id: H5Tcopy(vrapl_H5T_C_S1()), "creating a string type", path: path, object: object)
        if H5Tset_size(type, vrapl_H5T_VARIABLE()) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0 {
            H5Tclose(type)
            throw failure("setting up a variable-length UTF-8 string type", path: path, object: object)
        }
        return type
    }
}

/// Something attributes can hang on: a group (the file root included) or a dataset.
class H5Object {
    let id: hid_t
    /// The file this object lives in (for error messages).
    let path: String
    /// The object's path inside the file.
    let objectPath: String

    init(id: hid_t, path: String, objectPath: String) {
        self.id = id
        self.path = path
        self.objectPath = objectPath
    }

    func childPath(_ name: String) -> String { objectPath == "/" ? "/" + name : objectPath + "/" + name }
    func attributePath(_ name: String) -> String { objectPath + "@" + name }

    // MARK: attributes

    func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

    /// Writes (or replaces) a scalar variable-length UTF-8 string attribute (h5py reads it as `str`).
    func setAttribute(_ name: String, string value: String) throws {
        let where_ = attributePath(name)
        let type = try HDF5.makeStringType(path: path, object: where_)
        defer { H5Tclose(type) }
        try withScalarAttribute(name, type: type) { attribute in
            try value.withCString { text in
                var pointer: UnsafePointer<CChar>? = text
                try HDF5.check(H5Awrite(attribute, type, &pointer), "writing the attribute", path: path, object: where_)
            }
        }
    }

    /// Writes (or replaces) a scalar 64-bit signed integer attribute.
    func setAttribute(_ name: String, int64 value: Int64) throws {
        try setNumericAttribute(name, value)
    }

    /// Writes (or replaces) a scalar 64-bit unsigned integer attribute.
    func setAttribute(_ name: String, uint64 value: UInt64) throws {
        try setNumericAttribute(name, value)
    }

    private func setNumericAttribute<T: H5Scalar>(_ name: String, _ value: T) throws {
        let where_ = attributePath(name)
        try withScalarAttribute(name, type: T.nativeType) { attribute in
            let status = withUnsafeBytes(of: value) { H5Awrite(attribute, T.nativeType, $0.baseAddress) }
            try HDF5.check(status, "writing the attribute", path: path, object: where_)
        }
    }

    private func withScalarAttribute(_ name: String, type: hid_t, _ body: (hid_t) throws -> Void) throws {
        let where_ = attributePath(name)
        if H5Aexists(id, name) > 0 {
            try HDF5.check(H5Adelete(id, name), "replacing the attribute", path: path, object: where_)
        }
        let space = try HDF5.check(id: H5Screate(H5S_SCALAR), "creating a scalar dataspace", path: path, object: where_)
        defer { H5Sclose(space) }
        let attribute = try HDF5.check(id: H5Acreate2(id, name, type, space, vrapl_H5P_DEFAULT(), vrapl_H5P_DEFAULT()),
                                       "creating the attribute", path: path, object: where_)
        defer { H5Aclose(attribute) }
        try body(attribute)
    }

    /// Reads a string attribute (variable- or fixed-length); nil when it does not exist.
    func stringAttribute(_ name: String) throws -> String? {
        guard hasAttribute(name) else { return nil }
        let where_ = attributePath(name)
        let attribute = try HDF5.check(id: H5Aopen(id, name, vrapl_H5P_DEFAULT()), "opening the attribute", path: path, object: where_)
        defer { H5Aclose(attribute) }
        let fileType = try HDF5.check(id: H5Aget_type(attribute), "reading the attribute's type", path: path, object: where_)
        defer { H5Tclose(fileType) }
        guard H5Tget_class(fileType) == H5T_STRING else {
            throw TraceError(path: path, object: where_, message: "expected a string attribute")
        }
        if H5Tis_variable_str(fileType) > 0 {
            let memoryType = try HDF5.makeStringType(path: path, object: where_)
            defer { H5Tclose(memoryType) }
            var pointer: UnsafeMutablePointer<CChar>? = nil
            try HDF5.check(H5Aread(attribute, memoryType, &pointer), "reading the attribute", path: path, object: where_)
            guard let pointer else { return "" }
            defer { H5free_memory(pointer) }
            return String(cString: pointer)
        }
        let size = H5Tget_size(fileType)
        var bytes = [UInt8](repeating: 0, count: size + 1)
        try HDF5.check(H5Aread(attribute, fileType, &bytes), "reading the attribute", path: path, object: where_)
        let end = bytes.firstIndex(of: 0) ?? size
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Reads an integer attribute as Int64 (HDF5 converts from any integer type); nil when absent.
    func int64Attribute(_ name: String) throws -> Int64? { try numericAttribute(name, Int64.self) }

    /// Reads an integer attribute as UInt64; nil when absent.
    func uint64Attribute(_ name: String) throws -> UInt64? { try numericAttribute(name, UInt64.self) }

    private func numericAttribute<T: H5Scalar & Numeric>(_ name: String, _: T.Type) throws -> T? {
        guard hasAttribute(name) else { return nil }
        let where_ = attributePath(name)
        let attribute = try HDF5.check(id: H5Aopen(id, name, vrapl_H5P_DEFAULT()), "opening the attribute", path: path, object: where_)
        defer { H5Aclose(attribute) }
        let fileType = try HDF5.check(id: H5Aget_type(attribute), "reading the attribute's type", path: path, object: where_)
        defer { H5Tclose(fileType) }
        let typeClass = H5Tget_class(fileType)
        guard typeClass == H5T_INTEGER || typeClass == H5T_FLOAT else {
            throw TraceError(path: path, object: where_, message: "expected a numeric attribute")
        }
        var value: T = 0
        let status = withUnsafeMutableBytes(of: &value) { H5Aread(attribute, T.nativeType, $0.baseAddress) }
        try HDF5.check(status, "reading the attribute", path: path, object: where_)
        return value
    }
}

/// An open HDF5 file. Closing is explicit (`close()`); `deinit` closes a file left open.
final class H5File {
    let path: String
    private(set) var id: hid_t
    let root: H5Group

    private init(id: hid_t, path: String) throws {
        self.id = id
        self.path = path
        // HDF5's sec2 driver opens without O_CLOEXEC: a child started meanwhile (stress-ng by a
        // campaign, a test's helper) would inherit the descriptor and its lock, and keep the file
        // locked after we close it. Mark it close-on-exec.
        var handle: UnsafeMutableRawPointer?
        if H5Fget_vfd_handle(id, vrapl_H5P_DEFAULT(), &handle) >= 0, let handle {
            let fd = handle.load(as: Int32.self)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
        }
        let rootID = H5Gopen2(id, "/", vrapl_H5P_DEFAULT())
        if rootID < 0 {
            let error = HDF5.failure("opening the root group", path: path, object: "/")
            H5Fclose(id)
            throw error
        }
        self.root = H5Group(id: rootID, path: path, objectPath: "/")
    }

    /// Creates (truncating) a file in HDF5's default file format, which opens as is after a crash
    /// up to the last flush.
    static func create(_ path: String) throws -> H5File {
        HDF5.prepare()
        let id = try HDF5.check(id: H5Fcreate(path, vrapl_H5F_ACC_TRUNC(), vrapl_H5P_DEFAULT(), vrapl_H5P_DEFAULT()),
                                "creating the HDF5 file", path: path, object: "")
        return try H5File(id: id, path: path)
    }

    /// Opens an existing file read-only (or read-write).
    static func open(_ path: String, writable: Bool = false) throws -> H5File {
        HDF5.prepare()
        guard TextFile.exists(path) else {
            throw TraceError(path: path, message: "no such file")
        }
        // Say why a path cannot be read before HDF5 calls it "not an HDF5 file".
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            throw TraceError(path: path, message: (info.st_mode & S_IFMT) == S_IFDIR ? "is a directory, not a trace" : "is not a regular file")
        }
        let probe = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard probe >= 0 else { throw TraceError(path: path, message: "cannot read: \(String(cString: strerror(errno)))") }
        Glibc.close(probe)
        if H5Fis_hdf5(path) <= 0 {
            throw TraceError(path: path, message: "not an HDF5 file (no HDF5 signature)")
        }
        let flags = writable ? vrapl_H5F_ACC_RDWR() : vrapl_H5F_ACC_RDONLY()
        var id = H5Fopen(path, flags, vrapl_H5P_DEFAULT())
        // A lock held for a moment is not a writer: a child process started by another thread in the
        // instant between HDF5's open() and our FD_CLOEXEC (see `init`) holds the descriptor, and its
        // lock, until it exits. Retry for up to 2 s before saying the file is being written.
        var waited = 0
        while id < 0, waited < 40, HDF5.lastErrorMentions("unable to lock file") {
            usleep(50_000)
            waited += 1
            id = H5Fopen(path, flags, vrapl_H5P_DEFAULT())
        }
        if id < 0 {
            var error = HDF5.failure("opening the HDF5 file", path: path, object: "")
            if error.message.contains("unable to lock file") {
                error.message += ". Another process (a running vrapl-collect?) has the file open for writing; "
                    + "to read it anyway as of its last flush, set HDF5_USE_FILE_LOCKING=FALSE"
            }
            throw error
        }
        return try H5File(id: id, path: path)
    }

    /// Writes every buffered change to disk (data and metadata) and asks the OS to do the same.
    func flush() throws {
        HDF5.prepare()
        try HDF5.check(H5Fflush(id, H5F_SCOPE_GLOBAL), "flushing", path: path, object: "")
    }

    /// Closes the file. Objects still open keep it open until they close (HDF5's weak close degree).
    func close() throws {
        guard id >= 0 else { return }
        root.close()
        let status = H5Fclose(id)
        id = -1
        try HDF5.check(status, "closing the file", path: path, object: "")
    }

    deinit { if id >= 0 { root.close(); H5Fclose(id) } }
}

/// A group (the root included).
final class H5Group: H5Object {
    private var open = true

    func close() {
        if open { H5Gclose(id); open = false }
    }

    deinit { close() }

    /// True when a link `name` exists directly in this group.
    func contains(_ name: String) -> Bool { H5Lexists(id, name, vrapl_H5P_DEFAULT()) > 0 }

    /// Creates a child group that remembers the order its members were created in.
    func createGroup(_ name: String) throws -> H5Group {
        let where_ = childPath(name)
        let gcpl = try HDF5.check(id: H5Pcreate(vrapl_H5P_GROUP_CREATE()), "creating group properties", path: path, object: where_)
        defer { H5Pclose(gcpl) }
        try HDF5.check(H5Pset_link_creation_order(gcpl, UInt32(H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED)),
                       "tracking creation order", path: path, object: where_)
        let gid = try HDF5.check(id: H5Gcreate2(id, name, vrapl_H5P_DEFAULT(), gcpl, vrapl_H5P_DEFAULT()),
                                 "creating the group", path: path, object: where_)
        return H5Group(id: gid, path: path, objectPath: where_)
    }

    func openGroup(_ name: String) throws -> H5Group {
        let where_ = childPath(name)
        guard contains(name) else { throw TraceError(path: path, object: where_, message: "missing group") }
        let gid = try HDF5.check(id: H5Gopen2(id, name, vrapl_H5P_DEFAULT()), "opening the group", path: path, object: where_)
        return H5Group(id: gid, path: path, objectPath: where_)
    }

    /// Names of the members, in creation order when the group tracks it, else in name order.
    func memberNames() throws -> [String] {
        var info = H5G_info_t()
        try HDF5.check(H5Gget_info(id, &info), "listing the group", path: path, object: objectPath)
        var names: [String] = []
        names.reserveCapacity(Int(info.nlinks))
        let tracked = info.nlinks == 0 || H5Lget_name_by_idx(id, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, 0, nil, 0, vrapl_H5P_DEFAULT()) >= 0
        HDF5.prepare()
        let index = tracked ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME
        for i in 0..<info.nlinks {
            let size = H5Lget_name_by_idx(id, ".", index, H5_ITER_INC, i, nil, 0, vrapl_H5P_DEFAULT())
            if size < 0 { throw HDF5.failure("reading member \(i)'s name", path: path, object: objectPath) }
            var buffer = [CChar](repeating: 0, count: Int(size) + 1)
            let got = H5Lget_name_by_idx(id, ".", index, H5_ITER_INC, i, &buffer, buffer.count, vrapl_H5P_DEFAULT())
            if got < 0 { throw HDF5.failure("reading member \(i)'s name", path: path, object: objectPath) }
            names.append(String(cString: buffer))
        }
        return names
    }

    /// Creates an empty, extendible (unlimited), chunked 1-D dataset of `T`.
    /// `deflateLevel` 1…9 adds the shuffle and deflate (gzip) filters, which every HDF5 reader has.
    func createDataset<T: H5Scalar>(_ name: String, of _: T.Type, chunkRows: Int, deflateLevel: Int? = nil) throws -> H5Dataset {
        try createDataset(name, type: T.nativeType, ownsType: false, chunkRows: chunkRows, deflateLevel: deflateLevel)
    }

    /// Creates an empty, extendible 2-D dataset of `T` with `columns` fixed columns (rows × columns,
    /// row-major, as h5py and numpy read it); appends and reads count rows.
    func createDataset<T: H5Scalar>(_ name: String, of _: T.Type, columns: Int, chunkRows: Int, deflateLevel: Int? = nil) throws -> H5Dataset {
        try createDataset(name, type: T.nativeType, ownsType: false, chunkRows: chunkRows, deflateLevel: deflateLevel, columns: max(1, columns))
    }

    /// Creates an empty, extendible, chunked 1-D dataset of variable-length UTF-8 strings.
    func createStringDataset(_ name: String, chunkRows: Int) throws -> H5Dataset {
        let type = try HDF5.makeStringType(path: path, object: childPath(name))
        do {
            return try createDataset(name, type: type, ownsType: true, chunkRows: chunkRows)
        } catch {
            H5Tclose(type)
            throw error
        }
    }

    private func createDataset(_ name: String, type: hid_t, ownsType: Bool, chunkRows: Int, deflateLevel: Int? = nil,
                               columns: Int? = nil) throws -> H5Dataset {
        let where_ = childPath(name)
        let rank: Int32 = columns == nil ? 1 : 2
        var dims: [hsize_t] = columns.map { [0, hsize_t($0)] } ?? [0]
        var maxDims: [hsize_t] = columns.map { [vrapl_H5S_UNLIMITED(), hsize_t($0)] } ?? [vrapl_H5S_UNLIMITED()]
        let space = try HDF5.check(id: H5Screate_simple(rank, &dims, &maxDims), "creating the dataspace", path: path, object: where_)
        defer { H5Sclose(space) }
        let dcpl = try HDF5.check(id: H5Pcreate(vrapl_H5P_DATASET_CREATE()), "creating dataset properties", path: path, object: where_)
        defer { H5Pclose(dcpl) }
        var chunk: [hsize_t] = columns.map { [hsize_t(max(1, chunkRows)), hsize_t($0)] } ?? [hsize_t(max(1, chunkRows))]
        try HDF5.check(H5Pset_chunk(dcpl, rank, &chunk), "setting the chunk size", path: path, object: where_)
        if let level = deflateLevel {
            guard H5Zfilter_avail(H5Z_filter_t(H5Z_FILTER_DEFLATE)) > 0 else {
                throw TraceError(path: path, object: where_, message: "this HDF5 library has no deflate filter; write without compression")
            }
            try HDF5.check(H5Pset_shuffle(dcpl), "adding the shuffle filter", path: path, object: where_)
            try HDF5.check(H5Pset_deflate(dcpl, UInt32(min(9, max(1, level)))), "adding the deflate filter", path: path, object: where_)
        }
        // 2-D datasets (per-CPU lines: many columns) keep at most two chunks in HDF5's chunk cache, not
        // its default 1 MiB each: written rows are never read back, and ten of them would otherwise hold
        // 10 MiB of a 16 MB collector (docs/PERFORMANCE.md).
        var dapl = vrapl_H5P_DEFAULT()
        if let columns {
            dapl = try HDF5.check(id: H5Pcreate(vrapl_H5P_DATASET_ACCESS()), "creating dataset access properties", path: path, object: where_)
            let chunkBytes = max(1, chunkRows) * columns * Int(H5Tget_size(type))
            try HDF5.check(H5Pset_chunk_cache(dapl, 101, 2 * chunkBytes, 1.0), "setting the chunk cache", path: path, object: where_)
        }
        defer { if columns != nil { H5Pclose(dapl) } }
        let did = try HDF5.check(id: H5Dcreate2(id, name, type, space, vrapl_H5P_DEFAULT(), dcpl, dapl),
                                 "creating the dataset", path: path, object: where_)
        let dataset = H5Dataset(id: did, path: path, objectPath: where_, memoryType: type, ownsType: ownsType, length: 0)
        dataset.columns = columns
        return dataset
    }

    /// Opens an existing 1-D dataset, or with `twoDimensional` a 2-D one (`columns` then set); the
    /// other rank is refused naming the dataset.
    func openDataset(_ name: String, twoDimensional: Bool = false) throws -> H5Dataset {
        let where_ = childPath(name)
        guard contains(name) else { throw TraceError(path: path, object: where_, message: "missing dataset") }
        let did = try HDF5.check(id: H5Dopen2(id, name, vrapl_H5P_DEFAULT()), "opening the dataset", path: path, object: where_)
        let dataset = H5Dataset(id: did, path: path, objectPath: where_, memoryType: -1, ownsType: false, length: 0)
        dataset.length = try dataset.extent()
        if (dataset.columns != nil) != twoDimensional {
            throw TraceError(path: path, object: where_, message: twoDimensional ? "expected a 2-D dataset (samples × CPUs), found a 1-D one"
                                                                                  : "expected a 1-D dataset, found a 2-D one")
        }
        return dataset
    }
}

/// A 1-D dataset, or a 2-D one of fixed `columns` (rows × columns). Appends extend it
/// (`H5Dset_extent`) by rows and write a hyperslab.
final class H5Dataset: H5Object {
    /// Columns of a 2-D dataset (nil: 1-D).
    var columns: Int?
    /// The memory type used for appends (numeric native type or an owned vlen string type).
    let memoryType: hid_t
    private let ownsType: Bool
    private var open = true
    /// Rows currently in the dataset.
    var length: Int

    init(id: hid_t, path: String, objectPath: String, memoryType: hid_t, ownsType: Bool, length: Int) {
        self.memoryType = memoryType
        self.ownsType = ownsType
        self.length = length
        super.init(id: id, path: path, objectPath: objectPath)
    }

    func close() {
        if open {
            H5Dclose(id)
            if ownsType { H5Tclose(memoryType) }
            open = false
        }
    }

    deinit { close() }

    /// The dataset's current number of rows (from the file).
    func extent() throws -> Int {
        let space = try HDF5.check(id: H5Dget_space(id), "reading the dataspace", path: path, object: objectPath)
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank == 1 || rank == 2 else {
            throw TraceError(path: path, object: objectPath, message: "expected a 1-D or 2-D dataset, found rank \(rank)")
        }
        var dims: [hsize_t] = [0, 0]
        try HDF5.check(H5Sget_simple_extent_dims(space, &dims, nil), "reading the dimensions", path: path, object: objectPath)
        columns = rank == 2 ? Int(dims[1]) : nil
        return Int(dims[0])
    }

    /// Appends `count` elements of this dataset's memory type (or `type`) from `base`. No Swift allocation.
    func append(_ base: UnsafeRawPointer, count: Int, type: hid_t? = nil) throws {
        guard count > 0 else { return }
        let rank: Int32 = columns == nil ? 1 : 2
        let width = hsize_t(columns ?? 1)
        var newSize: [hsize_t] = columns == nil ? [hsize_t(length + count)] : [hsize_t(length + count), width]
        try HDF5.check(H5Dset_extent(id, &newSize), "extending to \(length + count) rows", path: path, object: objectPath)
        let fileSpace = try HDF5.check(id: H5Dget_space(id), "reading the dataspace", path: path, object: objectPath)
        defer { H5Sclose(fileSpace) }
        var start: [hsize_t] = columns == nil ? [hsize_t(length)] : [hsize_t(length), 0]
        var rows: [hsize_t] = columns == nil ? [hsize_t(count)] : [hsize_t(count), width]
        try HDF5.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &rows, nil),
                       "selecting rows \(length)..<\(length + count)", path: path, object: objectPath)
        let memorySpace = try HDF5.check(id: H5Screate_simple(rank, &rows, nil), "creating the memory dataspace", path: path, object: objectPath)
        defer { H5Sclose(memorySpace) }
        try HDF5.check(H5Dwrite(id, type ?? memoryType, memorySpace, fileSpace, vrapl_H5P_DEFAULT(), base),
                       "writing rows \(length)..<\(length + count)", path: path, object: objectPath)
        length += count
    }

    /// Appends numbers (a 2-D dataset: whole rows, row-major).
    func append<T: H5Scalar>(_ values: UnsafeBufferPointer<T>) throws {
        guard let base = values.baseAddress, values.count > 0 else { return }
        try append(UnsafeRawPointer(base), count: values.count / (columns ?? 1), type: T.nativeType)
    }

    /// Appends strings (to a string dataset).
    func append(strings: [String]) throws {
        guard !strings.isEmpty else { return }
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        defer { for p in pointers { free(p) } }
        try pointers.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            try append(UnsafeRawPointer(base), count: strings.count)
        }
    }

    /// Reads the first `count` rows (all rows when nil), converted to `T` by HDF5; a 2-D dataset
    /// returns rows × columns values, row-major.
    func read<T: H5Scalar>(_: T.Type, count: Int? = nil) throws -> [T] {
        let total = try extent()
        let n = min(count ?? total, total)
        let width = columns ?? 1
        guard n > 0, width > 0 else { return [] }
        return try [T](unsafeUninitializedCapacity: n * width) { buffer, initialized in
            try withRowSelection(n, total: total) { memorySpace, fileSpace in
                try HDF5.check(H5Dread(id, T.nativeType, memorySpace, fileSpace, vrapl_H5P_DEFAULT(), buffer.baseAddress),
                               "reading \(n) rows", path: path, object: objectPath)
            }
            initialized = n * width
        }
    }

    /// Reads the first `count` rows (all when nil) of a string dataset.
    func readStrings(count: Int? = nil) throws -> [String] {
        let total = try extent()
        let n = min(count ?? total, total)
        guard n > 0 else { return [] }
        let type = try HDF5.makeStringType(path: path, object: objectPath)
        defer { H5Tclose(type) }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        var strings: [String] = []
        try withRowSelection(n, total: total) { memorySpace, fileSpace in
            try HDF5.check(H5Dread(id, type, memorySpace, fileSpace, vrapl_H5P_DEFAULT(), &pointers),
                           "reading \(n) strings", path: path, object: objectPath)
            strings = pointers.map { $0.map { String(cString: $0) } ?? "" }
            _ = H5Dvlen_reclaim(type, memorySpace, vrapl_H5P_DEFAULT(), &pointers)
        }
        return strings
    }

    /// Runs `body` with (memory, file) dataspaces selecting rows 0..<n.
    private func withRowSelection(_ n: Int, total: Int, _ body: (hid_t, hid_t) throws -> Void) throws {
        let rank: Int32 = columns == nil ? 1 : 2
        var rows: [hsize_t] = columns.map { [hsize_t(n), hsize_t($0)] } ?? [hsize_t(n)]
        let memorySpace = try HDF5.check(id: H5Screate_simple(rank, &rows, nil), "creating the memory dataspace", path: path, object: objectPath)
        defer { H5Sclose(memorySpace) }
        let fileSpace = try HDF5.check(id: H5Dget_space(id), "reading the dataspace", path: path, object: objectPath)
        defer { H5Sclose(fileSpace) }
        if n < total {
            var start: [hsize_t] = columns == nil ? [0] : [0, 0]
            try HDF5.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &rows, nil),
                           "selecting rows 0..<\(n)", path: path, object: objectPath)
        }
        try body(memorySpace, fileSpace)
    }
}
