// See include/tick_loop.h.
#define _GNU_SOURCE
#include "tick_loop.h"

#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

vrapl_tick_outcome vrapl_tick_loop_run(vrapl_tick_loop *loop) {
    for (;;) {
        if (*loop->stop) return VRAPL_TICK_YIELD;
        struct timespec deadline = {
            .tv_sec = (time_t)(loop->deadline_ns / 1000000000u),
            .tv_nsec = (long)(loop->deadline_ns % 1000000000u),
        };
        // Non-zero is EINTR (a signal: the caller checks its stop flag) or a bad deadline.
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL) != 0) return VRAPL_TICK_YIELD;
        unsigned char *slot = loop->slots + (size_t)loop->count * loop->slot_bytes;
        ssize_t n = pread(loop->fd, slot, loop->slot_bytes, 0);
        if (n <= 0 || (size_t)n >= loop->slot_bytes) return VRAPL_TICK_YIELD;
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        vrapl_tick_stamp *stamp = &loop->stamps[loop->count];
        stamp->monotonic_ns = now;
        stamp->wall_ns = (int64_t)clock_ns(CLOCK_REALTIME);
        stamp->byte_count = (int64_t)n;
        loop->count += 1;
        if (loop->count >= loop->slot_count || now >= loop->until_ns) {
            loop->last_monotonic_ns = now;
            return VRAPL_TICK_STAGED;
        }
        // The same rule as the Swift loop: a late tick skips the deadlines it missed.
        loop->deadline_ns += loop->interval_ns;
        if (loop->deadline_ns <= now) {
            uint64_t missed = (now - loop->deadline_ns) / loop->interval_ns + 1;
            loop->late_ticks += missed;
            loop->deadline_ns += missed * loop->interval_ns;
        }
    }
}
