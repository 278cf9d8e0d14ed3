/*
 * workers.c - the worker threads: each owns TIMERS_PER_WORKER timers (the
 * first one steady) and in a loop acts on one of them, at PASSIVE_LEVEL, at
 * device IRQL or holding its adapter's StartIo lock or InterruptLock, or
 * makes calls that must fail, or moves a virtual clock.
 */
#include "stress.h"

static bool timer_dead(timer_record *t)
{
    return timer_freed(t) || atomic_load(&t->inc->removed) ||
           current_incarnation(t->inc->slot) != t->inc;
}

/* One call on the worker's own timer, its adapter read-locked. */
static void act_on_own_timer(timer_record *t)
{
    unsigned pick = random_below(t->steady ? 55 : 100);
    if (pick < 40)
        arm_extended(t, false);
    else if (pick < 55)
        arm_extended(t, true);
    else if (pick < 78)
        cancel_extended(t, false);
    else if (pick < 86)
        cancel_extended(t, true);
    else if (pick < 94)
        free_extended(t, false);
    else
        refuse_above_dispatch(t);
}

/*
 * A few calls holding the adapter's StartIo lock (or the InterruptLock); on a
 * virtual clock, now and then an advance among them.
 */
static void act_holding_a_lock(timer_record *t)
{
    incarnation *inc = t->inc;
    STOR_SPINLOCK kind = inc->config.half_duplex && one_in(3) ? InterruptLock
                         : one_in(8)                          ? InterruptLock
                                                              : StartIoLock;
    held_lock held;
    now_doing(kind == StartIoLock ? "holding the StartIo lock" : "holding the InterruptLock");
    if (!lock_take(inc, kind, &held))
        return;
    for (unsigned calls = 1 + random_below(3); calls && !timer_freed(t); calls--) {
        if (run.clock && held.exclusive && one_in(6))
            advance_from_worker(); /* this adapter's due callbacks wait: they run late */
        unsigned pick = random_below(100);
        if (t->steady && pick >= 35 && pick < 65)
            pick = 0; /* only armed */
        if (pick < 35)
            arm_extended(t, one_in(3));
        else if (pick < 55)
            cancel_extended(t, one_in(4));
        else if (pick < 65)
            free_extended(t, false); /* S6.4.1: no wait, a due callback is dropped */
        else if (!held.exclusive) /* the legacy timer wants the StartIo lock */
            arm_extended(t, false);
        else if (pick < 90)
            legacy_arm(inc, one_in(4));
        else
            legacy_cancel(inc, one_in(4));
    }
    lock_drop(&held);
}

static void worker_step(worker *w)
{
    unsigned index = random_below(TIMERS_PER_WORKER);
    timer_record *t = w->timers[index];
    if (!t || timer_dead(t)) {
        w->timers[index] = create_timer(index == 0);
        return;
    }
    unsigned pick = random_below(100);
    if (pick < 84) {
        if (!adapter_enter(t->inc))
            return; /* its adapter was replaced just now */
        if (pick < 62)
            act_on_own_timer(t);
        else if (pick < 74)
            act_holding_a_lock(t);
        else if (pick < 79)
            use_forged_handle(t);
        else
            use_null_arguments(t);
        adapter_leave(t->inc);
    } else if (pick < 93) {
        use_stale_handle();
    } else if (pick < 97) {
        use_foreign_handle(t);
    } else if (run.clock) {
        advance_from_worker();
    } /* else a step off */
}

void *worker_main(void *arg)
{
    worker *w = arg;
    me = &run.reports[w->index];
    while (!atomic_load(&run.stop_workers) && !atomic_load(&run.arena_full)) {
        worker_step(w);
        now_doing("between steps");
        step_done();
        /* Pauses let timers fire instead of being cancelled by the next call. */
        if (one_in(2))
            sleep_ns(1000 * (1 + random_below(300)));
    }
    return NULL;
}
