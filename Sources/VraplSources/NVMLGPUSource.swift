#if canImport(Glibc)
import Glibc
#endif
import VraplCore

/// NVIDIA's management library loaded at run time with `dlopen("libnvidia-ml.so.1")`: there is no
/// link-time dependency, so `vrapl` starts on machines without a GPU driver. Reads power (mW),
/// total energy (mJ, Volta+), device utilisation and per-process SM utilisation.
public final class NVMLGPUSource: GPUSource {
    public let sourceLabel = "nvml"
    private let handle: UnsafeMutableRawPointer
    private let library: String
    private var devices: [UnsafeMutableRawPointer?] = []
    private var names: [String] = []
    private var lastSeen: [UInt64]

    typealias InitFn = @convention(c) () -> Int32
    typealias CountFn = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    typealias HandleFn = @convention(c) (UInt32, UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> Int32
    typealias NameFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<CChar>, UInt32) -> Int32
    typealias UInt32Fn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt32>) -> Int32
    typealias UInt64Fn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt64>) -> Int32
    typealias RawFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer) -> Int32
    typealias ProcUtilFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt32>, UInt64) -> Int32
    typealias ErrorStringFn = @convention(c) (Int32) -> UnsafePointer<CChar>?

    private let getPower: UInt32Fn?
    private let getEnergy: UInt64Fn?
    private let getUtilization: RawFn?
    private let getProcessUtilization: ProcUtilFn?
    private let errorString: ErrorStringFn?

    /// NVML status codes used here.
    static let success: Int32 = 0, notSupported: Int32 = 3, notFound: Int32 = 6, insufficientSize: Int32 = 7

    /// Loads the library and enumerates devices. Throws (never crashes) when the library, a required
    /// symbol or the driver is missing.
    public init(library: String = "libnvidia-ml.so.1") throws {
        guard let h = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw VraplError("NVML \(library): cannot load: \(reason)")
        }
        handle = h
        self.library = library
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            guard let p = dlsym(h, name) else { return nil }
            return unsafeBitCast(p, to: type)
        }
        errorString = symbol("nvmlErrorString", ErrorStringFn.self)
        guard let initFn = symbol("nvmlInit_v2", InitFn.self) ?? symbol("nvmlInit", InitFn.self),
              let countFn = symbol("nvmlDeviceGetCount_v2", CountFn.self) ?? symbol("nvmlDeviceGetCount", CountFn.self),
              let handleFn = symbol("nvmlDeviceGetHandleByIndex_v2", HandleFn.self) ?? symbol("nvmlDeviceGetHandleByIndex", HandleFn.self)
        else {
            dlclose(h)
            throw VraplError("NVML \(library): required symbols (nvmlInit_v2, nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2) missing")
        }
        getPower = symbol("nvmlDeviceGetPowerUsage", UInt32Fn.self)
        getEnergy = symbol("nvmlDeviceGetTotalEnergyConsumption", UInt64Fn.self)
        getUtilization = symbol("nvmlDeviceGetUtilizationRates", RawFn.self)
        getProcessUtilization = symbol("nvmlDeviceGetProcessUtilization", ProcUtilFn.self)
        let nameFn = symbol("nvmlDeviceGetName", NameFn.self)
        let errorStringFn = errorString
        func fail(_ call: String, _ code: Int32) -> VraplError {
            let text = errorStringFn?(code).map { String(cString: $0) } ?? "error \(code)"
            return VraplError("NVML \(library): \(call) failed: \(text)")
        }
        let rc = initFn()
        guard rc == Self.success else { dlclose(h); throw fail("nvmlInit", rc) }
        var count: UInt32 = 0
        let crc = countFn(&count)
        guard crc == Self.success else { dlclose(h); throw fail("nvmlDeviceGetCount", crc) }
        for i in 0..<count {
            var device: UnsafeMutableRawPointer?
            let hrc = handleFn(i, &device)
            guard hrc == Self.success else { dlclose(h); throw fail("nvmlDeviceGetHandleByIndex(\(i))", hrc) }
            devices.append(device)
            var buffer = [CChar](repeating: 0, count: 96)
            if let nameFn, nameFn(device, &buffer, 96) == Self.success {
                names.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            } else {
                names.append("gpu\(i)")
            }
        }
        lastSeen = Array(repeating: 0, count: devices.count)
    }

    deinit {
        if let shutdown = dlsym(handle, "nvmlShutdown") {
            _ = unsafeBitCast(shutdown, to: InitFn.self)()
        }
        dlclose(handle)
    }

    public var deviceCount: Int { devices.count }

    public func sample() throws -> [GPUSample] {
        var out: [GPUSample] = []
        for (i, device) in devices.enumerated() {
            var s = GPUSample(index: i, name: names[i])
            var mw: UInt32 = 0
            if let getPower, getPower(device, &mw) == Self.success { s.power = Watts(Double(mw) / 1000) }
            var mj: UInt64 = 0
            if let getEnergy, getEnergy(device, &mj) == Self.success { s.totalEnergyMillijoules = mj }
            if let getUtilization {
                // nvmlUtilization_t { unsigned int gpu; unsigned int memory; }
                var raw: (UInt32, UInt32) = (0, 0)
                let rc = withUnsafeMutableBytes(of: &raw) { getUtilization(device, $0.baseAddress!) }
                if rc == Self.success { s.utilizationPct = Double(raw.0) }
            }
            s.processes = processSamples(device: device, index: i)
            out.append(s)
        }
        return out
    }

    /// nvmlProcessUtilizationSample_t { uint pid; ull timeStamp; uint smUtil, memUtil, encUtil, decUtil; }
    /// = 32 bytes: pid at 0, timeStamp at 8, smUtil at 16. Samples newer than the last call, averaged per pid.
    private func processSamples(device: UnsafeMutableRawPointer?, index: Int) -> [GPUProcessSample] {
        guard let getProcessUtilization else { return [] }
        var count: UInt32 = 0
        let probe = getProcessUtilization(device, nil, &count, lastSeen[index])
        guard probe == Self.insufficientSize || probe == Self.success, count > 0 else { return [] }
        let stride = 32
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(count) * stride, alignment: 8)
        defer { buffer.deallocate() }
        guard getProcessUtilization(device, buffer, &count, lastSeen[index]) == Self.success else { return [] }
        var sums: [Int32: (Double, Int)] = [:]
        var newest = lastSeen[index]
        for k in 0..<Int(count) {
            let base = buffer + k * stride
            let pid = Int32(bitPattern: base.load(as: UInt32.self))
            let stamp = base.load(fromByteOffset: 8, as: UInt64.self)
            let sm = base.load(fromByteOffset: 16, as: UInt32.self)
            newest = max(newest, stamp)
            let prev = sums[pid] ?? (0, 0)
            sums[pid] = (prev.0 + Double(sm), prev.1 + 1)
        }
        lastSeen[index] = newest
        return sums.keys.sorted().map { pid in
            let (sum, n) = sums[pid] ?? (0, 1)
            return GPUProcessSample(pid: pid, smUtilPct: sum / Double(max(n, 1)))
        }
    }
}
