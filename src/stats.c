/* stats.c - reading adapter and process statistics. */
#include "adapter.h"
#include "registry.h"

#include <string.h>

/* Counts of adapters already removed, so process totals never go down. */
static st_counters retired;

static uint64_t get(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Adds one set of counters to a stats record (maxima are maxima). */
static void add_counters(stortimer_stats *out, const st_counters *c)
{
#define ST_ADD_COUNTER(name) out->name += get(&c->name);
    ST_COUNTERS(ST_ADD_COUNTER)
#undef ST_ADD_COUNTER
    if (get(&c->lateness_max_us) > out->lateness_max_us)
        out->lateness_max_us = get(&c->lateness_max_us);
}

static void finish(stortimer_stats *out)
{
    out->timers_live = out->timers_initialized - out->timers_freed - out->timers_leaked;
}

void st_counters_reset(st_counters *c)
{
#define ST_RESET_COUNTER(name) atomic_store_explicit(&c->name, 0, memory_order_relaxed);
    ST_COUNTERS(ST_RESET_COUNTER)
#undef ST_RESET_COUNTER
    atomic_store_explicit(&c->lateness_max_us, 0, memory_order_relaxed);
}

void st_counters_retire(const st_counters *c)
{
#define ST_RETIRE_COUNTER(name) \
    atomic_fetch_add_explicit(&retired.name, get(&c->name), memory_order_relaxed);
    ST_COUNTERS(ST_RETIRE_COUNTER)
#undef ST_RETIRE_COUNTER
    st_atomic_max(&retired.lateness_max_us, get(&c->lateness_max_us));
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
        st_registry_adapters_visit(add_live_adapter, stats);
        add_counters(stats, &retired);
        add_counters(stats, &st_unattributed);
    }
    finish(stats);
    return STOR_STATUS_SUCCESS;
}
