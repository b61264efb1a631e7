#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CTickLoop
import VraplCore
import VraplSources

/// The batched live loop's tick: /proc/stat's bytes copied into a slot with one `pread`, stamped, and
/// nothing else; the slots are parsed and run through the estimator together at the export tick
/// (or when the slots are full), in sample order, with the clocks each tick recorded.
///
/// Why: a 16 ms sampler sleeps between ticks, and in a VM the caches it wakes to are cold. The
/// C floor (`scripts/reference/sampling-floor.c`) pays that for the kernel's path only; a tick that
/// also parses, extracts features and stages a window touches its own code and data cold 62 times a
/// second. Staged, the tick touches what the floor touches plus a slot, and the parser, the
/// feature code and the network run once per export interval, back to back, warm. The samples, their
/// timestamps and so every prediction and the energy are those of parsing at each tick.
///
/// Where the tick reads nothing but /proc/stat (every shipped model), its happy path runs in C
/// (`runTicks`, Sources/CTickLoop): the floor's own sleep and `pread` into the same slots, back in Swift
/// once per export interval; any tick that needs more (a failed or overfull read, a signal, another
/// source) is the Swift loop's, through `capture` and `commit`.
///
/// A staged text that does not parse is a skipped tick, counted as one whose read failed
/// (`ReadRetry.accept`; it cannot be read again). A read that fills its slot (the file outgrew it)
/// doubles every slot, keeping those staged, and reads again.
final class StagedProcStat {
    /// One tick's record beside its bytes.
    struct Stamp {
        var monotonicNs: UInt64
        var wallClockUnix: Double
        var byteCount: Int
        var pageFaults: UInt64?
        var cpuUsage: CPUUsage?
    }

    /// A tick's readings besides /proc/stat (only a Swift tick takes them).
    private struct Readings {
        var pageFaults: UInt64?
        var cpuUsage: CPUUsage?
    }

    let reader: ProcStatReader
    /// Slots (ticks) held before a drain.
    let slots: Int
    private(set) var slotBytes: Int
    private var storage: UnsafeMutableRawBufferPointer
    /// Each slot's clocks and byte count, as the C tick loop writes them.
    private let clocks: UnsafeMutablePointer<vrapl_tick_stamp>
    private var readings: [Readings]
    /// Ticks staged and not yet drained.
    private(set) var count = 0
    private var capturedBytes = 0

    /// - Parameters:
    ///   - slots: ticks staged between drains (an export interval's, capped by the caller).
    ///   - slotBytes: the first size of a slot (they double when a read fills one).
    init(reader: ProcStatReader, slots: Int, slotBytes: Int = 4096) {
        self.reader = reader
        self.slots = max(1, slots)
        self.slotBytes = max(64, slotBytes)
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: self.slots * self.slotBytes, alignment: 64)
        clocks = .allocate(capacity: self.slots)
        clocks.initialize(repeating: vrapl_tick_stamp(), count: self.slots)
        readings = [Readings](repeating: Readings(), count: self.slots)
    }

    deinit {
        storage.deallocate()
        clocks.deallocate()
    }

    var isFull: Bool { count == slots }

    private func slot(_ i: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: storage[(i * slotBytes)..<((i + 1) * slotBytes)])
    }

    /// Reads /proc/stat into the next slot (call `commit` once the tick's other reads succeeded).
    @inline(__always)
    func capture() throws {
        var n = try reader.capture(into: slot(count))
        while n == slotBytes {
            grow()
            n = try reader.capture(into: slot(count))
        }
        capturedBytes = n
    }

    /// Keeps the slot `capture` filled, with the tick's clocks and other readings.
    /// - Parameter wallNs: CLOCK_REALTIME, ns since the Unix epoch (`SampleClock.wallNs`).
    @inline(__always)
    func commit(monotonicNs: UInt64, wallNs: Int64, pageFaults: UInt64?, cpuUsage: CPUUsage?) {
        clocks[count] = vrapl_tick_stamp(monotonic_ns: monotonicNs, wall_ns: wallNs, byte_count: Int64(capturedBytes))
        readings[count] = Readings(pageFaults: pageFaults, cpuUsage: cpuUsage)
        count += 1
    }

    /// Runs the sampling ticks in C (`vrapl_tick_loop_run`) from `deadlineNs` until one needs Swift:
    /// each sleeps to its deadline, reads /proc/stat into the next slot with one `pread` and stamps both
    /// clocks. Call it only where /proc/stat is the tick's one source.
    /// - Returns: the monotonic clock (ns) of the tick it staged last, whose end (drain when full,
    ///   export, deadline) is the caller's; nil when the next tick is the caller's to run in full
    ///   (a signal, or a read that failed or filled its slot), with `deadlineNs` unchanged.
    ///   Deadlines a late tick missed are added to `lateTicks`; `retry` learns of the reads that worked.
    /// - Parameter stop: the flag read before every sleep (the SIGINT/SIGTERM one; tests pass their own).
    func runTicks(deadlineNs: inout UInt64, untilNs: UInt64, intervalNs: UInt64, lateTicks: inout Int,
                  retry: inout ReadRetry, stop: UnsafePointer<sig_atomic_t> = StopSignal.flag) -> UInt64? {
        let first = count
        var loop = vrapl_tick_loop(fd: reader.descriptor, slots: storage.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                   slot_bytes: slotBytes, slot_count: Int32(slots), stamps: clocks, count: Int32(count),
                                   interval_ns: intervalNs, deadline_ns: deadlineNs, until_ns: untilNs,
                                   late_ticks: 0, stop: stop, last_monotonic_ns: 0)
        let outcome = vrapl_tick_loop_run(&loop)
        count = Int(loop.count)
        deadlineNs = loop.deadline_ns
        lateTicks += Int(loop.late_ticks)
        if count > first {
            retry.succeeded()
            for i in first..<count { readings[i] = Readings() }
        }
        return outcome == VRAPL_TICK_STAGED ? loop.last_monotonic_ns : nil
    }

    /// Parses every staged slot in order into `snapshot` and calls `body` with it, the number of
    /// `cpuN` lines and the stamp; then empties the slots. A text that does not parse skips its tick
    /// (`retry.accept`), and throws only once `retry` takes the failure as persistent.
    func drain(into snapshot: inout ProcStatSnapshot, retry: inout ReadRetry,
               _ body: (inout ProcStatSnapshot, Int, Stamp) throws -> Void) throws {
        defer { count = 0 }
        let path = reader.path, perCPU = reader.includePerCPU
        for i in 0..<count {
            // The wall clock in s, as `wallNowUnix` converts it.
            let stamp = Stamp(monotonicNs: clocks[i].monotonic_ns, wallClockUnix: Double(clocks[i].wall_ns) / 1e9, byteCount: Int(clocks[i].byte_count),
                              pageFaults: readings[i].pageFaults, cpuUsage: readings[i].cpuUsage)
            let bytes = UnsafeRawBufferPointer(rebasing: slot(i)[0..<stamp.byteCount])
            var cpus = 0
            let parsed = try retry.accept {
                cpus = try ProcStatReader.parse(bytes, path: path, includePerCPU: perCPU, into: &snapshot)
            }
            if parsed { try body(&snapshot, cpus, stamp) }
        }
    }

    /// Doubles every slot; the staged texts move to their new places.
    private func grow() {
        let old = storage, oldBytes = slotBytes
        slotBytes *= 2
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: slots * slotBytes, alignment: 64)
        for i in 0..<count {
            UnsafeMutableRawBufferPointer(rebasing: storage[(i * slotBytes)...])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: old[(i * oldBytes)..<(i * oldBytes + Int(clocks[i].byte_count))]))
        }
        old.deallocate()
    }
}
