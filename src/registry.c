/* registry.c - chunked, never-freed tables of adapters and timers. */
#include "registry.h"

#include "alloc.h"
#include "arm_word.h"
#include "thread_state.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* A handle carries a slot index of ST_SLOT_BITS and a 39-bit generation. */
#define ST_TIMER_CHUNK 1024u
#define ST_TIMER_CHUNKS ((1u << ST_SLOT_BITS) / ST_TIMER_CHUNK)
#define ST_ADAPTER_CHUNK 8u
#define ST_ADAPTER_CHUNKS 2047u
_Static_assert(ST_ADAPTER_CHUNKS * ST_ADAPTER_CHUNK <= ST_OWNER_ADAPTER,
               "an adapter slot index + 1 fits in a timer's owner word");

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
/* One shard per processor, at most ST_MAX_SHARDS. */
static uint32_t shard_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > (long)ST_MAX_SHARDS ? ST_MAX_SHARDS : (uint32_t)cpus;
}

static void shard_locks_destroy(st_adapter *a, uint32_t made)
{
    while (made--)
        pthread_mutex_destroy(&a->shard[made].mutex);
}

static bool adapter_slot_init(st_adapter *a)
{
    memset(a, 0, sizeof *a);
    a->free_timers = STW_NONE;
    a->shards = shard_count();
    for (uint32_t i = 0; i < ST_HANDOVER_SLOTS; i++)
        atomic_init(&a->handover[i].turn, i);
    for (uint32_t i = 0; i < a->shards; i++) {
        if (!st_mutex_init(&a->shard[i].mutex)) {
            shard_locks_destroy(a, i);
            return false;
        }
    }
    if (!st_mutex_init(&a->mutex)) {
        shard_locks_destroy(a, a->shards);
        return false;
    }
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
    shard_locks_destroy(a, a->shards);
    return false;
}

static void adapter_slot_destroy(st_adapter *a)
{
    st_lock_destroy(&a->interrupt_own);
    st_lock_destroy(&a->dpc);
    st_lock_destroy(&a->startio);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->mutex);
    shard_locks_destroy(a, a->shards);
}

static st_timer *make_timer_slot(void);
static void pool_push(st_timer *t);

/* A chunk of ready adapter slots, each with its legacy timer slot, or
 * NULL. registry_lock held. */
static st_adapter *make_adapter_chunk(uint32_t chunk)
{
    st_adapter *fresh = st_calloc_retained(ST_ADAPTER_CHUNK, sizeof *fresh);
    if (!fresh)
        return NULL;
    for (uint32_t i = 0; i < ST_ADAPTER_CHUNK; i++) {
        st_adapter *a = &fresh[i];
        st_timer *legacy = make_timer_slot();
        if (!legacy || !adapter_slot_init(a)) {
            if (legacy)
                pool_push(legacy);
            while (i--) {
                pool_push(fresh[i].legacy);
                adapter_slot_destroy(&fresh[i]);
            }
            st_free_retained(fresh);
            return NULL;
        }
        a->index = chunk * ST_ADAPTER_CHUNK + i;
        a->legacy = legacy;
        atomic_store(&legacy->owner, (uint16_t)(a->index + 1)); /* for good */
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
                st_adapter *fresh = make_adapter_chunk(chunk);
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
/* The same chunks, for the wheels (stw_table): each entry is written once,
 * under registry_lock, before any slot of its chunk is handed out. */
static void *timer_chunk_bases[ST_TIMER_CHUNKS];
static uint32_t timers_made;             /* under registry_lock */
static stw_id pool = STW_NONE;           /* slots of no adapter, under registry_lock */

/* Handles issued from one slot to one owner are counted to 2^24 - 1. */
#define ST_ISSUED_MAX ((UINT32_C(1) << 24) - 1)
/* Generations fit in 39 bits: bit 63 of `issued` is ST_LIVE. */
#define ST_GENERATION_MAX ((UINT64_C(1) << (63 - ST_SLOT_BITS)) - 1)

static st_timer *timer_slot(uint32_t slot)
{
    st_timer *chunk = atomic_load_explicit(&timer_chunks[slot / ST_TIMER_CHUNK],
                                           memory_order_acquire);
    return chunk ? &chunk[slot % ST_TIMER_CHUNK] : NULL;
}

stw_table st_registry_timer_table(void)
{
    _Static_assert(ST_TIMER_CHUNK == 1u << 10, "ids per chunk");
    return (stw_table){timer_chunk_bases, 10, sizeof(st_timer)};
}

static uint32_t issued_by_owner(const st_timer *t)
{
    return st_get24(t->issued_by_owner);
}

static void set_issued_by_owner(st_timer *t, uint32_t n)
{
    st_set24(t->issued_by_owner, n);
}

/* A new slot; NULL if none can be had. registry_lock held. */
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
            atomic_init(&fresh[i].issued, chunk * ST_TIMER_CHUNK + i); /* generation 0 */
            stw_node_init(&fresh[i].node);
        }
        timer_chunk_bases[chunk] = fresh;
        atomic_store_explicit(&timer_chunks[chunk], fresh, memory_order_release);
    }
    return timer_slot(timers_made++);
}

static void push(stw_id *list, st_timer *t)
{
    t->node.link.next = *list;
    *list = st_timer_id(t);
}

static st_timer *pop(stw_id *list)
{
    if (*list == STW_NONE)
        return NULL;
    st_timer *t = timer_slot(*list);
    *list = t->node.link.next;
    stw_node_init(&t->node);
    return t;
}

/* A slot from the common pool, now owned by adapter `a`. */
static st_timer *adopt_slot(st_adapter *a)
{
    pthread_mutex_lock(&registry_lock);
    st_timer *t = pop(&pool);
    if (!t)
        t = make_timer_slot();
    pthread_mutex_unlock(&registry_lock);
    if (t) {
        set_issued_by_owner(t, 0);
        atomic_store(&t->owner, (uint16_t)(a->index + 1));
    }
    return t;
}

st_timer *st_registry_timer_take(st_adapter *a, uint64_t *handle, uint64_t *issued)
{
    st_timer *t = pop(&a->free_timers);
    if (!t && !(t = adopt_slot(a)))
        return NULL;
    uint64_t plain = atomic_load(&t->issued) & ~ST_LIVE, value;
    do { /* 0 is no handle: skip the one generation that would encode to it */
        plain += UINT64_C(1) << ST_SLOT_BITS;
        value = encode_handle(plain);
    } while (value == 0);
    uint32_t n = issued_by_owner(t);
    set_issued_by_owner(t, n < ST_ISSUED_MAX ? n + 1 : n);
    atomic_store(&t->issued, plain); /* the next generation, not yet live */
    *handle = value;
    *issued = plain | ST_LIVE;
    t->callback.extended = NULL;
    t->context = NULL;
    return t;
}

/* A slot whose generations are used up is never handed out again. */
static bool exhausted(const st_timer *t)
{
    return (atomic_load(&t->issued) & ~ST_LIVE) >> ST_SLOT_BITS >= ST_GENERATION_MAX;
}

void st_registry_timer_give_back(st_adapter *a, st_timer *t)
{
    if (!exhausted(t))
        push(&a->free_timers, t);
}

/* A slot of no adapter any more, into the common pool. registry_lock held. */
static void pool_push(st_timer *t)
{
    atomic_store(&t->owner, 0);
    if (!exhausted(t))
        push(&pool, t);
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
    for (st_timer *t; (t = pop(&a->free_timers));)
        pool_push(t);
    pthread_mutex_unlock(&registry_lock);
}

uint64_t st_registry_handle_of(uint64_t issued)
{
    return encode_handle(issued & ~ST_LIVE);
}

st_timer *st_registry_timer_at(uint64_t handle, uint64_t *plain)
{
    uint64_t value = decode_handle(handle);
    if (value & ST_LIVE)
        return NULL; /* no handle decodes to this: forged */
    if (plain)
        *plain = value;
    return timer_slot((uint32_t)(value & ST_SLOT_MASK));
}

st_adapter *st_registry_timer_owner(const st_timer *t)
{
    uint32_t owner = st_owner_adapter(atomic_load(&t->owner));
    return owner ? adapter_slot(owner - 1u) : NULL;
}

bool st_registry_timer_was_freed(const st_adapter *a, uint64_t handle)
{
    uint64_t plain;
    st_timer *t = st_registry_timer_at(handle, &plain);
    if (!t || st_owner_adapter(atomic_load(&t->owner)) != a->index + 1)
        return false;
    uint64_t issued = atomic_load(&t->issued);
    uint64_t current = (issued & ~ST_LIVE) >> ST_SLOT_BITS, generation = plain >> ST_SLOT_BITS;
    uint64_t first = current + 1 - issued_by_owner(t); /* the owner's first */
    return generation >= first && generation <= current && (plain | ST_LIVE) != issued;
}

void st_registry_timers_visit(st_adapter *a, void (*visit)(st_timer *t, void *ctx), void *ctx)
{
    pthread_mutex_lock(&registry_lock);
    uint32_t made = timers_made;
    pthread_mutex_unlock(&registry_lock);
    for (uint32_t i = 0; i < made; i++) {
        st_timer *t = timer_slot(i);
        if (st_owner_adapter(atomic_load(&t->owner)) == a->index + 1 &&
            (atomic_load(&t->issued) & ST_LIVE))
            visit(t, ctx);
    }
}

bool st_owner_live(const st_owner *o)
{
    if (o->issued)
        return atomic_load(&o->timer->issued) == o->issued;
    return atomic_load(&o->adapter->extension) == o->extension &&
           atomic_load(&o->adapter->serial) == o->serial;
}
