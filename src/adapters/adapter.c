/*
 * adapter.c - the table of adapter slots, finding an adapter by its
 * extension, and an adapter's locks.
 *
 * Slots live in chunks that are never freed, so no lookup ever
 * dereferences a pointer it was given: it compares the pointer with the
 * extensions of the slots, and a lookup racing a removal reads memory that
 * is still ours. Lookups take no lock (they run in signal handlers too). A
 * slot is reused only with a new serial, so a stale extension pointer never
 * matches the new adapter's state (its handles are rejected, S12.2).
 */
#include "adapters/adapter.h"

#include "adapters/registry.h"
#include "platform/alloc.h"
#include "platform/thread_state.h"

#include <string.h>

_Static_assert(ST_ADAPTER_CHUNKS * ST_ADAPTER_CHUNK <= ST_OWNER_MAX,
               "an adapter slot index + 1 fits in a timer's owner word");

static st_mutex table_lock = ST_MUTEX_INITIALIZER;
_Atomic(st_adapter *) st_adapter_chunks[ST_ADAPTER_CHUNKS];
static _Atomic uint32_t adapters_made;   /* slots made so far (a high-water mark) */
static st_adapter *adapters_free;        /* under table_lock */

static st_adapter *adapter_slot(uint32_t index)
{
    st_adapter *chunk = atomic_load_explicit(&st_adapter_chunks[index / ST_ADAPTER_CHUNK],
                                             memory_order_acquire);
    return chunk ? &chunk[index % ST_ADAPTER_CHUNK] : NULL;
}

/* Makes a slot's locks, condition and shards; false (nothing left made)
 * when the system refuses one. */
static bool slot_init(st_adapter *a)
{
    memset(a, 0, sizeof *a);
    st_handover_init(&a->handover);
    st_shards_init(&a->shards);
    if (!st_mutex_init(&a->mutex))
        return false;
    if (!st_running_init(&a->run))
        goto no_cond;
    if (!st_lock_init(&a->startio))
        goto no_startio;
    if (!st_lock_init(&a->dpc))
        goto no_dpc;
    if (!st_lock_init(&a->interrupt_own))
        goto no_interrupt;
    return true;
no_interrupt:
    st_lock_destroy(&a->dpc);
no_dpc:
    st_lock_destroy(&a->startio);
no_startio:
    st_running_destroy(&a->run);
no_cond:
    st_mutex_destroy(&a->mutex);
    return false;
}

static void slot_destroy(st_adapter *a)
{
    st_lock_destroy(&a->interrupt_own);
    st_lock_destroy(&a->dpc);
    st_lock_destroy(&a->startio);
    st_running_destroy(&a->run);
    st_mutex_destroy(&a->mutex);
}

/* A chunk of ready adapter slots, each with its legacy timer slot, or
 * NULL. table_lock held. */
static st_adapter *make_chunk(uint32_t chunk)
{
    st_adapter *fresh = st_calloc_retained(ST_ADAPTER_CHUNK, sizeof *fresh);
    if (!fresh)
        return NULL;
    for (uint32_t i = 0; i < ST_ADAPTER_CHUNK; i++) {
        st_adapter *a = &fresh[i];
        uint32_t index = chunk * ST_ADAPTER_CHUNK + i;
        st_timer *legacy = st_registry_timer_for_good(index + 1);
        if (!legacy || !slot_init(a)) {
            if (legacy)
                st_registry_timer_to_pool(legacy);
            while (i--) {
                st_registry_timer_to_pool(fresh[i].legacy);
                slot_destroy(&fresh[i]);
            }
            st_free_retained(fresh);
            return NULL;
        }
        a->index = index;
        a->legacy = legacy;
    }
    return fresh;
}

st_adapter *st_adapter_take_slot(void)
{
    st_mutex_lock(&table_lock);
    st_adapter *a = adapters_free;
    if (a) {
        adapters_free = a->free_next;
    } else {
        uint32_t index = atomic_load_explicit(&adapters_made, memory_order_relaxed);
        uint32_t chunk = index / ST_ADAPTER_CHUNK;
        if (chunk < ST_ADAPTER_CHUNKS) {
            if (!atomic_load_explicit(&st_adapter_chunks[chunk], memory_order_relaxed)) {
                st_adapter *fresh = make_chunk(chunk);
                if (fresh)
                    atomic_store_explicit(&st_adapter_chunks[chunk], fresh, memory_order_release);
            }
            a = adapter_slot(index);
            if (a)
                atomic_store_explicit(&adapters_made, index + 1, memory_order_release);
        }
    }
    st_mutex_unlock(&table_lock);
    return a;
}

void st_adapter_give_back_slot(st_adapter *a)
{
    st_mutex_lock(&table_lock);
    a->free_next = adapters_free;
    adapters_free = a;
    st_mutex_unlock(&table_lock);
}

/*
 * The adapter this thread found last. A miniport's calls come in runs on one
 * adapter (acquire, arm, release on every I/O), so most lookups end here
 * instead of scanning the slots. One word: a signal handler that lands
 * mid-update sees the old or the new adapter, both checked before use.
 */
static _Thread_local st_adapter *last_found ST_TLS_MODEL;

/* Whether `a` is the live adapter of `extension`; fills *ref if so. */
static bool match(st_adapter *a, const void *extension, st_adapter_ref *ref)
{
    if (atomic_load_explicit(&a->extension, memory_order_acquire) != extension)
        return false;
    uint64_t serial = atomic_load_explicit(&a->serial, memory_order_acquire);
    /* Still the same adapter after reading its serial? */
    if (atomic_load_explicit(&a->extension, memory_order_acquire) != extension)
        return false;
    last_found = a;
    *ref = (st_adapter_ref){a, serial};
    return true;
}

bool st_adapter_find(const void *extension, st_adapter_ref *ref)
{
    if (!extension)
        return false;
    st_adapter *cached = last_found;
    if (cached && match(cached, extension, ref))
        return true;
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++)
        if (match(adapter_slot(i), extension, ref))
            return true;
    return false;
}

/* The lock of adapter `a` at address `object`, or NULL. */
static st_lock *lock_of(st_adapter *a, const void *object)
{
    st_lock *locks[] = {&a->startio, &a->dpc, &a->interrupt_own};
    for (size_t k = 0; k < sizeof locks / sizeof locks[0]; k++)
        if (object == locks[k])
            return locks[k];
    return NULL;
}

st_lock *st_adapter_find_lock(const void *object, st_adapter **adapter)
{
    if (!object)
        return NULL;
    st_adapter *cached = last_found;
    st_lock *lock = cached ? lock_of(cached, object) : NULL;
    if (lock) {
        *adapter = cached;
        return lock;
    }
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++) {
        st_adapter *a = adapter_slot(i);
        if ((lock = lock_of(a, object))) {
            *adapter = a;
            return lock;
        }
    }
    return NULL;
}

void st_adapter_visit_slots(void (*visit)(st_adapter *a, void *ctx), void *ctx)
{
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++)
        visit(adapter_slot(i), ctx);
}

bool st_adapter_lock(const st_adapter_ref *ref)
{
    st_adapter *a = ref->adapter;
    st_mutex_lock(&a->mutex);
    if (!st_adapter_is(a, ref->serial)) {
        st_mutex_unlock(&a->mutex);
        return false;
    }
    return true;
}

void st_adapter_unlock(st_adapter *a)
{
    st_mutex_unlock(&a->mutex);
}

st_lock *st_adapter_spin_lock(st_adapter *a, STOR_SPINLOCK kind, KIRQL *level)
{
    switch (kind) {
    case DpcLock: *level = DISPATCH_LEVEL; return &a->dpc;
    case StartIoLock: *level = DISPATCH_LEVEL; return &a->startio;
    case InterruptLock: *level = STOR_DEVICE_LEVEL; return a->interrupt;
    default: return NULL;
    }
}

bool st_adapter_lock_held_by_me(const st_adapter *a)
{
    return st_lock_held_by_me(&a->startio) || st_lock_held_by_me(&a->dpc) ||
           st_lock_held_by_me(a->interrupt) || st_dpcs_lock_held_by_me(a);
}

void st_adapter_add_counters(st_adapter *a, stortimer_stats *out)
{
    st_counters_add(out, &a->stats);
    st_shards_add_counters(&a->shards, out);
}

void st_adapter_set_runner(st_adapter *a, void *runner)
{
    a->runner = runner;
}

void *st_adapter_runner(const st_adapter *a)
{
    return a->runner;
}
