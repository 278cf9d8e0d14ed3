/* arm_word.c - the lock-free pending state of a timer (arm_word.h). */
#include "adapters/arm_word.h"

#include "adapters/registry.h"

#define ST_PENDING ST_ARM_PENDING

static uint64_t idle_word(uint64_t order)
{
    return order << 1;
}

/* Raises the counter to at least `floor`. */
static void orders_raise(st_orders *orders, uint64_t floor)
{
    uint64_t now = atomic_load(&orders->last);
    while (now < floor && !atomic_compare_exchange_weak(&orders->last, &now, floor)) {
    }
}

uint64_t st_orders_take(st_orders *orders, uint64_t floor)
{
    if (floor)
        orders_raise(orders, floor);
    return atomic_fetch_add(&orders->last, 1) + 1;
}

uint64_t st_orders_next(const st_orders *orders)
{
    return atomic_load(&orders->last) + 1;
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
