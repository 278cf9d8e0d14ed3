/* arm_word.c - the lock-free pending state of a timer (see arm_word.h). */
#include "arm_word.h"

static _Atomic uint64_t arm_orders;

uint64_t st_next_order(void)
{
    return atomic_fetch_add(&arm_orders, 1) + 1;
}

st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, uint64_t *order)
{
    _Atomic uint64_t *word = &owner->timer->arm;
    for (;;) {
        uint64_t mine = st_next_order();
        if (!st_owner_live(owner))
            return ST_CLAIM_GONE;
        uint64_t arm = atomic_load(word);
        /* Until the word holds an order newer than ours: then look again. */
        while ((arm >> 1) < mine) {
            bool pending = arm & ST_PENDING;
            uint64_t next;
            if (kind == ST_CANCEL) {
                if (!pending)
                    return ST_CLAIM_NOTHING;
                next = arm & ~(uint64_t)ST_PENDING;
            } else {
                if (pending && kind == ST_ARM)
                    return ST_CLAIM_BUSY;
                next = (mine << 1) | ST_PENDING;
            }
            if (atomic_compare_exchange_weak(word, &arm, next)) {
                *order = kind == ST_CANCEL ? arm >> 1 : mine;
                return pending && kind == ST_REPLACE ? ST_CLAIM_REPLACED : ST_CLAIM_DONE;
            }
        }
    }
}
