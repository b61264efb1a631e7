/// How a sampling loop treats a failed read of its sources (a `/proc/stat` read cut short by a
/// concurrent rewrite, an EIO, a file that briefly vanished): the read is retried once at once; a
/// tick whose reads still fail is skipped and counted; only `limit` failed ticks in a row end the
/// loop, with the last error and the count. One bad read never ends a recording or the guest.
public struct ReadRetry: Sendable {
    /// Failed ticks in a row after which the failure is taken as persistent.
    public let limit: Int
    /// Ticks skipped because their reads failed twice, over the whole run.
    public private(set) var skippedTicks = 0
    /// Reads that failed once and succeeded on the retry.
    public private(set) var retriedReads = 0
    private var consecutive = 0

    public init(limit: Int) { self.limit = max(1, limit) }

    /// A policy allowing about one second of failed ticks at `intervalNs` (at least 3).
    public init(intervalNs: UInt64) {
        self.init(limit: max(3, Int(1_000_000_000 / max(intervalNs, 1))))
    }

    /// Runs `read`, retrying once. Returns true when the tick has data, false when it is skipped.
    /// - Throws: the last error, prefixed with the count, once `limit` ticks in a row have failed.
    public mutating func attempt(_ read: () throws -> Void) throws -> Bool {
        do {
            try read()
            consecutive = 0
            return true
        } catch {
            // The retry is the one try `accept` makes; it counts the tick as skipped if that fails too.
            let retried = try accept(read)
            if retried { retriedReads += 1 }
            return retried
        }
    }

    /// Runs `parse` on data read earlier (a staged sample, which cannot be read again): no retry; a
    /// failure skips the tick and counts towards `limit` like a tick whose reads failed.
    /// - Throws: the error, prefixed with the count, once `limit` ticks in a row have failed.
    public mutating func accept(_ parse: () throws -> Void) throws -> Bool {
        do {
            try parse()
            consecutive = 0
            return true
        } catch {
            try skip(error)
            return false
        }
    }

    /// Records ticks whose reads succeeded outside `attempt` (the batched guest's C tick loop reads
    /// /proc/stat itself and hands a failing read to `attempt`): the failures in a row start again.
    public mutating func succeeded() { consecutive = 0 }

    private mutating func skip(_ error: Error) throws {
        skippedTicks += 1
        consecutive += 1
        if consecutive >= limit {
            throw VraplError("\(error) (\(consecutive) samples in a row could not be read; \(skippedTicks) skipped in all)")
        }
    }
}
