/* lifecycle.c - creating and removing adapters (lifecycle.h, SPEC S3). */
#include "adapters/lifecycle.h"

#include "adapters/dpc_ops.h"
#include "adapters/events.h"
#include "adapters/pause_ops.h"
#include "platform/alloc.h"

static _Atomic uint64_t adapter_serials;

/* Resets a slot's state for a new adapter. Adapter lock held. */
static void setup(st_adapter *a, const stortimer_adapter_config *config, uint64_t now)
{
    a->interrupt = config->half_duplex ? &a->startio : &a->interrupt_own;
    atomic_store(&a->clock, config->clock);
    a->runner = NULL;
    st_timers_open(a, config->max_timers);
    st_running_reset(&a->run);
    st_pauses_reset(&a->pauses);
    st_counters_reset(&a->stats);
    st_shards_reset(&a->shards, now);
    /* Last: a request that found the old adapter and reads the serial
     * after this sees a new one (timer_ops.c, st_legacy_find). */
    atomic_store(&a->serial, atomic_fetch_add(&adapter_serials, 1) + 1);
}

st_adapter *st_adapter_open(const stortimer_adapter_config *config, uint64_t now,
                            void **extension)
{
    st_adapter *a = st_adapter_take_slot();
    if (!a)
        return NULL;
    /* At least one byte, so that every extension is a distinct pointer; at
     * most what the WDK's ULONG DeviceExtensionSize can ask for. */
    size_t size = config->extension_size ? config->extension_size : 1;
    *extension = size <= UINT32_MAX ? st_calloc(1, size) : NULL;
    if (!*extension) {
        st_adapter_give_back_slot(a);
        return NULL;
    }
    st_mutex_lock(&a->mutex);
    setup(a, config, now);
    st_mutex_unlock(&a->mutex);
    return a;
}

void st_adapter_discard(st_adapter *a, void *extension)
{
    st_registry_kill(a->legacy);
    st_free(extension);
    st_adapter_give_back_slot(a);
}

void st_adapter_publish(st_adapter *a, void *extension)
{
    st_mutex_lock(&a->mutex);
    atomic_store(&a->live, true);
    atomic_store(&a->extension, extension);
    st_mutex_unlock(&a->mutex);
    st_counters_adapter_created();
    ST_LOG(a, .type = STORTIMER_EVENT_ADAPTER_CREATED, .extension = extension);
}

/* Cancels everything pending and waits for a running callback. Adapter
 * lock held. */
static void quiesce(const st_removal *removal)
{
    st_adapter *a = removal->adapter;
    st_timers_cancel_all(removal);
    st_running_wait(&a->run, NULL, &a->mutex);
}

bool st_adapter_close_begin(const st_adapter_ref *ref, st_removal *removal)
{
    st_adapter *a = ref->adapter;
    if (!st_adapter_lock(ref))
        return false; /* removed meanwhile */
    *removal = (st_removal){.adapter = a, .extension = st_adapter_extension(a),
                            .clock = st_adapter_clock(a)};
    atomic_store(&a->live, false);
    atomic_store(&a->extension, NULL);
    st_registry_kill(a->legacy); /* its legacy timer dies with it */
    quiesce(removal);
    st_adapter_unlock(a);
    return true;
}

ULONG st_adapter_close_end(const st_removal *removal)
{
    st_adapter *a = removal->adapter;
    atomic_store(&a->clock, NULL); /* late lock-free readers fall back to real time */
    st_mutex_lock(&a->mutex);
    quiesce(removal); /* a callback may have armed again before it saw us */
    ULONG leaked = st_timers_free_all(removal);
    /* Every handle is dead: a request above DISPATCH_LEVEL still under way
     * counts what it did in this adapter's counters before they retire,
     * never in those of the next adapter made in this slot. */
    st_handover_wait_quiet(&a->handover);
    st_timer_apply_handovers(a);
    /* DPCs still queued never start; pauses end (S14.13, S16.10). */
    st_dpcs_drop_all(a, removal->extension, removal->clock);
    st_pauses_end_all(a, removal->extension, removal->clock);
    st_counters_retire(&a->stats);
    st_shards_retire(&a->shards);
    st_mutex_unlock(&a->mutex);
    /* Without the adapter lock: a holder of a DPC's lock may want it. */
    st_dpcs_forget(a);
    st_counters_adapter_removed();
    if (st_logging())
        st_log_record_on(a, removal->clock,
                         &(stortimer_event){.type = STORTIMER_EVENT_ADAPTER_REMOVED,
                                            .extension = removal->extension});
    st_free(removal->extension);
    st_adapter_give_back_slot(a);
    return leaked;
}
