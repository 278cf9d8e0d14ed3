/*
 * arm_word.h - changing a timer's pending state without a lock.
 *
 * A timer's `arm` word is (order << 1) | pending, where order comes from one
 * global counter. Every change first takes a fresh order, then checks that
 * the timer still belongs to the caller's handle (or adapter), then
 * compare-and-swaps the word only if the order in it is older than its own.
 * A slot reused for a new timer starts with a fresh order, so a request
 * that checked an old handle just before the free and the reuse finds a
 * newer order in the word, looks again, and sees the handle is gone: it can
 * neither arm nor cancel the new timer. (With sequentially consistent
 * atomics, a free that comes before the reuse's order also comes before the
 * caller's check.)
 */
#ifndef STORTIMER_ARM_WORD_H
#define STORTIMER_ARM_WORD_H

#include "adapter.h"

/* Who the caller believes owns the timer: a handle, or (legacy timer) an
 * adapter by extension and serial. */
typedef struct st_owner {
    st_timer *timer;
    uint64_t handle;          /* 0 for the legacy timer */
    st_adapter *adapter;
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

/* A fresh arm order for a timer that starts idle (initialization). */
uint64_t st_next_order(void);

/* Whether the handle (or the adapter) is still the live one (registry.c:
 * kept out of line so that a test can act in the window after it). */
bool st_owner_live(const st_owner *owner);

/* Changes the arm word as `kind` says; *order receives the arm's order. */
st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, uint64_t *order);

#endif
