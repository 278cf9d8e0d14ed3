/* stats.c - reading adapter and process statistics. */
#include "adapter.h"
#include "registry.h"

#include <string.h>

/* Counts of adapters already removed, so process totals never go down. */
static st_counters retired;

/* Adapters created and removed, for the process totals. */
_Atomic uint64_t st_adapters_created, st_adapters_removed;

static uint64_t get(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void bump(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
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

/* Bucket 0: on time; bucket i: 2^(i-1) .. 2^i - 1 us; the last: beyond. */
static unsigned lateness_bucket(uint64_t lateness)
{
    unsigned bucket = lateness ? 64u - (unsigned)__builtin_clzll(lateness) : 0;
    return bucket < STORTIMER_LATENESS_BUCKETS ? bucket : STORTIMER_LATENESS_BUCKETS - 1;
}

void st_count_lateness(st_counters *c, uint64_t lateness)
{
    bump(&c->lateness_total_us, lateness);
    st_atomic_max(&c->lateness_max_us, lateness);
    bump(&c->lateness_histogram[lateness_bucket(lateness)], 1);
}

/* Adds one set of counters to a stats record (maxima are maxima). */
static void add_counters(stortimer_stats *out, const st_counters *c)
{
#define ST_ADD_COUNTER(name) out->name += get(&c->name);
    ST_COUNTERS(ST_ADD_COUNTER)
#undef ST_ADD_COUNTER
    if (get(&c->lateness_max_us) > out->lateness_max_us)
        out->lateness_max_us = get(&c->lateness_max_us);
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        out->lateness_histogram[i] += get(&c->lateness_histogram[i]);
}

/* The counters that are differences: never negative, even when read
 * while calls are in flight. */
static uint64_t difference(uint64_t total, uint64_t part)
{
    return total > part ? total - part : 0;
}

static void finish(stortimer_stats *out)
{
    out->timers_live = difference(out->timers_initialized,
                                  out->timers_freed + out->timers_leaked);
    out->timers_pending = difference(out->armed, out->fired + out->cancelled);
}

void st_counters_reset(st_counters *c)
{
#define ST_RESET_COUNTER(name) atomic_store_explicit(&c->name, 0, memory_order_relaxed);
    ST_COUNTERS(ST_RESET_COUNTER)
#undef ST_RESET_COUNTER
    atomic_store_explicit(&c->lateness_max_us, 0, memory_order_relaxed);
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        atomic_store_explicit(&c->lateness_histogram[i], 0, memory_order_relaxed);
}

void st_counters_retire(const st_counters *c)
{
#define ST_RETIRE_COUNTER(name) bump(&retired.name, get(&c->name));
    ST_COUNTERS(ST_RETIRE_COUNTER)
#undef ST_RETIRE_COUNTER
    st_atomic_max(&retired.lateness_max_us, get(&c->lateness_max_us));
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        bump(&retired.lateness_histogram[i], get(&c->lateness_histogram[i]));
}

void st_atomic_max(_Atomic uint64_t *max, uint64_t value)
{
    uint64_t seen = atomic_load_explicit(max, memory_order_relaxed);
    while (value > seen &&
           !atomic_compare_exchange_weak_explicit(max, &seen, value, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
}

/* An adapter's counters: its own and its shards'. Adapter lock held. */
static void add_adapter(stortimer_stats *out, const st_adapter *a)
{
    add_counters(out, &a->stats);
    for (uint32_t i = 0; i < a->shards; i++)
        add_counters(out, &a->shard[i].stats);
}

static void add_live_adapter(st_adapter *a, void *ctx)
{
    pthread_mutex_lock(&a->mutex);
    if (a->counted)
        add_adapter(ctx, a);
    pthread_mutex_unlock(&a->mutex);
}

ULONG stortimer_stats_read(PVOID hw_device_extension, stortimer_stats *stats)
{
    if (!stats)
        return STOR_STATUS_INVALID_PARAMETER;
    memset(stats, 0, sizeof *stats);
    if (hw_device_extension) {
        st_adapter *a = st_adapter_lock_by_extension(hw_device_extension);
        if (!a)
            return STOR_STATUS_INVALID_PARAMETER;
        add_adapter(stats, a);
        st_adapter_unlock(a);
    } else {
        /* Removed before created: an adapter removed meanwhile is not
         * counted live. */
        uint64_t removed = get(&st_adapters_removed);
        st_registry_adapters_visit(add_live_adapter, stats);
        add_counters(stats, &retired);
        add_counters(stats, &st_unattributed);
        stats->adapters_created = get(&st_adapters_created);
        stats->adapters_live = difference(stats->adapters_created, removed);
    }
    finish(stats);
    return STOR_STATUS_SUCCESS;
}
