// Small vectorised helpers (explicit SIMD: Swift does not reorder floating-point reductions itself).

public enum Kernels {
    /// Σ x[i], i < n.
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 32 <= n {
            acc0 += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            acc1 += raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
            i += 32
        }
        var total = (acc0 + acc1).sum()
        while i < n { total += x[i]; i += 1 }
        return total
    }

    /// Σ x[i]·y[i], i < n.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        while i + 32 <= n {
            acc0 += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                * ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
            acc1 += rx.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
                * ry.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
            i += 32
        }
        var total = (acc0 + acc1).sum()
        while i < n { total += x[i] * y[i]; i += 1 }
        return total
    }

    /// Σ (x[i] − m)², i < n.
    @inline(__always)
    public static func sumSquaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, from m: Float) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        let mv = SIMD16<Float>(repeating: m)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i + 32 <= n {
            let a = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv
            let b = raw.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self) - mv
            acc0 += a * a; acc1 += b * b
            i += 32
        }
        var total = (acc0 + acc1).sum()
        while i < n { let d = x[i] - m; total += d * d; i += 1 }
        return total
    }
}
