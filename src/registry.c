/* registry.c - chunked, never-freed tables of adapters and timers. */
#include "registry.h"

#include "alloc.h"

#include <pthread.h>
#include <string.h>

/* Handle value: (serial << ST_SLOT_BITS) | slot. Serials start at 1, so a
 * handle is never NULL, and 40 bits of serial outlast any process. */
#define ST_SLOT_BITS 24u
#define ST_TIMER_CHUNK 1024u
#define ST_TIMER_CHUNKS ((1u << ST_SLOT_BITS) / ST_TIMER_CHUNK)
#define ST_ADAPTER_CHUNK 8u
#define ST_ADAPTER_CHUNKS 4096u
#define ST_QUARANTINE 4096u

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

static void adapter_slot_init(st_adapter *a)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->mutex, NULL);
    pthread_cond_init(&a->idle, NULL);
    st_lock_init(&a->startio);
    st_lock_init(&a->dpc);
    st_lock_init(&a->interrupt_own);
    stq_init(&a->queue);
    for (uint32_t i = 0; i < ST_HANDOVER_SLOTS; i++)
        atomic_init(&a->handover[i].turn, i);
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
                st_adapter *fresh = st_calloc(ST_ADAPTER_CHUNK, sizeof *fresh);
                if (fresh) {
                    for (uint32_t i = 0; i < ST_ADAPTER_CHUNK; i++)
                        adapter_slot_init(&fresh[i]);
                    atomic_store_explicit(&adapter_chunks[chunk], fresh, memory_order_release);
                }
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

st_adapter *st_registry_adapter_find(const void *extension, uint64_t *serial)
{
    if (!extension)
        return NULL;
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; i < made; i++) {
        st_adapter *a = adapter_slot(i);
        if (atomic_load_explicit(&a->extension, memory_order_acquire) == extension) {
            *serial = atomic_load_explicit(&a->serial, memory_order_acquire);
            /* Still the same adapter after reading its serial? */
            if (atomic_load_explicit(&a->extension, memory_order_acquire) == extension)
                return a;
        }
    }
    return NULL;
}

st_lock *st_registry_find_lock(const void *object, st_adapter **adapter)
{
    uint32_t made = atomic_load_explicit(&adapters_made, memory_order_acquire);
    for (uint32_t i = 0; object && i < made; i++) {
        st_adapter *a = adapter_slot(i);
        st_lock *locks[] = {&a->startio, &a->dpc, &a->interrupt_own};
        for (size_t k = 0; k < sizeof locks / sizeof locks[0]; k++) {
            if (object == locks[k]) {
                *adapter = a;
                return locks[k];
            }
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

static _Atomic(st_timer *) timer_chunks[ST_TIMER_CHUNKS];
static uint32_t timers_made;             /* under registry_lock */
static uint64_t next_serial = 1;         /* under registry_lock */
static st_timer *free_head, *free_tail;  /* FIFO, under registry_lock */
static uint32_t free_count;

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
        st_timer *fresh = st_calloc(ST_TIMER_CHUNK, sizeof *fresh);
        if (!fresh)
            return NULL;
        for (uint32_t i = 0; i < ST_TIMER_CHUNK; i++)
            fresh[i].slot = chunk * ST_TIMER_CHUNK + i;
        atomic_store_explicit(&timer_chunks[chunk], fresh, memory_order_release);
    }
    return timer_slot(timers_made++);
}

static st_timer *pop_free_timer(void)
{
    st_timer *t = free_head;
    free_head = t->next;
    if (!free_head)
        free_tail = NULL;
    free_count--;
    return t;
}

st_timer *st_registry_timer_take(uint64_t *handle)
{
    pthread_mutex_lock(&registry_lock);
    st_timer *t = NULL;
    if (free_count > ST_QUARANTINE)
        t = pop_free_timer();
    if (!t)
        t = make_timer_slot();
    if (!t && free_count)
        t = pop_free_timer(); /* table full: shorten the quarantine */
    if (t)
        *handle = (next_serial++ << ST_SLOT_BITS) | t->slot;
    pthread_mutex_unlock(&registry_lock);
    if (t) {
        t->prev = t->next = NULL;
        t->release_after_callback = false;
        t->callback = NULL;
        t->context = NULL;
    }
    return t;
}

void st_registry_timer_give_back(st_timer *t)
{
    pthread_mutex_lock(&registry_lock);
    t->next = NULL;
    if (free_tail)
        free_tail->next = t;
    else
        free_head = t;
    free_tail = t;
    free_count++;
    pthread_mutex_unlock(&registry_lock);
}

st_timer *st_registry_timer_at(uint64_t handle)
{
    uint32_t slot = (uint32_t)(handle & ((1u << ST_SLOT_BITS) - 1));
    if (handle >> ST_SLOT_BITS == 0)
        return NULL;
    return timer_slot(slot);
}
