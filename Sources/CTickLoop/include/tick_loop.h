// The batched guest's sampling tick in C: sleep to an absolute deadline, one pread of /proc/stat
// into the next staging slot, both clocks stamped; nothing else. Swift (VraplGuest.StagedProcStat)
// owns the slots and calls `vrapl_tick_loop_run` once per export interval; the loop returns to Swift
// whenever a tick needs more than this (an export, full slots, a failed read, a signal).
//
// Why C: between 16 ms ticks a VM's caches go cold, so what a tick costs is mostly which code and data
// it touches. This loop is the C sampling floor's (scripts/reference/sampling-floor.c) plus two vDSO
// clock reads and a 24-byte stamp; every line of Swift's loop stays out of the 62 wake-ups a second.
#ifndef VRAPL_TICK_LOOP_H
#define VRAPL_TICK_LOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/// One staged tick: its clocks and how many bytes its read put in its slot.
typedef struct {
    /// CLOCK_MONOTONIC at the end of the read, ns.
    uint64_t monotonic_ns;
    /// CLOCK_REALTIME at the same moment, ns since the Unix epoch.
    int64_t wall_ns;
    /// Bytes in the tick's slot.
    int64_t byte_count;
} vrapl_tick_stamp;

/// Why `vrapl_tick_loop_run` returned.
typedef enum {
    /// The last tick was staged (stamp written, `count` advanced) and reached `until_ns` or filled the
    /// slots: the caller finishes that tick (drain, export, end) and advances the deadline itself.
    VRAPL_TICK_STAGED = 0,
    /// The next tick is the caller's to run in full: the stop flag is set, the sleep was interrupted,
    /// or the read failed, returned nothing, or filled its slot (the file outgrew it). Nothing of that
    /// tick was recorded and `deadline_ns` is unchanged (so a sleep the caller repeats returns at once).
    VRAPL_TICK_YIELD = 1,
} vrapl_tick_outcome;

/// The loop's state, owned by the caller; `count`, `deadline_ns`, `late_ticks` and `last_monotonic_ns`
/// are updated in place.
typedef struct {
    /// The file to read (opened by the caller), from offset 0 with one pread per tick.
    int fd;
    /// `slot_count` slots of `slot_bytes` each, back to back.
    unsigned char *slots;
    size_t slot_bytes;
    int slot_count;
    /// One stamp per slot.
    vrapl_tick_stamp *stamps;
    /// Slots already staged (in), and after the run (out).
    int count;
    /// The sampling interval, ns.
    uint64_t interval_ns;
    /// The next tick's absolute CLOCK_MONOTONIC deadline, ns.
    uint64_t deadline_ns;
    /// Return once a tick's clock reaches this (the next export, or the end of the run), ns.
    uint64_t until_ns;
    /// Deadlines skipped because a tick ended after them (added to).
    uint64_t late_ticks;
    /// Set by the SIGINT/SIGTERM handler; read before every sleep.
    const volatile sig_atomic_t *stop;
    /// CLOCK_MONOTONIC of the tick that ended a VRAPL_TICK_STAGED run, ns.
    uint64_t last_monotonic_ns;
} vrapl_tick_loop;

/// Runs ticks until one needs the caller (see `vrapl_tick_outcome`). Never allocates; blocks only in
/// the sleep.
vrapl_tick_outcome vrapl_tick_loop_run(vrapl_tick_loop *loop);

#endif
