/*
 * os.h - what the library asks of the operating system beyond memory and
 * threads: the monotonic clock, processors, thread ids, waiting and waking.
 * Linux today; a port to another system rewrites this file's .c.
 *
 * Functions marked async-signal-safe may run in a signal handler standing
 * in for an interrupt (SPEC S5.7); a system call may change errno there, so
 * the routines that can be called from such a handler save it around
 * their work (storport/storport_timer.c).
 */
#ifndef STORTIMER_PLATFORM_OS_H
#define STORTIMER_PLATFORM_OS_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (SPEC S11.1). Async-signal-safe. */
uint64_t st_os_monotonic_ns(void);

/* CLOCK_REALTIME in 100-ns units since 1601-01-01 UTC, the Windows system
 * time's scale (SPEC S13.5). Async-signal-safe. */
int64_t st_os_realtime_100ns(void);

/* glibc 2.35 and later register the area (and have <sys/rseq.h>); gcc 11
 * and clang know __builtin_thread_pointer. (<sched.h> defines __GLIBC__.) */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && \
    (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 11))
#include <sys/rseq.h>
#define ST_OS_HAVE_RSEQ 1
#endif

/* The processor the caller runs on (0 if unknown): on every arm, so
 * inline. Where the C library registers the thread's restartable-sequences
 * area, the kernel keeps the processor there and it is one load; else (an
 * older C library, or under valgrind, which refuses the registration) a
 * call. Async-signal-safe. */
static inline unsigned st_os_cpu(void)
{
#ifdef ST_OS_HAVE_RSEQ
    if (__rseq_size) {
        const volatile struct rseq *area =
            (const volatile struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
        int32_t cpu = (int32_t)area->cpu_id;
        if (cpu >= 0)
            return (unsigned)cpu;
    }
#endif
    int cpu = sched_getcpu();
    return cpu < 0 ? 0 : (unsigned)cpu;
}

/* How many processors are online (at least 1). */
unsigned st_os_cpu_count(void);

/* The kernel's id of the calling thread. Async-signal-safe. */
uint32_t st_os_thread_id(void);

/* Returns no sooner than `ns` nanoseconds later: spins for short waits, as
 * KeStallExecutionProcessor does, and sleeps for longer ones (SPEC S9.2). */
void st_os_stall_ns(uint64_t ns);

/* Sleeps about `ns` nanoseconds; gives the processor to another thread. */
void st_os_sleep_ns(uint64_t ns);
void st_os_yield(void);

/* Asks for the kernel's finest timer slack for the calling thread: a
 * sleeper's lateness is at least its slack. */
void st_os_finest_timer_slack(void);

/*
 * Sleeps while *word == expected, until woken or until the absolute
 * CLOCK_MONOTONIC time `deadline_us` (far future: no deadline). May return
 * early, spuriously. False when it did not sleep: *word had changed
 * already. Wakes one sleeper on `word`: async-signal-safe.
 */
bool st_os_wait_until(_Atomic uint32_t *word, uint32_t expected, uint64_t deadline_us);
void st_os_wake(_Atomic uint32_t *word);

#endif
