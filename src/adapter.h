/*
 * adapter.h - adapters and their timers: the state behind a HwDeviceExtension.
 *
 * Every adapter has one mutex (`mutex`, "the adapter lock") guarding the
 * fields marked so below, and its timers are spread over shards (st_shard),
 * each with a lock and a timing wheel of its own, so that threads arming
 * different timers of one adapter do not queue on one lock. Lock order: a
 * virtual clock's advance lock, then the StartIo lock (only ever tried
 * while holding the advance lock), then a clock's list lock, then the
 * adapter lock, then shard locks (in index order), then the registry lock.
 *
 * A timer's pending state lives in one atomic word, `arm`, because arms and
 * cancels above DISPATCH_LEVEL (SPEC S5.7) change it without any lock:
 *     arm = (order << 1) | pending
 * arm_word.h says how every change is made; a callback's start clears
 * `pending` for the exact order its wheel node was armed with, so a callback
 * starts at most once per arm.
 */
#ifndef STORTIMER_ADAPTER_H
#define STORTIMER_ADAPTER_H

#include "lock.h"
#include "stortimer.h"
#include "timer_wheel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ST_PENDING 1u

typedef struct st_adapter st_adapter;

/*
 * One timer slot: 64 bytes, one cache line, all a timer costs (SPEC S4's
 * handle bookkeeping included). Its wheel id is its slot index; the free
 * lists of the registry chain slots through node.link.next (a free slot is
 * in no wheel). The node, callback, context and fire_after_due are its
 * shard's (under the shard lock).
 */
typedef struct st_timer {
    stw_node node;                   /* first: at = fire time, seq = order */
    _Atomic uint64_t arm;            /* (order << 1) | pending */
    /* `issued`: the plain value of the slot's last handle, (generation <<
     * 24) | slot, with ST_LIVE while that handle lives (registry.c). */
    _Atomic uint64_t issued;
    /* Under the shard lock: */
    union {
        PHW_TIMER_EX extended;       /* of the queued arm */
        PHW_TIMER legacy;            /* the adapter's legacy slot */
    } callback;
    PVOID context;
    uint8_t fire_after_due[3];       /* at - due of the queued arm (<= 1 s) */
    /* Apart from the shard's bytes above: the adapter lock's. */
    uint8_t issued_by_owner[3];      /* handles the owner issued here,
                                        saturating at 2^24 - 1 (S6.3) */
    /* (shard << 14) | (adapter slot index + 1); 0: no adapter. Read
     * lock-free; the shard bits change under the shard locks (they say
     * which shard's wheel the node is, or was last, in). */
    _Atomic uint16_t owner;
} st_timer;

#define ST_OWNER_SHARD_SHIFT 14
#define ST_OWNER_ADAPTER ((1u << ST_OWNER_SHARD_SHIFT) - 1) /* index + 1 */

/* The adapter part of an owner word. */
static inline uint32_t st_owner_adapter(uint16_t owner)
{
    return owner & ST_OWNER_ADAPTER;
}

/* Three little-endian bytes, for the two 24-bit fields above. */
static inline uint32_t st_get24(const uint8_t b[3])
{
    return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16;
}

static inline void st_set24(uint8_t b[3], uint32_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
    b[2] = (uint8_t)(v >> 16);
}

_Static_assert(sizeof(st_timer) == 64, "a timer is one cache line");

#define ST_LIVE (UINT64_C(1) << 63)
#define ST_SLOT_BITS 24u
#define ST_SLOT_MASK ((UINT64_C(1) << ST_SLOT_BITS) - 1)

/* A timer's wheel id: its slot index. */
static inline stw_id st_timer_id(const st_timer *t)
{
    return (stw_id)(atomic_load_explicit(&t->issued, memory_order_relaxed) & ST_SLOT_MASK);
}

/* One arm: what to call, when, and for which arm of which timer. */
typedef struct st_request {
    st_timer *timer;                 /* NULL: a refused request, nothing to do */
    uint64_t issued;                 /* the live `issued` value; 0: legacy timer */
    uint64_t adapter_serial;
    uint64_t order;                  /* the arm word's order */
    uint64_t due;                    /* never fire before this (S5.4.1) */
    uint64_t at;                     /* fire time, inside the window (S5.4.2) */
    uint64_t window;                 /* the window used (for the event log) */
    PHW_TIMER_EX callback;
    PHW_TIMER legacy_callback;
    PVOID context;
} st_request;

/* A cell of the hand-over queue: an arm made above DISPATCH_LEVEL. */
typedef struct st_handover {
    _Atomic uint64_t turn;           /* bounded MPSC queue sequence */
    st_request request;
} st_handover;

#define ST_HANDOVER_SLOTS 256u

/* At most this many shards per adapter (one per processor, fewer on
 * smaller machines). */
#define ST_MAX_SHARDS 4u

/* The summed counters of stortimer_stats, listed once. */
#define ST_COUNTERS(X)                                                        \
    X(timers_initialized) X(timers_freed) X(timers_leaked) X(armed)           \
    X(cancelled) X(busy) X(fired) X(legacy_armed) X(legacy_fired)             \
    X(handed_over) X(rejected) X(notification_misuse) X(lock_misuse)          \
    X(wakeups) X(lateness_total_us) X(rejected_invalid_parameter)             \
    X(rejected_invalid_irql) X(rejected_unsuccessful)                         \
    X(rejected_insufficient_resources)

typedef struct st_counters {
#define ST_DECLARE_COUNTER(name) _Atomic uint64_t name;
    ST_COUNTERS(ST_DECLARE_COUNTER)
#undef ST_DECLARE_COUNTER
    _Atomic uint64_t lateness_max_us;  /* a maximum, not a sum */
    _Atomic uint64_t lateness_histogram[STORTIMER_LATENESS_BUCKETS];
} st_counters;

/* Counts a call answered with error `status` in `c` (rejected, and by
 * status). */
void st_count_rejection(st_counters *c, ULONG status);

/* Counts a callback that started `lateness` us after its due time. */
void st_count_lateness(st_counters *c, uint64_t lateness);

/*
 * A share of an adapter's timers: timer slot id % shards picks it. Arms and
 * cancels at or below DISPATCH_LEVEL take only their timer's shard lock.
 */
typedef struct st_shard {
    _Alignas(64) pthread_mutex_t mutex;  /* the shard lock */
    stw wheel;
    st_counters stats;               /* what its arm path counts */
} st_shard;

/* Zeroes an adapter's counters for a new adapter in its slot. */
void st_counters_reset(st_counters *c);

/* Adds a removed adapter's counters to the process totals. */
void st_counters_retire(const st_counters *c);

/* Raises an atomic maximum. */
void st_atomic_max(_Atomic uint64_t *max, uint64_t value);

/* Padded on purpose: the groups written by different threads (orders, the
 * adapter lock, the hand-over queue, each shard) sit on lines of their own. */
struct st_adapter { // NOLINT(clang-analyzer-optin.performance.Padding)
    /* Read without locks, to find an adapter from its extension pointer. */
    _Atomic(void *) extension;       /* published while live, else NULL */
    _Atomic uint64_t serial;         /* new on every creation in this slot */
    uint32_t index;                  /* of the slot in the registry */
    uint32_t shards;                 /* in use, 1 to ST_MAX_SHARDS */
    _Atomic bool live;               /* written under the adapter lock */
    /* Arm orders (arm_word.h), never reset; a line of its own: every arm of
     * every shard takes one. */
    _Alignas(64) _Atomic uint64_t orders;

    _Alignas(64) pthread_mutex_t mutex; /* the adapter lock; not on the
                                           orders' line */
    pthread_cond_t idle;             /* broadcast when a callback returns */
    st_lock startio, dpc, interrupt_own;
    /* A thread advancing this adapter's virtual clock holds the StartIo
     * lock: the callbacks wait for it (clock.c), they are not waited for. */
    _Atomic bool startio_held_by_advancer;
    /* While a virtual clock's advance runs at its last microsecond,
     * 2^64 - 1, where every arm is due at once: 1 + the last arm order
     * given before; arms from then on wait for the next advance. 0: none. */
    _Atomic uint64_t end_of_time_orders;
    st_lock *interrupt;              /* &startio in half-duplex mode */

    /* Under the adapter lock: */
    _Alignas(64) bool counted;       /* its counters are not yet retired */
    bool release_running;            /* the running timer was freed by its
                                        own callback: reclaim it after */
    stw_id free_timers;              /* slots this adapter freed, for reuse */
    uint32_t timer_count, max_timers;
    st_timer *legacy;                /* the RequestTimerCall slot, for good */
    st_timer *running;               /* timer whose callback runs now */
    _Atomic(stortimer_clock *) clock;/* NULL: real clock; read it with
                                        st_adapter_clock (lock-free readers
                                        may race a reuse of the slot) */
    st_adapter *clock_prev, *clock_next; /* under the clock's list lock */

    /* Real-clock dispatcher (dispatcher.c). */
    pthread_t thread;
    bool has_thread, stopping;
    _Atomic uint32_t wake_word;      /* futex: bumped to wake the dispatcher */
    /* When the dispatcher means to wake; 0 while it is awake. */
    _Atomic uint64_t planned_wake;

    /* Hand-over queue, lock-free producers, consumer under the adapter lock. */
    _Alignas(64) _Atomic uint64_t handover_tail;
    _Atomic uint64_t handover_head;  /* read lock-free: is anything queued? */
    st_handover handover[ST_HANDOVER_SLOTS];

    st_counters stats;
    st_adapter *free_next;           /* registry free list */
    st_shard shard[ST_MAX_SHARDS];
};

/*
 * Locks and returns the shard whose wheel holds (or last held) timer `t` of
 * adapter `a`: the shard an arm, cancel or free of `t` works in.
 */
st_shard *st_shard_lock(st_adapter *a, st_timer *t);

/* The shard of the processor the caller runs on: where its arms go. */
st_shard *st_shard_here(st_adapter *a);

/* Finds a live adapter by extension pointer and locks it; NULL if none. */
st_adapter *st_adapter_lock_by_extension(const void *extension);

/* Unlocks an adapter locked by the call above. */
void st_adapter_unlock(st_adapter *a);

/* Applies hand-overs queued above DISPATCH_LEVEL. Adapter lock held (the
 * shard locks are taken inside). */
void st_adapter_drain_handover(st_adapter *a);

/*
 * Queues the arm described by `r` (its timer's pending bit already set with
 * r->order) and wakes the dispatcher if it must now wake earlier. `shard`
 * is the timer's, locked (st_shard_lock). The timer moves to `prefer` (not
 * NULL: the caller's processor's shard) when that shard can be had without
 * breaking the lock order, so that threads on different processors arm in
 * different shards.
 */
void st_adapter_queue_request(st_adapter *a, st_shard *shard, st_shard *prefer,
                              const st_request *r);

/* Whether hand-overs wait to be applied. Lock-free, a hint. */
static inline bool st_handover_waiting(st_adapter *a)
{
    return atomic_load_explicit(&a->handover_tail, memory_order_relaxed) !=
           atomic_load_explicit(&a->handover_head, memory_order_relaxed);
}

/*
 * Clears the pending bit of `t` if set. Returns true when a pending arm was
 * cancelled. Lock-free (any IRQL); the queue node is dropped lazily.
 */
bool st_timer_cancel_pending(st_timer *t);

/*
 * Runs the first queued callback of the adapter (if it is still the one of
 * that serial) if it is due now: takes
 * the StartIo lock, re-checks under the adapter lock, calls it at
 * DISPATCH_LEVEL. Returns ST_FIRE_NOTHING when nothing was due,
 * ST_FIRE_AGAIN when the caller should look again, and (only when told not
 * to wait for the lock) ST_FIRE_LOCK_BUSY when another thread holds it.
 */
typedef enum st_fire_result { ST_FIRE_NOTHING, ST_FIRE_AGAIN, ST_FIRE_LOCK_BUSY } st_fire_result;
st_fire_result st_adapter_fire_due(st_adapter *a, uint64_t serial, bool wait_for_startio);

/*
 * Reserves a cell of the hand-over queue for a request made above
 * DISPATCH_LEVEL; NULL when the queue is full. Every reserved cell must be
 * published (with timer NULL when the request was refused): the adapter
 * lock's next holder applies cells in order. Lock-free, allocation-free.
 */
st_handover *st_handover_reserve(st_adapter *a, uint64_t *ticket);
void st_handover_publish(st_handover *cell, uint64_t ticket, const st_request *request);

/*
 * The fire time of the adapter's first live timer, if one fires by
 * `limit`; false if none. For virtual clock stepping: it moves the wheels
 * as far as they must to know (stw_settle). Which of the adapter's timers
 * of that time goes first, st_adapter_fire_due decides (arm order).
 */
bool st_adapter_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t *at);

/*
 * The fire time of the adapter's first live timer, however far ahead;
 * false if none. Unlike st_adapter_peek it leaves the wheels' time alone:
 * moving a wheel far ahead would send every later arm at an earlier time
 * to the ordered ready list, one list walk each.
 */
bool st_adapter_next_fire(st_adapter *a, uint64_t serial, uint64_t *at);

/* When the dispatcher should wake: the earliest of its shards' wake times
 * (st_wake_time). Adapter lock held. */
uint64_t st_adapter_wake_time(st_adapter *a);

/* The adapter's clock time now, for computing due times. */
uint64_t st_adapter_now_for_arming(st_adapter *a);

/* Counts into an adapter's statistics (relaxed atomics). */
#define ST_COUNT(a, field, n) \
    atomic_fetch_add_explicit(&(a)->stats.field, (n), memory_order_relaxed)

/* Counts misuse that names no live adapter. */
extern st_counters st_unattributed;

/* The adapter's clock (NULL: real). */
static inline stortimer_clock *st_adapter_clock(st_adapter *a)
{
    return atomic_load_explicit(&a->clock, memory_order_relaxed);
}

/* Saturating addition: a due time never wraps to an early one (S5.4.3). */
static inline uint64_t st_add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
