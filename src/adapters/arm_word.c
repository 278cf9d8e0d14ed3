/* arm_word.c - the lock-free pending state of a timer (arm_word.h). */
#include "adapters/arm_word.h"

#include "adapters/registry.h"

#define ST_PENDING ST_ARM_PENDING

static uint64_t idle_word(uint64_t order)
{
    return order << 1;
}

void st_orders_init(st_orders *orders, unsigned shards)
{
    orders->lanes = 1 + shards;
}

uint64_t st_orders_take(st_orders *orders, uint64_t floor)
{
    _Atomic uint64_t *shared = &orders->lane[ST_ORDER_SHARED].last;
    uint64_t last = atomic_load(shared), value;
    do {
        uint64_t high = st_orders_high(orders);
        value = (high > st_order_value(floor) ? high : st_order_value(floor)) + 1;
        value = value > last ? value : last + 1;
    } while (!atomic_compare_exchange_weak(shared, &last, value));
    return st_order_of(value, ST_ORDER_SHARED);
}

uint64_t st_orders_next(const st_orders *orders)
{
    return st_order_of(st_orders_high(orders) + 1, 0);
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
