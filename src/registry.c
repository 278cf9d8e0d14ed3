/* registry.c - chunked, never-freed tables of adapters and timers. */
#include "registry.h"

#include "alloc.h"
#include "arm_word.h"
#include "thread_state.h"

#include <pthread.h>
#include <string.h>

/* A handle carries a slot index of ST_SLOT_BITS and a 40-bit generation. */
#define ST_SLOT_BITS 24u
#define ST_TIMER_CHUNK 1024u
#define ST_TIMER_CHUNKS ((1u << ST_SLOT_BITS) / ST_TIMER_CHUNK)
#define ST_ADAPTER_CHUNK 8u
#define ST_ADAPTER_CHUNKS 4096u

_Static_assert(sizeof(void *) >= 8, "handles need 64-bit pointers");

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- adapters ---- */

static _Atomic(st_adapter *) adapter_chunks[ST_ADAPTER_CHUNKS];
static _Atomic uint32_t adapters_made;   /* slots made so far (a high-water mark) */
static st_adapter *adapters_free;        /* under registry_lock */

static st_adapter *adapter_slot(uint32_t index)
{
    st_adapter *chunk = atomic_load_explicit(&adapter_chunks[index / ST_ADAPTER_CHUNK],
                                             memory_order_acquire);
    return chunk ? &chunk[index % ST_ADAPTER_CHUNK] : NULL;
}

/* Makes a slot's mutex, condition and locks; false (nothing left made)
 * when the system refuses one. */
static bool adapter_slot_init(st_adapter *a)
{
    memset(a, 0, sizeof *a);
    for (uint32_t i = 0; i < ST_HANDOVER_SLOTS; i++)
        atomic_init(&a->handover[i].turn, i);
    if (!st_mutex_init(&a->mutex))
        return false;
    if (!st_cond_init(&a->idle))
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
    pthread_cond_destroy(&a->idle);
no_cond:
    pthread_mutex_destroy(&a->mutex);
    return false;
}

static void adapter_slot_destroy(st_adapter *a)
{
    st_lock_destroy(&a->interrupt_own);
    st_lock_destroy(&a->dpc);
    st_lock_destroy(&a->startio);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mutex);
}

/* A chunk of ready adapter slots, or NULL. */
static st_adapter *make_adapter_chunk(void)
{
    st_adapter *fresh = st_calloc_retained(ST_ADAPTER_CHUNK, sizeof *fresh);
    if (!fresh)
        return NULL;
    for (uint32_t i = 0; i < ST_ADAPTER_CHUNK; i++) {
        if (!adapter_slot_init(&fresh[i])) {
            while (i--)
                adapter_slot_destroy(&fresh[i]);
            st_free_retained(fresh);
            return NULL;
        }
    }
    return fresh;
}

st_adapter *st_registry_adapter_take(void)
{
    pthread_mutex_lock(&registry_lock);
    st_adapter *a = adapters_free;
    if (a) {
        adapters_free = a->free_next;
    } else {
        uint32_t index = atomic_load_explicit(&adapters_made, memory_order_relaxed);
        uint32_t chunk = index / ST_ADAPTER_CHUNK;
        if (chunk < ST_ADAPTER_CHUNKS) {
            if (!atomic_load_explicit(&adapter_chunks[chunk], memory_order_relaxed)) {
                st_adapter *fresh = make_adapter_chunk();
                if (fresh)
                    atomic_store_explicit(&adapter_chunks[chunk], fresh, memory_order_release);
            }
            a = adapter_slot(index);
            if (a)
                atomic_store_explicit(&adapters_made, index + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return a;
}

void st_registry_adapter_give_back(st_adapter *a)
{
    pthread_mutex_lock(&registry_lock);
    a->free_next = adapters_free;
    adapters_free = a;
    pthread_mutex_unlock(&registry_lock);
}

/*
 * The adapter this thread found last. A miniport's calls come in runs on one
 * adapter (acquire, arm, release on every I/O), so most lookups end here
 * instead of scanning the slots. One word: a signal handler that lands
 * mid-update sees the old or the new adapter, both checked before use.
 */
static _Thread_local st_adapter *last_found ST_TLS_MODEL;

/* `a` if it is the live adapter of `extension`, with its serial. */
static st_adapter *match(st_adapter *a, const void *extension, uint64_t *serial)
{
    if (atomic_load_explicit(&a->extension, memory_order_acquire) != extension)
        return NULL;
    *serial = atomic_load_explicit(&a->serial, memory_order_acquire);
    /* Still the same adapter after reading its serial? */
    if (atomic_load_explicit(&a->extension, memory_order_acquire) != extension)
        return NULL;
    last_found = a;
    return a;
}

st_adapter *st_registry_adapter_find(const void *extension, uint64_t *serial)
{
    if (!extension)
        return NULL;
    st_adapter *cached = last_found;
    if (cached && match(cached, extension, serial))
        return cached;
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++) {
        st_adapter *a = match(adapter_slot(i), extension, serial);
        if (a)
            return a;
    }
    return NULL;
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

st_lock *st_registry_find_lock(const void *object, st_adapter **adapter)
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

void st_registry_adapters_visit(void (*visit)(st_adapter *a, void *ctx), void *ctx)
{
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++)
        visit(adapter_slot(i), ctx);
}

/* ---- timers ---- */

/*
 * A handle is the slot index and the slot's generation, (generation << 24) |
 * slot, passed through a fixed 64-bit permutation (a four-round Feistel
 * network). The permutation keeps handles unique (it is a bijection) and
 * makes them sparse: a handle changed by one bit, or made up, decodes to a
 * generation far beyond anything its slot has issued, so it is told apart
 * from every real handle, live or freed.
 */
static const uint32_t handle_keys[4] = {0x9E3779B9u, 0x7F4A7C15u, 0xF39CC060u, 0x5CEDC834u};

static uint32_t mix(uint32_t x, uint32_t key)
{
    x ^= key;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

static uint64_t encode_handle(uint64_t plain)
{
    uint32_t left = (uint32_t)(plain >> 32), right = (uint32_t)plain;
    for (int round = 0; round < 4; round++) {
        uint32_t next = left ^ mix(right, handle_keys[round]);
        left = right;
        right = next;
    }
    return (uint64_t)left << 32 | right;
}

static uint64_t decode_handle(uint64_t handle)
{
    uint32_t left = (uint32_t)(handle >> 32), right = (uint32_t)handle;
    for (int round = 3; round >= 0; round--) {
        uint32_t previous = right ^ mix(left, handle_keys[round]);
        right = left;
        left = previous;
    }
    return (uint64_t)left << 32 | right;
}

static _Atomic(st_timer *) timer_chunks[ST_TIMER_CHUNKS];
static uint32_t timers_made;             /* under registry_lock */
static st_timer *pool;                   /* slots of no adapter, under registry_lock */

static st_timer *timer_slot(uint32_t slot)
{
    st_timer *chunk = atomic_load_explicit(&timer_chunks[slot / ST_TIMER_CHUNK],
                                           memory_order_acquire);
    return chunk ? &chunk[slot % ST_TIMER_CHUNK] : NULL;
}

static st_timer *make_timer_slot(void)
{
    if (timers_made >= (1u << ST_SLOT_BITS))
        return NULL;
    uint32_t chunk = timers_made / ST_TIMER_CHUNK;
    if (!atomic_load_explicit(&timer_chunks[chunk], memory_order_relaxed)) {
        st_timer *fresh = st_calloc_retained(ST_TIMER_CHUNK, sizeof *fresh);
        if (!fresh)
            return NULL;
        for (uint32_t i = 0; i < ST_TIMER_CHUNK; i++) {
            fresh[i].slot = chunk * ST_TIMER_CHUNK + i;
            stw_node_init(&fresh[i].node);
        }
        atomic_store_explicit(&timer_chunks[chunk], fresh, memory_order_release);
    }
    return timer_slot(timers_made++);
}

/* A slot from the common pool, now owned by adapter `a`. */
static st_timer *adopt_slot(st_adapter *a)
{
    pthread_mutex_lock(&registry_lock);
    st_timer *t = pool;
    if (t)
        pool = t->next;
    else
        t = make_timer_slot();
    pthread_mutex_unlock(&registry_lock);
    if (t) {
        atomic_store(&t->owner_since, atomic_load(&t->generation) + 1);
        atomic_store(&t->owner_serial, atomic_load(&a->serial));
    }
    return t;
}

st_timer *st_registry_timer_take(st_adapter *a, uint64_t *handle)
{
    st_timer *t = a->free_timers;
    if (t)
        a->free_timers = t->next;
    else if (!(t = adopt_slot(a)))
        return NULL;
    uint64_t value;
    do { /* 0 is no handle: skip the one generation that would encode to it */
        uint64_t generation = atomic_fetch_add(&t->generation, 1) + 1;
        value = encode_handle(generation << ST_SLOT_BITS | t->slot);
    } while (value == 0);
    *handle = value;
    t->prev = t->next = NULL;
    t->release_after_callback = false;
    t->callback = NULL;
    t->context = NULL;
    return t;
}

void st_registry_timer_give_back(st_adapter *a, st_timer *t)
{
    t->next = a->free_timers;
    a->free_timers = t;
}

/* A slot of no adapter any more, into the common pool. registry_lock held. */
static void pool_push(st_timer *t)
{
    atomic_store(&t->owner_serial, 0);
    t->next = pool;
    pool = t;
}

void st_registry_timer_to_pool(st_timer *t)
{
    pthread_mutex_lock(&registry_lock);
    pool_push(t);
    pthread_mutex_unlock(&registry_lock);
}

void st_registry_timers_release(st_adapter *a)
{
    pthread_mutex_lock(&registry_lock);
    while (a->free_timers) {
        st_timer *t = a->free_timers;
        a->free_timers = t->next;
        pool_push(t);
    }
    pthread_mutex_unlock(&registry_lock);
}

st_timer *st_registry_timer_at(uint64_t handle, uint64_t *generation)
{
    uint64_t plain = decode_handle(handle);
    st_timer *t = timer_slot((uint32_t)(plain & ((1u << ST_SLOT_BITS) - 1)));
    if (generation)
        *generation = plain >> ST_SLOT_BITS;
    return t;
}

bool st_registry_timer_was_freed(const st_adapter *a, uint64_t handle)
{
    uint64_t generation;
    st_timer *t = st_registry_timer_at(handle, &generation);
    return t && atomic_load(&t->owner_serial) == atomic_load(&a->serial) &&
           generation >= atomic_load(&t->owner_since) &&
           generation <= atomic_load(&t->generation) &&
           atomic_load(&t->handle) != handle;
}

bool st_owner_live(const st_owner *o)
{
    if (o->handle)
        return atomic_load(&o->timer->handle) == o->handle;
    return atomic_load(&o->adapter->extension) == o->extension &&
           atomic_load(&o->adapter->serial) == o->serial;
}
