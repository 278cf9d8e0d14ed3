/*
 * model.h - a reference model of the timer routines, for tests only.
 *
 * The model is the contract (SPEC S3-S8, S11, S13-S17) written as the plainest code
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
 *   - statistics count what stortimer.h says they count;
 *   - DPC issues, pauses and resumes above DISPATCH_LEVEL take hand-over
 *     cells as arms do (S14.5, S16.9); an issue answered FALSE because the
 *     DPC is queued takes none;
 *   - a DPC, pause or expiry takes its place in the order at the call; a
 *     pause or resume handed over takes effect at the adapter's next drain
 *     (a call at or below DISPATCH_LEVEL, a read, an advance, its removal);
 *   - refused DPC issues and synchronized calls are reported at or below
 *     DISPATCH_LEVEL, as S14.3's refusals are; a synchronized call with a
 *     NULL or unknown argument counts as lock misuse of the process (S15.5);
 *     a pause or issue refused for want of a hand-over cell counts as a
 *     rejection for insufficient resources (S14.5);
 *   - the time views saturate at INT64_MAX near the end of a clock's range,
 *     so that none goes backwards (S13.3).
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

/* S13-S17 */
void model_query_system_time(PLARGE_INTEGER current_time);
ULONG model_query_performance_counter(PVOID extension, PLARGE_INTEGER frequency,
                                      PLARGE_INTEGER counter);
ULONG model_query_timer_min_interval(PVOID extension, PULONG interval);
void model_query_tick_count(PVOID extension, PLARGE_INTEGER tick_count);
ULONG model_clock_set_tick(stortimer_clock *clock, ULONG tick_us);
ULONG model_clock_set_system_time(stortimer_clock *clock, LONGLONG base_100ns);
BOOLEAN model_clock_next_fire(stortimer_clock *clock, ULONGLONG *fire_time);
void model_initialize_dpc(PVOID extension, PSTOR_DPC dpc, PHW_DPC_ROUTINE routine);
BOOLEAN model_issue_dpc(PVOID extension, PSTOR_DPC dpc, PVOID argument1, PVOID argument2);
BOOLEAN model_synchronize_access(PVOID extension, PSTOR_SYNCHRONIZED_ACCESS routine,
                                 PVOID context);
BOOLEAN model_pause(PVOID extension, ULONG timeout);
BOOLEAN model_resume(PVOID extension);
BOOLEAN model_pause_device(PVOID extension, UCHAR path, UCHAR target, UCHAR lun, ULONG timeout);
BOOLEAN model_resume_device(PVOID extension, UCHAR path, UCHAR target, UCHAR lun);
ULONG model_adapter_pause_state(PVOID extension, stortimer_pause_state *state);
ULONG model_unit_pause_state(PVOID extension, UCHAR path, UCHAR target, UCHAR lun,
                             stortimer_pause_state *state);

#endif
