/*
 * shard.h - a share of an adapter's timers: a lock, a timing wheel and
 * counters of its own, on cache lines of their own.
 *
 * Arms and cancels at or below DISPATCH_LEVEL take only their timer's
 * shard lock, so threads arming timers of one adapter on different
 * processors do not queue on one lock nor pass one wheel's lines back and
 * forth. A timer's node is in one shard's wheel; which one, its owner word
 * says (registry.h). An arm moves the timer to the shard of the processor
 * it runs on when it can take that shard's lock at once (a busy shard is
 * no reason to wait, and waiting against the lock order could deadlock),
 * so a processor's I/O timers gather in its shard. Whoever wants a timer's
 * shard locks the one the owner word names and checks it still names it.
 *
 * Arm orders still come from the adapter's one counter (S8.4 ties go by
 * arm order across shards, so it cannot be per shard): that counter's cache
 * line is what threads arming timers of one adapter still share, and why
 * two of them do not reach twice one thread's pairs (BENCHMARKS.md;
 * arm_word.h says what lanes of orders did instead).
 *
 * Shard locks are spin locks (platform/sync.h): what they guard is a few
 * wheel links, and letting one go runs no locked instruction. The counts
 * of an arm or cancel made under one are plain adds (counters.h).
 *
 * Firing looks at every shard in index order and takes the timer with the
 * smallest (fire time, arm order) over all of them, so one adapter's
 * callbacks still start in S8.4 order and a virtual clock steps exactly as
 * with one wheel. One runner per adapter suffices: its callbacks hold its
 * StartIo lock, so more threads could not run them at once.
 *
 * This file is the only one that touches a timer's queued arm: its wheel
 * node, callback, context and the distance from due to fire time.
 */
#ifndef STORTIMER_ADAPTERS_SHARD_H
#define STORTIMER_ADAPTERS_SHARD_H

#include "adapters/counters.h"
#include "adapters/registry.h"
#include "adapters/request.h"
#include "platform/os.h"
#include "platform/sync.h"

/* At most this many shards per adapter (one per processor, fewer on
 * smaller machines). */
#define ST_MAX_SHARDS 4u
_Static_assert(ST_MAX_SHARDS <= ST_OWNER_SHARDS, "a shard number fits in an owner word");

typedef struct st_shard {
    _Alignas(64) st_spinlock lock;   /* the shard lock */
    stw wheel;
    st_counters stats;               /* what its arm path counts */
} st_shard;

typedef struct st_shards {
    uint32_t count;                  /* in use: 1, 2 or 4 */
    st_shard shard[ST_MAX_SHARDS];
} st_shards;

/* What a callback is called with, copied from its queued arm. */
typedef struct st_call {
    PHW_TIMER_EX callback;           /* NULL for the legacy timer */
    PHW_TIMER legacy_callback;
    PVOID context;
    uint64_t due, at;
} st_call;

/* One shard per processor, at most ST_MAX_SHARDS, a power of two (a
 * machine of 3 processors has 2), unlocked. */
void st_shards_init(st_shards *set);

/* Empty wheels at time `now`, zeroed counters: a new adapter. */
void st_shards_reset(st_shards *set, uint64_t now);

/* Locks and returns the shard whose wheel holds (or last held) `t`. */
static inline st_shard *st_shards_lock_of(st_shards *set, const st_timer *t)
{
    for (;;) {
        uint32_t s = st_registry_shard(t);
        st_shard *shard = &set->shard[s < set->count ? s : 0];
        st_spin_lock(&shard->lock);
        if (st_registry_shard(t) == s)
            return shard;
        st_spin_unlock(&shard->lock); /* it moved meanwhile */
    }
}

/* The shard of the processor the caller runs on: where its arms go. */
static inline st_shard *st_shards_here(st_shards *set)
{
    return &set->shard[st_os_cpu() & (set->count - 1)];
}

static inline void st_shard_unlock(st_shard *shard)
{
    st_spin_unlock(&shard->lock);
}

/* The counters of a shard's arm path. */
static inline st_counters *st_shard_counters(st_shard *shard)
{
    return &shard->stats;
}

/*
 * Queues the arm `r` (its timer's pending bit already set with r->order) in
 * `shard`, the timer's, locked, replacing a node queued before. The timer
 * moves to `prefer` (not NULL: the caller's processor's shard) when that
 * can be locked at once.
 */
void st_shard_queue(st_shards *set, st_shard *shard, st_shard *prefer, const st_request *r);

/* Unqueues the timer's node, if queued (its shard locked). */
void st_shard_unqueue(st_shard *shard, st_timer *t);

/* The queued arm of `order`, if the timer's node holds it (its shard
 * locked): for the event log's account of what a cancel cancelled. */
bool st_shard_queued_arm(const st_timer *t, uint64_t order, bool legacy, st_call *arm);

/*
 * Takes the first due timer over every shard (the smallest fire time, then
 * arm order: S8.4 across shards), the wheels moved to `now`, out of its
 * wheel, copies its arm into *call and starts it: *started is false when a
 * lock-free cancel came first (S5.5, S5.6). NULL if none is due. Arms of
 * order >= `cutoff` due at the clock's last microsecond are not due (0: no
 * cutoff). `legacy` is the adapter's legacy slot. With `before` (the
 * fire time and order of another source's first item), a timer that does
 * not go before it is left where it is, and NULL returned.
 */
st_timer *st_shards_take_first(st_shards *set, uint64_t now, uint64_t cutoff,
                               const st_timer *legacy, const stw_node *before, st_call *call,
                               bool *started);

/* The same for the first timer due by `limit`, which may lie ahead of the
 * wheels' time: they move only as far as they must to know (stw_settle).
 * For a virtual clock that then moves to the timer's fire time. */
st_timer *st_shards_take_first_due(st_shards *set, uint64_t limit, uint64_t cutoff,
                                   const st_timer *legacy, const stw_node *before,
                                   st_call *call, bool *started);

/*
 * The smallest fire time over every shard: of timers due by `limit`,
 * moving the wheels as far as they must to know (stw_settle), or, `far`,
 * of all timers, moving nothing. False if none.
 */
bool st_shards_first_time(st_shards *set, uint64_t limit, uint64_t cutoff, bool far,
                          uint64_t *at);

/*
 * When a sleeper should wake for these shards: their first fire time; or,
 * when that lies in a slot above level 0 holding more than a few timers,
 * the slot's start, where they move down a level. UINT64_MAX when empty.
 * Nodes left queued by a lock-free cancel or re-arm that come first are
 * dropped on the way: no wake-up is planned for a timer that will not fire.
 */
uint64_t st_shards_wake_time(st_shards *set);

/* Adds the shards' counters to a stats record; retires them into the
 * process totals (adapter removal). */
void st_shards_add_counters(st_shards *set, stortimer_stats *out);
void st_shards_retire(st_shards *set);

/* Unqueues every node (adapter removal). */
void st_shards_clear(st_shards *set);

/* ---- for the adapter checker (adapter_check.c) ---- */

/* Locks (in index order) and unlocks every shard. */
void st_shards_lock_all(st_shards *set);
void st_shards_unlock_all(st_shards *set);

/* Whether every shard's wheel keeps its invariants (stw_check). */
bool st_shards_check_wheels(const st_shards *set);

/* Calls visit on every queued node of every shard, with the shard's index
 * and the node's arm order; the shard locks held. */
void st_shards_visit(st_shards *set,
                     void (*visit)(uint32_t shard, st_timer *t, uint64_t order, void *ctx),
                     void *ctx);

#endif
