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

void st_orders_init(st_orders *orders, unsigned shards)
{
    orders->lanes = 1 + shards;
}

/* The largest value any lane gave. */
static uint64_t orders_high(const st_orders *orders)
{
    uint64_t high = 0;
    for (unsigned i = 0; i < orders->lanes; i++) {
        uint64_t v = atomic_load_explicit(&orders->lane[i].last, memory_order_relaxed);
        high = v > high ? v : high;
    }
    return high;
}

static uint64_t order_of(uint64_t value, unsigned lane)
{
    return value << ST_ORDER_LANE_BITS | lane;
}

static uint64_t value_of(uint64_t order)
{
    return order >> ST_ORDER_LANE_BITS;
}

uint64_t st_orders_take(st_orders *orders, uint64_t floor)
{
    _Atomic uint64_t *shared = &orders->lane[ST_ORDER_SHARED].last;
    uint64_t last = atomic_load(shared), value;
    do {
        uint64_t high = orders_high(orders);
        value = (high > value_of(floor) ? high : value_of(floor)) + 1;
        value = value > last ? value : last + 1;
    } while (!atomic_compare_exchange_weak(shared, &last, value));
    return order_of(value, ST_ORDER_SHARED);
}

/* A fresh order from a shard's lane, its lock held: no locked instruction. */
static uint64_t orders_take_in(st_orders *orders, unsigned lane, uint64_t floor)
{
    uint64_t high = orders_high(orders);
    uint64_t value = (high > value_of(floor) ? high : value_of(floor)) + 1;
    atomic_store_explicit(&orders->lane[lane].last, value, memory_order_relaxed);
    return order_of(value, lane);
}

uint64_t st_orders_next(const st_orders *orders)
{
    return order_of(orders_high(orders) + 1, 0);
}

void st_arm_word_reset(st_orders *orders, st_timer *t)
{
    atomic_store(&t->arm, idle_word(st_orders_take(orders, atomic_load(&t->arm) >> 1)));
}

bool st_arm_word_retire(st_orders *orders, st_timer *t)
{
    uint64_t order = st_orders_take(orders, atomic_load(&t->arm) >> 1);
    return atomic_exchange(&t->arm, idle_word(order)) & ST_PENDING;
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

st_claim st_claim_arm_word(const st_owner *owner, st_claim_kind kind, unsigned lane,
                           uint64_t *order)
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
            /* Taken after the read, and above the word's: newer. */
            mine = lane == ST_ORDER_SHARED ? st_orders_take(owner->orders, arm >> 1)
                                           : orders_take_in(owner->orders, lane, arm >> 1);
            next = pending_word(mine);
        }
        if (atomic_compare_exchange_strong(word, &arm, next)) {
            *order = kind == ST_CANCEL ? arm >> 1 : mine;
            return pending && kind == ST_REPLACE ? ST_CLAIM_REPLACED : ST_CLAIM_DONE;
        }
        /* The word changed under us: `arm` holds its new value; look again. */
    }
}
