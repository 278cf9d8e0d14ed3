/*
 * model.h - a reference model of the timer routines, for tests only.
 *
 * The model is the contract (SPEC S3-S8, S11) written as the plainest code
 * we could: arrays scanned from end to end, one thread, a virtual clock
 * only, no locks, no queues, no cleverness. It answers every call with the
 * status the library must answer and runs callbacks where, when and in the
 * order the library must run them. The fuzzer (api_fuzz.c) drives the
 * library and the model with the same calls and requires the same answers.
 *
 * Its routines have the signatures of the library's, prefixed model_; a
 * stortimer_clock * of the model is a model clock, never a library one.
 * Where the contract leaves a choice to the implementation, the model makes
 * the library's documented one, and says so:
 *   - a virtual clock fires a timer at its due time, windows or not (S11.4);
 *   - above DISPATCH_LEVEL an adapter queues at most MODEL_HANDOVER_CELLS
 *     hand-overs between two calls that drain them (S5.7);
 *   - statistics count what stortimer.h says they count.
 */
#ifndef STORTIMER_FUZZ_MODEL_H
#define STORTIMER_FUZZ_MODEL_H

#include "storport.h"
#include "stortimer.h"

#include <stdint.h>

#define MODEL_HANDOVER_CELLS 256u

/*
 * The model does not invent extension pointers or handles: it takes the
 * values the library issued for the same call, in the order it issued
 * them, so that stale and reused values mean the same to both. `issued`
 * returns the next one (0 when there is none).
 */
typedef uint64_t model_issued_fn(void);

/* Where the model's misuse reports go (the library's report handler). */
typedef void model_report_fn(const char *message);

/* Forgets everything: no adapters, clocks or timers, PASSIVE_LEVEL. */
void model_reset(model_issued_fn *issued, model_report_fn *report);

/* The same routines as the library's. */
ULONG model_adapter_create(const stortimer_adapter_config *config, PVOID *extension);
ULONG model_adapter_remove(PVOID extension, ULONG *leaked_timers);
stortimer_clock *model_clock_virtual_create(void);
void model_clock_destroy(stortimer_clock *clock);
ULONGLONG model_clock_now(const stortimer_clock *clock);
void model_clock_advance(stortimer_clock *clock, ULONGLONG microseconds);
stortimer_clock *model_thread_bind_clock(stortimer_clock *clock);
KIRQL model_irql_current(void);
KIRQL model_irql_raise(KIRQL new_irql);
void model_irql_lower(KIRQL old_irql);
ULONG model_stats_read(PVOID extension, stortimer_stats *stats);

ULONG model_initialize_timer(PVOID extension, PVOID *handle);
ULONG model_request_timer(PVOID extension, PVOID handle, PHW_TIMER_EX callback,
                          PVOID context, ULONGLONG value, ULONGLONG tolerable_delay);
ULONG model_free_timer(PVOID extension, PVOID handle);
void model_request_timer_call(PVOID extension, PHW_TIMER routine, ULONG value);
void model_acquire_spin_lock(PVOID extension, STOR_SPINLOCK kind, PSTOR_LOCK_HANDLE handle);
void model_release_spin_lock(PVOID extension, PSTOR_LOCK_HANDLE handle);
void model_stall_execution(ULONG delay);

#endif
