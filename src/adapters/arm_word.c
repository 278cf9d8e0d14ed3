/* arm_word.c - the lock-free pending state of a timer (arm_word.h). */
#include "adapters/arm_word.h"

#include "adapters/registry.h"

#define ST_PENDING ST_ARM_PENDING

static uint64_t idle_word(uint64_t order)
{
    return order << 1;
}

static uint64_t pending_word(uint64_t order)
{
    return order << 1 | ST_PENDING;
}

uint64_t st_orders_take(st_orders *orders)
{
    return atomic_fetch_add(&orders->last, 1) + 1;
}

uint64_t st_orders_next(const st_orders *orders)
{
    return atomic_load(&orders->last) + 1;
}

/* Raises the counter to at least `floor`. */
static void orders_raise(st_orders *orders, uint64_t floor)
{
    uint64_t now = atomic_load(&orders->last);
    while (now < floor && !atomic_compare_exchange_weak(&orders->last, &now, floor)) {
    }
}

void st_arm_word_reset(st_orders *orders, st_timer *t)
{
    orders_raise(orders, atomic_load(&t->arm) >> 1);
    atomic_store(&t->arm, idle_word(st_orders_take(orders)));
}

bool st_arm_word_retire(st_orders *orders, st_timer *t)
{
    return atomic_exchange(&t->arm, idle_word(st_orders_take(orders))) & ST_PENDING;
}

bool st_arm_word_cancel_pending(st_timer *t)
{
    uint64_t arm = atomic_load_explicit(&t->arm, memory_order_acquire);
    while (arm & ST_PENDING) {
        if (atomic_compare_exchange_weak_explicit(&t->arm, &arm, arm & ~ST_PENDING,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
    return false;
}

st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, uint64_t *order)
{
    _Atomic uint64_t *word = &owner->timer->arm;
    uint64_t arm = atomic_load(word);
    for (;;) {
        /* Checked after the word was read: see arm_word.h. */
        if (!st_registry_still_issued(owner->timer, owner->issued))
            return ST_CLAIM_GONE;
        bool pending = arm & ST_PENDING;
        uint64_t next, mine = 0;
        if (kind == ST_CANCEL) {
            if (!pending)
                return ST_CLAIM_NOTHING;
            next = arm & ~ST_PENDING;
        } else {
            if (pending && kind == ST_ARM)
                return ST_CLAIM_BUSY;
            /* Taken after the read: newer than the order in the word. */
            mine = st_orders_take(owner->orders);
            next = pending_word(mine);
        }
        if (atomic_compare_exchange_strong(word, &arm, next)) {
            *order = kind == ST_CANCEL ? arm >> 1 : mine;
            return pending && kind == ST_REPLACE ? ST_CLAIM_REPLACED : ST_CLAIM_DONE;
        }
        /* The word changed under us: `arm` holds its new value; look again. */
    }
}
