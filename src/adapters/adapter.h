/*
 * adapter.h - the state behind a HwDeviceExtension (SPEC S3).
 *
 * An adapter is made of parts that each belong to one module, which alone
 * reads or writes their fields:
 *   orders      arm_word.c     arm orders (a cache line of its own)
 *   run         running.c      the callback running now
 *   doorbell    doorbell.c     waking the real-clock dispatcher
 *   handover    handover.c     arms made above DISPATCH_LEVEL, not yet applied
 *   stats       counters.c     counters
 *   shards      shard.c        its timers' wheels, locks and counters
 *   timers      timer_ops.c    its timer slots: free list, count, limit
 *   dpcs        dpc.c          its DPCs and their run queue (dpc_ops.c acts)
 *   pauses      pause.c        its pause and its units' (pause_ops.c acts)
 * and the identity, lock mode, clock and runner below: the slot table's
 * fields (index, free_next) are adapter.c's, the rest is set by
 * lifecycle.c when the adapter is made and removed (the runner through
 * st_adapter_set_runner). Other modules reach an embedded part only by
 * handing it to its module's functions (st_doorbell_ring(&a->doorbell));
 * the checker (adapter_check.c) reads every part.
 *
 * Locks, in the order they are taken: a virtual clock's advance lock, then
 * the StartIo lock (only ever tried while holding the advance lock), then a
 * clock's list lock, then the adapter lock (`mutex`), then shard locks (in
 * index order), then the registry's lock.
 */
#ifndef STORTIMER_ADAPTERS_ADAPTER_H
#define STORTIMER_ADAPTERS_ADAPTER_H

#include "adapters/arm_word.h"
#include "adapters/counters.h"
#include "adapters/doorbell.h"
#include "adapters/dpc.h"
#include "adapters/handover.h"
#include "adapters/pause.h"
#include "adapters/running.h"
#include "adapters/shard.h"
#include "platform/lock.h"
#include "stortimer.h"

typedef struct st_adapter st_adapter;

/* An adapter's timer slots (timer_ops.c's; under the adapter lock). */
typedef struct st_timer_book {
    stw_id free_slots;               /* slots it freed, for its next timers */
    uint32_t count, max;             /* live timers; the limit (0: none) */
} st_timer_book;

/* Padded on purpose: the groups written by different threads (orders, the
 * adapter lock, the hand-over queue, each shard) sit on lines of their own. */
struct st_adapter { // NOLINT(clang-analyzer-optin.performance.Padding)
    /* Identity, read without locks to find an adapter by its extension. */
    _Atomic(void *) extension;       /* published while live, else NULL */
    _Atomic uint64_t serial;         /* new on every creation in this slot */
    uint32_t index;                  /* of the slot; its timers' owner is index + 1 */
    _Atomic bool live;               /* written under the adapter lock */
    st_adapter *free_next;           /* the slot table's free list */
    st_timer *legacy;                /* the RequestTimerCall slot, for good */

    st_orders orders;

    _Alignas(64) st_mutex mutex;     /* the adapter lock; not on the orders' line */
    st_lock startio, dpc, interrupt_own;
    st_lock *interrupt;              /* &startio in half-duplex mode */
    st_running run;
    st_timer_book timers;
    st_dpcs dpcs;
    st_pauses pauses;
    /* NULL: the real clock. Read lock-free (st_adapter_clock): a late reader
     * racing a removal falls back to the real clock. */
    _Atomic(stortimer_clock *) clock;
    /* Whoever runs this adapter's due work (time/): a dispatcher thread or a
     * virtual clock's record of it; registered with st_adapter_set_runner. */
    void *runner;
    st_doorbell doorbell;

    _Alignas(64) st_handover_queue handover;
    st_counters stats;
    st_shards shards;
};

/* A live adapter as found, with the serial it had: a later look checks that
 * it is still that adapter. */
typedef struct st_adapter_ref {
    st_adapter *adapter;
    uint64_t serial;
} st_adapter_ref;

/* The adapter's clock (NULL: real). */
static inline stortimer_clock *st_adapter_clock(const st_adapter *a)
{
    return atomic_load_explicit(&a->clock, memory_order_relaxed);
}

static inline uint64_t st_adapter_serial(const st_adapter *a)
{
    return atomic_load(&a->serial);
}

/* The extension while the adapter is live, else NULL. Lock-free. */
static inline void *st_adapter_extension(const st_adapter *a)
{
    return atomic_load(&a->extension);
}

/* Whether the adapter is live (its lock held, or as a hint). */
static inline bool st_adapter_live(const st_adapter *a)
{
    return atomic_load(&a->live);
}

/* The order the adapter's next arm will take: arms from now on have this
 * order or a later one. */
static inline uint64_t st_adapter_next_order(const st_adapter *a)
{
    return st_orders_next(&a->orders);
}

/* A fresh order from the adapter's counter: a DPC issue or a pause takes
 * one at its call, so that it is ordered with the arms (S14.8). */
static inline uint64_t st_adapter_take_order(st_adapter *a)
{
    return st_orders_take(&a->orders, 0);
}

/* The adapter's StartIo lock, which its timer callbacks hold (S8.1). */
static inline st_lock *st_adapter_startio(st_adapter *a)
{
    return &a->startio;
}

/* Whether arms handed over from above DISPATCH_LEVEL wait to be applied
 * (reserved cells included). Lock-free, a hint. */
static inline bool st_adapter_handovers_waiting(const st_adapter *a)
{
    return st_handover_waiting(&a->handover);
}

/* The adapter's counters; NULL: those of misuse that names no adapter. */
static inline st_counters *st_adapter_counters(st_adapter *a)
{
    return a ? &a->stats : st_counters_unattributed();
}

/* ---- the slot table (adapter.c) ---- */

/* An adapter slot with its locks ready, not yet published; NULL if none. */
st_adapter *st_adapter_take_slot(void);

/* Returns a slot whose adapter was removed (or never published). */
void st_adapter_give_back_slot(st_adapter *a);

/* Finds the live adapter whose extension is `extension`, comparing pointers
 * only: never dereferences it. Lock-free. */
bool st_adapter_find(const void *extension, st_adapter_ref *ref);

/* Adapter slots: slot i is entry i % ST_ADAPTER_CHUNK of chunk
 * i / ST_ADAPTER_CHUNK (adapter.c writes each entry once, before any of
 * its slots is handed out). */
#define ST_ADAPTER_CHUNK 8u
#define ST_ADAPTER_CHUNKS 2047u
extern _Atomic(st_adapter *) st_adapter_chunks[ST_ADAPTER_CHUNKS];

/* The adapter of a timer slot's owner (live or not), or NULL. Lock-free;
 * inline: every StorPortRequestTimer asks it. */
static inline st_adapter *st_adapter_of_owner(uint32_t owner)
{
    if (!owner || owner > ST_ADAPTER_CHUNKS * ST_ADAPTER_CHUNK)
        return NULL;
    uint32_t index = owner - 1u;
    st_adapter *chunk = atomic_load_explicit(&st_adapter_chunks[index / ST_ADAPTER_CHUNK],
                                             memory_order_acquire);
    return chunk ? &chunk[index % ST_ADAPTER_CHUNK] : NULL;
}

/* The adapter lock at address `object` (an st_lock of an adapter), with
 * its adapter; NULL if `object` is no lock of ours. Compares addresses. */
st_lock *st_adapter_find_lock(const void *object, st_adapter **adapter);

/* Calls visit on every adapter slot ever made (live or not). */
void st_adapter_visit_slots(void (*visit)(st_adapter *a, void *ctx), void *ctx);

/* ---- locking ---- */

/* Locks the adapter if it is still the one `ref` found; false (unlocked)
 * if it is gone. */
bool st_adapter_lock(const st_adapter_ref *ref);
void st_adapter_unlock(st_adapter *a);

/* Takes the adapter lock of a slot, whatever adapter it holds now (or
 * none): for those that visit every slot. */
static inline void st_adapter_lock_slot(st_adapter *a)
{
    st_mutex_lock(&a->mutex);
}

/* Whether the adapter is live and still the one of `serial` (its lock held,
 * or as a hint). */
static inline bool st_adapter_is(const st_adapter *a, uint64_t serial)
{
    return atomic_load(&a->live) && atomic_load(&a->serial) == serial;
}

/* The spin lock of that kind and the IRQL it raises to; NULL for an
 * unknown kind (SPEC S9.1). */
st_lock *st_adapter_spin_lock(st_adapter *a, STOR_SPINLOCK kind, KIRQL *level);

/* Whether the calling thread holds one of the adapter's spin locks. */
bool st_adapter_lock_held_by_me(const st_adapter *a);

/* Adds the adapter's counters (its own and its shards') to a stats record,
 * unless they were retired into the process totals by its removal.
 * Adapter lock held. */
void st_adapter_add_counters(st_adapter *a, stortimer_stats *out);

/* ---- runners (time/) ---- */

/* Registers (or, NULL, forgets) who runs the adapter's due work. */
void st_adapter_set_runner(st_adapter *a, void *runner);
void *st_adapter_runner(const st_adapter *a);

#endif
