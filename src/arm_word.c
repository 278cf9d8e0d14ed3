/* arm_word.c - the lock-free pending state of a timer (see arm_word.h). */
#include "arm_word.h"

uint64_t st_next_order(st_adapter *a)
{
    return atomic_fetch_add(&a->orders, 1) + 1;
}

void st_orders_raise(st_adapter *a, uint64_t floor)
{
    uint64_t now = atomic_load(&a->orders);
    while (now < floor && !atomic_compare_exchange_weak(&a->orders, &now, floor)) {
    }
}

bool st_arm_word_retire(st_adapter *a, st_timer *t)
{
    return atomic_exchange(&t->arm, st_next_order(a) << 1) & ST_PENDING;
}

st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, uint64_t *order)
{
    _Atomic uint64_t *word = &owner->timer->arm;
    uint64_t arm = atomic_load(word);
    for (;;) {
        /* Checked after the word was read: see arm_word.h. */
        if (!st_owner_live(owner))
            return ST_CLAIM_GONE;
        bool pending = arm & ST_PENDING;
        uint64_t next, mine = 0;
        if (kind == ST_CANCEL) {
            if (!pending)
                return ST_CLAIM_NOTHING;
            next = arm & ~(uint64_t)ST_PENDING;
        } else {
            if (pending && kind == ST_ARM)
                return ST_CLAIM_BUSY;
            /* Taken after the read: newer than the order in the word. */
            mine = st_next_order(owner->adapter);
            next = (mine << 1) | ST_PENDING;
        }
        if (atomic_compare_exchange_strong(word, &arm, next)) {
            *order = kind == ST_CANCEL ? arm >> 1 : mine;
            return pending && kind == ST_REPLACE ? ST_CLAIM_REPLACED : ST_CLAIM_DONE;
        }
        /* The word changed under us: `arm` holds its new value; look again. */
    }
}
