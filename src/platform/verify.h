/*
 * verify.h - the verifier (stortimer_verify_*): off by default; on, every
 * misuse the library sees is a finding, reported with the calling code's
 * address and a backtrace, counted, and in abort mode the end of the
 * process, as a bug check ends Windows under Driver Verifier.
 *
 * While it is off, a place that could find something pays one relaxed
 * load and a branch predicted not taken (st_verifying), and only on paths
 * that already refuse a call, except the one around each callback.
 */
#ifndef STORTIMER_PLATFORM_VERIFY_H
#define STORTIMER_PLATFORM_VERIFY_H

#include "platform/report.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

extern _Atomic unsigned st_verify_level;

/* Whether the verifier is on. */
static inline bool st_verifying(void)
{
    return __builtin_expect(atomic_load_explicit(&st_verify_level, memory_order_relaxed) != 0, 0);
}

/* The address the calling routine returns to: the miniport's call site.
 * Taken in the exported routine itself. */
#define ST_CALLER __builtin_return_address(0)

/* A finding: counted; at or below DISPATCH_LEVEL reported through the
 * report handler as "verifier: <text> (called from <caller>)" with a
 * backtrace; above it (maybe in a signal handler) only counted, or in
 * abort mode written with write(2). In abort mode the process then stops. */
void st_verify_finding(const void *caller, const char *format, ...) ST_PRINTF(2, 3);

/* How long a callback or DPC routine may run, us (0: no limit). */
uint64_t st_verify_routine_limit_us(void);

/* The thread's CPU time in nanoseconds, for a routine's run time. */
uint64_t st_verify_thread_cpu_ns(void);

/* Runs `check` once at process exit while the verifier is on (the layers
 * above register what they can count: adapters and clocks still alive). */
void st_verify_at_exit(void (*check)(void));

#endif
