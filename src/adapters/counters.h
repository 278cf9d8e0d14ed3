/*
 * counters.h - statistics counters, always on: adds in the adapter or the
 * shard that an event touches, summed when read. Most are relaxed atomic
 * adds; the counts of an arm or a cancel at or below DISPATCH_LEVEL are
 * plain adds under its shard lock (ST_COUNT_LOCKED), so that neither runs
 * a locked instruction for its statistics.
 *
 * An adapter has one set, and each of its shards one (a shard's arm path
 * counts there, so that no line is shared between shards). The process
 * keeps the sums of removed adapters, and a set for misuse that names no
 * live adapter.
 */
#ifndef STORTIMER_ADAPTERS_COUNTERS_H
#define STORTIMER_ADAPTERS_COUNTERS_H

#include "stortimer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* The summed counters of stortimer_stats, listed once. */
#define ST_COUNTERS(X)                                                        \
    X(timers_initialized) X(timers_freed) X(timers_leaked) X(armed)           \
    X(cancelled) X(busy) X(fired) X(legacy_armed) X(legacy_fired)             \
    X(handed_over) X(rejected) X(notification_misuse) X(lock_misuse)          \
    X(wakeups) X(lateness_total_us) X(rejected_invalid_parameter)             \
    X(rejected_invalid_irql) X(rejected_unsuccessful)                         \
    X(rejected_insufficient_resources) X(dpcs_initialized)                    \
    X(dpc_init_refused) X(dpcs_issued) X(dpcs_already_queued)                 \
    X(dpc_issue_refused) X(dpcs_started) X(dpcs_returned) X(dpcs_dropped)     \
    X(dpc_runaway_stops) X(dpc_lateness_total_us) X(synchronized_calls)       \
    X(pauses) X(resumes) X(resumes_unpaused) X(pause_expiries) X(unit_pauses) \
    X(unit_resumes) X(unit_resumes_unpaused) X(unit_pause_expiries)           \
    X(long_stalls) X(time_query_misuse) X(idle_wakeups)

typedef struct st_counters {
#define ST_DECLARE_COUNTER(name) _Atomic uint64_t name;
    ST_COUNTERS(ST_DECLARE_COUNTER)
#undef ST_DECLARE_COUNTER
    _Atomic uint64_t lateness_max_us;  /* a maximum, not a sum */
    _Atomic uint64_t lateness_histogram[STORTIMER_LATENESS_BUCKETS];
    _Atomic uint64_t dpc_lateness_max_us; /* the same for DPC starts (S14.15) */
    _Atomic uint64_t dpc_lateness_histogram[STORTIMER_LATENESS_BUCKETS];
    /* Added to the process totals (st_counters_retire): no longer read
     * on their own. */
    _Atomic bool retired;
} st_counters;

/* Counts into a set of counters (relaxed: counters order nothing). */
#define ST_COUNT(counters, field, n) \
    atomic_fetch_add_explicit(&(counters)->field, (n), memory_order_relaxed)

/* Adds to a counter that only holders of one lock add to: a plain add, no
 * locked instruction; a reader may see it a moment late, never torn. */
static inline void st_count_plain(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Counts a field that, in this set, only holders of one lock count (a
 * shard's counts, under its shard lock). */
#define ST_COUNT_LOCKED(counters, field, n) st_count_plain(&(counters)->field, (n))

/* Counts a call answered with error `status` (rejected, and by status). */
void st_count_rejection(st_counters *c, ULONG status);

/* Counts a callback that started `lateness` us after its due time. Only
 * the thread running the adapter's items counts these, under the adapter
 * lock: plain adds. */
void st_count_lateness(st_counters *c, uint64_t lateness);

/* Counts a DPC routine that started `lateness` us after its issue (the
 * same: adapter lock held). */
void st_count_dpc_lateness(st_counters *c, uint64_t lateness);

/* Zeroes a set for a new adapter (or shard) in its slot. */
void st_counters_reset(st_counters *c);

/* Adds a removed adapter's (or shard's) counters to the process totals. */
void st_counters_retire(st_counters *c);

/* Adds a set to a stats record (maxima stay maxima); a retired set adds
 * nothing. */
void st_counters_add(stortimer_stats *out, const st_counters *c);

/* Misuse that names no live adapter is counted here. */
st_counters *st_counters_unattributed(void);

/* Adapters created and removed, for the process totals. */
void st_counters_adapter_created(void);
void st_counters_adapter_removed(void);

/* The process's own part of its totals: removed adapters' counters, misuse
 * that named no adapter, adapters created. Read `removed` first: an
 * adapter removed meanwhile is then never counted live. */
uint64_t st_counters_adapters_removed(void);
void st_counters_add_process(stortimer_stats *out);

/* armed - fired - cancelled and the other differences of a stats record,
 * never negative even when read while calls are in flight. */
void st_counters_finish(stortimer_stats *out);

#endif
