/* adapter_lifecycle.c - creating and removing adapters (SPEC S3). */
#include "adapter.h"

#include "alloc.h"
#include "arm_word.h"
#include "clock.h"
#include "dispatcher.h"
#include "event_log.h"
#include "registry.h"
#include "thread_state.h"

static _Atomic uint64_t adapter_serials;
extern _Atomic uint64_t st_adapters_created, st_adapters_removed; /* stats.c */

/* Resets a slot's per-adapter state for a new adapter. */
static void adapter_setup(st_adapter *a, const stortimer_adapter_config *config)
{
    a->max_timers = config->max_timers;
    a->interrupt = config->half_duplex ? &a->startio : &a->interrupt_own;
    atomic_store(&a->clock, config->clock);
    a->free_timers = STW_NONE;
    a->timer_count = 0;
    a->running = NULL;
    atomic_store(&a->startio_held_by_advancer, false);
    atomic_store(&a->end_of_time_orders, 0);
    st_counters_reset(&a->stats);
    a->release_running = false;

    st_timer *legacy = a->legacy;
    atomic_store(&legacy->arm, st_next_order(a) << 1); /* the counter lives on */
    stw_node_init(&legacy->node);
    stortimer_clock *clock = config->clock;
    uint64_t now = clock ? stortimer_clock_now(clock) : st_real_now_floor();
    for (uint32_t i = 0; i < a->shards; i++) {
        stw_init(&a->shard[i].wheel, now, st_registry_timer_table());
        st_counters_reset(&a->shard[i].stats);
    }
    atomic_store(&a->serial, atomic_fetch_add(&adapter_serials, 1) + 1);
}

ULONG stortimer_adapter_create(const stortimer_adapter_config *config,
                               PVOID *hw_device_extension)
{
    static const stortimer_adapter_config defaults;
    if (!hw_device_extension)
        return STOR_STATUS_INVALID_PARAMETER;
    *hw_device_extension = NULL;
    if (!config)
        config = &defaults;

    st_adapter *a = st_registry_adapter_take();
    if (!a)
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    /* At least one byte, so that every extension is a distinct pointer; at
     * most what the WDK's ULONG DeviceExtensionSize can ask for. */
    size_t size = config->extension_size ? config->extension_size : 1;
    void *extension = size <= UINT32_MAX ? st_calloc(1, size) : NULL;
    pthread_mutex_lock(&a->mutex);
    adapter_setup(a, config);
    bool ok = extension != NULL;
    pthread_mutex_unlock(&a->mutex);
    if (ok && !config->clock)
        ok = st_dispatcher_start(a);
    if (!ok) {
        st_free(extension);
        st_registry_adapter_give_back(a);
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    }
    if (config->clock)
        st_clock_attach(config->clock, a);
    pthread_mutex_lock(&a->mutex);
    a->live = true;
    a->counted = true;
    atomic_store(&a->extension, extension);
    pthread_mutex_unlock(&a->mutex);
    atomic_fetch_add_explicit(&st_adapters_created, 1, memory_order_relaxed);
    ST_LOG(a, .type = STORTIMER_EVENT_ADAPTER_CREATED, .extension = extension);
    *hw_device_extension = extension;
    return STOR_STATUS_SUCCESS;
}

/* True when the calling thread holds one of the adapter's locks. */
static bool holds_adapter_lock(const st_adapter *a)
{
    return st_lock_held_by_me(&a->startio) || st_lock_held_by_me(&a->dpc) ||
           st_lock_held_by_me(a->interrupt);
}

/* What removal's visits of the adapter's timers need. */
typedef struct st_removal {
    st_adapter *adapter;
    void *extension;                 /* no longer in the adapter */
    stortimer_clock *clock;          /* detached from the adapter midway */
} st_removal;

/* Counts (and logs) a pending arm ended by the removal. */
static void count_removal_cancel(const st_removal *r, st_timer *t)
{
    st_adapter *a = r->adapter;
    ST_COUNT(a, cancelled, 1);
    bool legacy = t == a->legacy;
    if (st_logging())
        st_log_record_on(a, r->clock, &(stortimer_event){
            .type = STORTIMER_EVENT_CANCELLED, .status = STORTIMER_CANCEL_BY_REMOVAL,
            .extension = r->extension, .legacy = legacy,
            .handle = legacy ? NULL
                             : st_handle_pointer(st_registry_handle_of(atomic_load(&t->issued))),
        });
}

static void cancel_pending_of(st_timer *t, void *removal)
{
    if (st_timer_cancel_pending(t))
        count_removal_cancel(removal, t);
}

/* Cancels everything pending and waits for a running callback. Lock held. */
static void quiesce(st_adapter *a, st_removal *removal)
{
    st_registry_timers_visit(a, cancel_pending_of, removal);
    cancel_pending_of(a->legacy, removal);
    for (uint32_t i = 0; i < a->shards; i++) {
        st_shard *shard = &a->shard[i];
        pthread_mutex_lock(&shard->mutex);
        stw_clear(&shard->wheel, shard->wheel.now);
        pthread_mutex_unlock(&shard->mutex);
    }
    while (a->running)
        pthread_cond_wait(&a->idle, &a->mutex);
}

static void free_leftover(st_timer *t, void *removal)
{
    st_adapter *a = ((st_removal *)removal)->adapter;
    atomic_store(&t->issued, atomic_load(&t->issued) & ~ST_LIVE);
    /* A lock-free arm that passed its check before the handle died. */
    if (st_arm_word_retire(a, t))
        count_removal_cancel(removal, t);
    st_registry_timer_give_back(a, t);
}

/* Frees the timers the miniport never freed; returns how many. Lock held. */
static ULONG free_leftover_timers(st_adapter *a, st_removal *removal)
{
    ULONG leaked = a->timer_count;
    st_registry_timers_visit(a, free_leftover, removal);
    a->timer_count = 0;
    st_registry_timers_release(a);
    return leaked;
}

ULONG stortimer_adapter_remove(PVOID hw_device_extension, ULONG *leaked_timers)
{
    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(hw_device_extension, &serial);
    if (!a)
        return STOR_STATUS_INVALID_PARAMETER;
    if (st_self.callback_adapter == a || holds_adapter_lock(a))
        return STOR_STATUS_INVALID_DEVICE_STATE;

    pthread_mutex_lock(&a->mutex);
    if (!a->live || atomic_load(&a->serial) != serial) {
        pthread_mutex_unlock(&a->mutex);
        return STOR_STATUS_INVALID_PARAMETER; /* removed meanwhile */
    }
    st_removal removal = {.adapter = a, .extension = hw_device_extension,
                          .clock = st_adapter_clock(a)};
    a->live = false;
    atomic_store(&a->extension, NULL);
    quiesce(a, &removal);
    pthread_mutex_unlock(&a->mutex);

    st_dispatcher_stop(a);
    stortimer_clock *clock = st_adapter_clock(a);
    if (clock)
        st_clock_detach(clock, a);
    atomic_store(&a->clock, NULL); /* late lock-free readers fall back to real time */

    pthread_mutex_lock(&a->mutex);
    quiesce(a, &removal); /* a callback may have armed again before it saw us */
    ULONG leaked = free_leftover_timers(a, &removal);
    if (st_arm_word_retire(a, a->legacy)) /* its extension died before quiesce */
        count_removal_cancel(&removal, a->legacy);
    st_adapter_drain_handover(a);
    ST_COUNT(a, timers_leaked, leaked);
    st_counters_retire(&a->stats);
    for (uint32_t i = 0; i < a->shards; i++)
        st_counters_retire(&a->shard[i].stats);
    a->counted = false;
    pthread_mutex_unlock(&a->mutex);
    atomic_fetch_add_explicit(&st_adapters_removed, 1, memory_order_relaxed);
    if (st_logging())
        st_log_record_on(a, removal.clock,
                         &(stortimer_event){.type = STORTIMER_EVENT_ADAPTER_REMOVED,
                                            .extension = hw_device_extension});

    st_free(hw_device_extension);
    st_registry_adapter_give_back(a);
    if (leaked_timers)
        *leaked_timers = leaked;
    return STOR_STATUS_SUCCESS;
}
