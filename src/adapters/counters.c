/* counters.c - counting, and summing what was counted (counters.h). */
#include "adapters/counters.h"

/* Counts of adapters already removed, so process totals never go down. */
static st_counters retired;
/* Misuse that named no live adapter. */
static st_counters unattributed;
static _Atomic uint64_t adapters_created, adapters_removed;

static uint64_t get(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void bump(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static void raise_max(_Atomic uint64_t *max, uint64_t value)
{
    uint64_t seen = atomic_load_explicit(max, memory_order_relaxed);
    while (value > seen &&
           !atomic_compare_exchange_weak_explicit(max, &seen, value, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

/* The same for a maximum that only holders of one lock raise
 * (st_count_plain, counters.h). */
static void raise_max_locked(_Atomic uint64_t *max, uint64_t value)
{
    if (value > get(max))
        atomic_store_explicit(max, value, memory_order_relaxed);
}

void st_count_rejection(st_counters *c, ULONG status)
{
    bump(&c->rejected, 1);
    switch (status) {
    case STOR_STATUS_INVALID_PARAMETER: bump(&c->rejected_invalid_parameter, 1); break;
    case STOR_STATUS_INVALID_IRQL: bump(&c->rejected_invalid_irql, 1); break;
    case STOR_STATUS_UNSUCCESSFUL: bump(&c->rejected_unsuccessful, 1); break;
    case STOR_STATUS_INSUFFICIENT_RESOURCES:
        bump(&c->rejected_insufficient_resources, 1);
        break;
    default: break;
    }
}

_Static_assert(STORTIMER_LATENESS_BUCKETS >= 2 && STORTIMER_LATENESS_BUCKETS <= 65,
               "bucket 0 is on time; a 64-bit lateness needs at most 64 more");

/* Bucket 0: on time; bucket i: 2^(i-1) .. 2^i - 1 us; the last: beyond. */
static unsigned lateness_bucket(uint64_t lateness)
{
    unsigned bucket = lateness ? 64u - (unsigned)__builtin_clzll(lateness) : 0;
    return bucket < STORTIMER_LATENESS_BUCKETS ? bucket : STORTIMER_LATENESS_BUCKETS - 1;
}

void st_count_lateness(st_counters *c, uint64_t lateness)
{
    st_count_plain(&c->lateness_total_us, lateness);
    raise_max_locked(&c->lateness_max_us, lateness);
    st_count_plain(&c->lateness_histogram[lateness_bucket(lateness)], 1);
}

void st_count_dpc_lateness(st_counters *c, uint64_t lateness)
{
    st_count_plain(&c->dpc_lateness_total_us, lateness);
    raise_max_locked(&c->dpc_lateness_max_us, lateness);
    st_count_plain(&c->dpc_lateness_histogram[lateness_bucket(lateness)], 1);
}

void st_counters_reset(st_counters *c)
{
#define ST_RESET_COUNTER(name) atomic_store_explicit(&c->name, 0, memory_order_relaxed);
    ST_COUNTERS(ST_RESET_COUNTER)
#undef ST_RESET_COUNTER
    atomic_store_explicit(&c->lateness_max_us, 0, memory_order_relaxed);
    atomic_store_explicit(&c->dpc_lateness_max_us, 0, memory_order_relaxed);
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++) {
        atomic_store_explicit(&c->lateness_histogram[i], 0, memory_order_relaxed);
        atomic_store_explicit(&c->dpc_lateness_histogram[i], 0, memory_order_relaxed);
    }
    atomic_store(&c->retired, false);
}

void st_counters_retire(st_counters *c)
{
#define ST_RETIRE_COUNTER(name) bump(&retired.name, get(&c->name));
    ST_COUNTERS(ST_RETIRE_COUNTER)
#undef ST_RETIRE_COUNTER
    raise_max(&retired.lateness_max_us, get(&c->lateness_max_us));
    raise_max(&retired.dpc_lateness_max_us, get(&c->dpc_lateness_max_us));
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++) {
        bump(&retired.lateness_histogram[i], get(&c->lateness_histogram[i]));
        bump(&retired.dpc_lateness_histogram[i], get(&c->dpc_lateness_histogram[i]));
    }
    atomic_store(&c->retired, true);
}

void st_counters_add(stortimer_stats *out, const st_counters *c)
{
    if (atomic_load(&c->retired))
        return;
#define ST_ADD_COUNTER(name) out->name += get(&c->name);
    ST_COUNTERS(ST_ADD_COUNTER)
#undef ST_ADD_COUNTER
    if (get(&c->lateness_max_us) > out->lateness_max_us)
        out->lateness_max_us = get(&c->lateness_max_us);
    if (get(&c->dpc_lateness_max_us) > out->dpc_lateness_max_us)
        out->dpc_lateness_max_us = get(&c->dpc_lateness_max_us);
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++) {
        out->lateness_histogram[i] += get(&c->lateness_histogram[i]);
        out->dpc_lateness_histogram[i] += get(&c->dpc_lateness_histogram[i]);
    }
}

st_counters *st_counters_unattributed(void)
{
    return &unattributed;
}

void st_counters_adapter_created(void)
{
    bump(&adapters_created, 1);
}

void st_counters_adapter_removed(void)
{
    bump(&adapters_removed, 1);
}

uint64_t st_counters_adapters_removed(void)
{
    return get(&adapters_removed);
}

/* The counters that are differences: never negative. */
static uint64_t difference(uint64_t total, uint64_t part)
{
    return total > part ? total - part : 0;
}

void st_counters_add_process(stortimer_stats *out)
{
    st_counters_add(out, &retired);
    st_counters_add(out, &unattributed);
    out->adapters_created = get(&adapters_created);
}

void st_counters_finish(stortimer_stats *out)
{
    out->timers_live = difference(out->timers_initialized,
                                  out->timers_freed + out->timers_leaked);
    out->timers_pending = difference(out->armed, out->fired + out->cancelled);
}
