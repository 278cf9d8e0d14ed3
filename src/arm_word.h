/*
 * arm_word.h - changing a timer's pending state without a lock.
 *
 * A timer's `arm` word is (order << 1) | pending, where order comes from its
 * adapter's counter. Every change reads the word, then checks that the
 * timer still belongs to the caller's handle (or adapter), then (an arm)
 * takes a fresh order, then compare-and-swaps the word from exactly what it
 * read; when that fails it looks again, from the check.
 *
 * No word repeats: a slot's orders only grow. An arm's order is taken after
 * the word was read, from the counter that wrote it, so it is newer; a slot
 * that passes to another adapter raises that adapter's counter above the
 * slot's last order first (st_orders_raise). So a request that read the
 * word of a timer that is then freed and whose slot is reused finds the
 * word changed (the free clears the pending bit, the reuse writes a fresh
 * order), looks again, and sees the handle gone: it can neither arm nor
 * cancel the new timer. And a word read after the reuse was written after
 * the free, so the check that follows it sees the free (sequentially
 * consistent atomics).
 *
 * The counter is per adapter, not global, so that threads arming timers of
 * different adapters share no cache line; one adapter's orders follow real
 * time (one atomic counter), which is what SPEC S8's tie-break needs.
 */
#ifndef STORTIMER_ARM_WORD_H
#define STORTIMER_ARM_WORD_H

#include "adapter.h"

/* Who the caller believes owns the timer: a handle, or (legacy timer) an
 * adapter by extension and serial. */
typedef struct st_owner {
    st_timer *timer;
    uint64_t issued;          /* the handle's live `issued`; 0: legacy timer */
    st_adapter *adapter;      /* whose orders an arm takes */
    const void *extension;
    uint64_t serial;
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
    ST_REPLACE,               /* set pending whatever was pending (S7) */
    ST_CANCEL,                /* clear pending */
} st_claim_kind;

/* A fresh arm order of adapter `a`. */
uint64_t st_next_order(st_adapter *a);

/* Raises `a`'s counter to at least `floor`: before a slot that another
 * adapter used takes a's orders. */
void st_orders_raise(st_adapter *a, uint64_t floor);

/* Whether the handle (or the adapter) is still the live one (registry.c:
 * kept out of line so that a test can act in the window after it). */
bool st_owner_live(const st_owner *owner);

/*
 * Ends the arms of a timer whose handle (or, the legacy timer, adapter) has
 * just died: writes a fresh order to the word, so that a request that
 * checked the owner before the death fails its exchange, looks again and
 * finds it gone, instead of arming a dead timer. True if an arm was pending
 * (it is cancelled: count it). Call after the death is published.
 */
bool st_arm_word_retire(st_adapter *a, st_timer *t);

/* Changes the arm word as `kind` says; *order receives the arm's order. */
st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, uint64_t *order);

#endif
