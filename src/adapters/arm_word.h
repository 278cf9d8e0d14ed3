/*
 * arm_word.h - a timer's pending state, changed without a lock.
 *
 * A timer's `arm` word is (order << 1) | pending, where order comes from its
 * adapter's counter (st_orders). Arms and cancels above DISPATCH_LEVEL may
 * take no lock (SPEC S5.7), so every change, at every IRQL, follows the same
 * steps: read the word; check that the timer still belongs to the caller's
 * handle (or adapter: registry.h); an arm then takes a fresh order; and
 * compare-and-swap the word from exactly what was read. When the word
 * changed meanwhile, look again, from the check.
 *
 * Why that is enough: no word repeats, because a slot's orders only grow.
 * An arm's order is taken after the word was read, from the counter that
 * wrote it, so it is newer; a slot that passes to another adapter raises
 * that adapter's counter above the slot's last order first
 * (st_arm_word_reset). So a request that read the word of a timer that is
 * then freed, and whose slot is reused, finds the word changed (the free
 * writes a fresh order, the reuse another), looks again, and sees the
 * handle gone: it can neither arm nor cancel the new timer, nor leave a dead
 * timer armed. And a word read after a free was written after it, so the
 * check that follows sees the free (sequentially consistent atomics).
 * BUSY is decided at the call, at any IRQL; a cancel and a callback's start
 * both clear `pending` for one exact order, so whichever comes first wins
 * and a callback starts at most once per arm (S5.4, S5.5); a wheel node
 * whose order no longer matches the word is stale and is dropped when it
 * comes up.
 *
 * The counter is per adapter, not global, so that threads arming timers of
 * different adapters share no cache line; one adapter's orders follow real
 * time (one atomic counter), which is what S8.4's tie-break needs: an arm
 * that happens after another takes a larger order. Lanes of orders, one
 * per shard, each taking the largest value of all lanes plus one without
 * a locked instruction, were measured and dropped (BENCHMARKS.md): each
 * arm then reads every other lane's line, which the arms there write, and
 * two threads arming timers of one adapter made 0.85 times the pairs of
 * one, against 1.18 times with the counter's one locked add; one thread
 * gained 4 ns an arm.
 *
 * This file is the only one that reads or writes an arm word.
 */
#ifndef STORTIMER_ADAPTERS_ARM_WORD_H
#define STORTIMER_ADAPTERS_ARM_WORD_H

#include "adapters/registry.h"
#include "adapters/timer.h"

#include <stdbool.h>

/* An adapter's arm orders: a line of its own, every arm takes one. */
typedef struct st_orders {
    _Alignas(64) _Atomic uint64_t last;   /* the last order given; never reset */
} st_orders;

/* A fresh order, larger than `floor` and than every order given before
 * (any thread, any IRQL). */
uint64_t st_orders_take(st_orders *orders, uint64_t floor);

/* The order the next arm will take (a bound: "armed from now on"). */
uint64_t st_orders_next(const st_orders *orders);

/* The timer a request names and the owner it believes the timer has: the
 * handle's live `issued` value, or the legacy slot's (registry.h). */
typedef struct st_owner {
    st_timer *timer;
    uint64_t issued;
    st_orders *orders;               /* whose orders an arm takes */
} st_owner;

typedef enum st_claim {
    ST_CLAIM_GONE,            /* the handle or adapter is no longer live */
    ST_CLAIM_BUSY,            /* arm: already pending (S5.3) */
    ST_CLAIM_DONE,            /* armed, replaced nothing, or cancelled */
    ST_CLAIM_REPLACED,        /* replace: a pending arm was replaced */
    ST_CLAIM_NOTHING,         /* cancel: nothing was pending */
} st_claim;

typedef enum st_claim_kind {
    ST_ARM,                   /* set pending unless pending: BUSY */
    ST_REPLACE,               /* set pending whatever was pending (S7.1) */
    ST_CANCEL,                /* clear pending */
} st_claim_kind;

/* The word's format: (order << 1) | pending. */
#define ST_ARM_PENDING UINT64_C(1)

/* Changes the arm word as `kind` says; *order receives the arm's order (a
 * cancel: the order it cancelled). Lock-free, allocation-free; inline, so
 * that each caller's kind is compiled alone. */
static inline st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind,
                                         uint64_t *order)
{
    _Atomic uint64_t *word = &owner->timer->arm;
    uint64_t arm = atomic_load(word);
    for (;;) {
        /* Checked after the word was read: see above. */
        if (!st_registry_still_issued(owner->timer, owner->issued))
            return ST_CLAIM_GONE;
        bool pending = arm & ST_ARM_PENDING;
        uint64_t next, mine = 0;
        if (kind == ST_CANCEL) {
            if (!pending)
                return ST_CLAIM_NOTHING;
            next = arm & ~ST_ARM_PENDING;
        } else {
            if (pending && kind == ST_ARM)
                return ST_CLAIM_BUSY;
            /* Taken after the read, from the counter that wrote it: newer. */
            mine = st_orders_take(owner->orders, 0);
            next = mine << 1 | ST_ARM_PENDING;
        }
        if (atomic_compare_exchange_strong(word, &arm, next)) {
            *order = kind == ST_CANCEL ? arm >> 1 : mine;
            return pending && kind == ST_REPLACE ? ST_CLAIM_REPLACED : ST_CLAIM_DONE;
        }
        /* The word changed under us: `arm` holds its new value; look again. */
    }
}

/* A timer taken for a new handle or a new adapter: idle, with an order
 * newer than any the slot held before (raising `orders` past it). */
void st_arm_word_reset(st_orders *orders, st_timer *t);

/*
 * Ends the arms of a timer whose handle (or legacy adapter) has just died:
 * writes a fresh order, so that a request that checked the owner before the
 * death fails its exchange, looks again and finds it gone, instead of
 * arming a dead timer. True if an arm was pending (it is cancelled: count
 * it). Call after the death is published.
 */
bool st_arm_word_retire(st_orders *orders, st_timer *t);

/* Clears the pending bit if set; true when a pending arm was cancelled. */
bool st_arm_word_cancel_pending(st_timer *t);

/* Whether an arm is pending now (a hint for lock-free callers). */
static inline bool st_arm_word_pending(const st_timer *t)
{
    return atomic_load(&t->arm) & ST_ARM_PENDING;
}

/* Whether an arm is pending, and (if so) its order: for the checker. */
static inline bool st_arm_word_pending_order(const st_timer *t, uint64_t *order)
{
    uint64_t arm = atomic_load(&t->arm);
    *order = arm >> 1;
    return arm & ST_ARM_PENDING;
}

/* Whether the timer is pending with exactly arm `order`: a wheel node of
 * that order is live, any other is stale. (Inline: every look at a wheel
 * asks it.) */
static inline bool st_arm_word_armed_with(const st_timer *t, uint64_t order)
{
    return atomic_load(&t->arm) == (order << 1 | ST_ARM_PENDING);
}

/* Starts the callback of arm `order`: ends the pending state unless a
 * lock-free cancel got there first (S5.5, S5.6). True: it starts. */
static inline bool st_arm_word_start(st_timer *t, uint64_t order)
{
    uint64_t expected = order << 1 | ST_ARM_PENDING;
    return atomic_compare_exchange_strong(&t->arm, &expected, order << 1);
}

#endif
