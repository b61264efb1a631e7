import COpenBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin Swift wrappers around the few OpenBLAS calls the engine uses. Row-major throughout.
public enum BLAS {
    /// Sets OpenBLAS's own worker-thread count (the engine itself usually runs OpenBLAS with one
    /// thread and splits the batch across its own threads instead: see `Network`).
    /// OpenBLAS's kernel set in use (e.g. `Haswell`, `SkylakeX`).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Picks OpenBLAS's AVX-512 (SkylakeX) kernels when the CPU has AVX-512 F/BW/DQ/VL but OpenBLAS chose an
    /// AVX2 kernel set by itself (OpenBLAS 0.3.21 takes AMD Zen 4/5 for Haswell: about half the sgemm speed).
    /// Runs once, before the engine's first sgemm. An `OPENBLAS_CORETYPE` in the environment is respected
    /// (use `useKernels(_:)` to override it explicitly), as is `VRAPL_OPENBLAS_AUTO=0`;
    /// `VRAPL_OPENBLAS_CORETYPE=NAME` (e.g. `SkylakeX`) asks for a kernel set even then.
    public static let kernelSelection: String = {
        let before = coreName
        noteKernels()
        if let wanted = getenv("VRAPL_OPENBLAS_CORETYPE") {
            _ = useKernels(String(cString: wanted))
            return coreName
        }
        if getenv("OPENBLAS_CORETYPE") != nil { return before }
        if let auto = getenv("VRAPL_OPENBLAS_AUTO"), String(cString: auto) == "0" { return before }
        guard before == "Haswell" || before == "Zen", cpuHasAVX512() else { return before }
        _ = useKernels("SkylakeX")
        noteKernels()
        return coreName
    }()

    /// Runs the automatic kernel selection (once) and returns the kernel set's name.
    @discardableResult
    @inline(never)
    public static func prepare() -> String { kernelSelection }

    /// Switches OpenBLAS to the named kernel set (an `OPENBLAS_CORETYPE` value such as `SkylakeX`, `Haswell`),
    /// keeping it only if OpenBLAS accepts the name and a check product is right. Call it while no BLAS call
    /// is running. Returns true on success.
    @discardableResult
    public static func useKernels(_ name: String) -> Bool {
        let before = coreName
        func select(_ core: String) {
            let saved = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
            setenv("OPENBLAS_CORETYPE", core, 1)
            gotoblas_dynamic_quit()
            gotoblas_dynamic_init()
            if let saved { setenv("OPENBLAS_CORETYPE", saved, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        }
        defer { noteKernels() }
        select(name)
        if coreName.lowercased() == name.lowercased() && sgemmCheck() { return true }
        select(before)
        return false
    }

    /// True when /proc/cpuinfo lists avx512f, avx512bw, avx512dq and avx512vl.
    static func cpuHasAVX512() -> Bool {
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            guard let line else { break }
            let text = String(cString: line)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init))
            return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        }
        return false
    }

    /// A 37×53×29 product against a plain loop.
    static func sgemmCheck() -> Bool {
        let (m, n, k) = (37, 53, 29)
        let a = (0..<(m * k)).map { Float(($0 * 7) % 11) * 0.25 - 1 }
        let b = (0..<(k * n)).map { Float(($0 * 5) % 13) * 0.125 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n),
                    0, &c, Int32(n))
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for q in 0..<k { s += a[i * k + q] * b[q * n + j] }
                if abs(s - c[i * n + j]) > 1e-4 * max(1, abs(s)) { return false }
            }
        }
        return true
    }

    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, row-major, `lda/ldb/ldc` the row strides.
    @inline(__always)
    public static func sgemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension BLAS {
    /// True when OpenBLAS's kernel set has its small-matrix sgemm path (SkylakeX, Cooperlake), which beats
    /// sgemv for one-window products; otherwise `linearForward` uses sgemv for a batch of one.
    nonisolated(unsafe) public internal(set) static var hasSmallMatrixKernels = false

    static func noteKernels() {
        let name = coreName
        hasSmallMatrixKernels = name == "SkylakeX" || name == "Cooperlake"
    }

    /// y[m] = alpha · A[m×n] · x[n] + beta · y (row-major A, no transpose).
    @inline(__always)
    public static func sgemv(m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        if m == 0 { return }
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}

/// A fixed-size, 64-byte aligned buffer of `Float`s owned by a class (no copy-on-write, no
/// exclusivity checks in hot loops). Zero-initialised.
///
/// The memory comes from `calloc`, so large buffers are fresh zero pages from the kernel that cost
/// no resident memory until written: an inference-only network (the guest) never touches its
/// gradient and backward buffers, and they stay out of its RSS.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    private let allocation: UnsafeMutableRawPointer

    public init(count: Int) {
        self.count = count
        let bytes = max(1, count) * MemoryLayout<Float>.stride
        guard let raw = calloc(bytes + 64, 1) else { fatalError("FloatBuffer: out of memory allocating \(bytes) bytes") }
        allocation = raw
        let aligned = (Int(bitPattern: raw) + 63) & ~63
        pointer = UnsafeMutableRawPointer(bitPattern: aligned)!.bindMemory(to: Float.self, capacity: max(1, count))
    }

    deinit { free(allocation) }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public var array: [Float] { Array(buffer) }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}
