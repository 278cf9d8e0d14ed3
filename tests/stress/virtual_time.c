/*
 * virtual_time.c - who moves a virtual clock during a run: the advancer
 * thread, and now and then a worker, at PASSIVE_LEVEL or holding its
 * adapter's StartIo lock. Several threads advance at once.
 */
#include "stress.h"

#include <sched.h>

void *advancer_main(void *arg)
{
    (void)arg;
    me = &run.reports[ADVANCER_REPORT];
    while (!atomic_load(&run.stop_advancer)) {
        now_doing("advancing the virtual clock");
        stortimer_clock_advance(run.clock, 1 + random_below(400));
        step_done();
        if (one_in(4))
            sched_yield();
    }
    return NULL;
}

/*
 * One advance by a worker. Callbacks of other adapters that fall due run on
 * this thread, inside the advance. Made holding an adapter's StartIo lock,
 * the advance passes that adapter's callbacks over: they run late, at a later
 * advance (never early, so the accounting does not change).
 */
void advance_from_worker(void)
{
    now_doing(exclusive_inc ? "advancing the virtual clock holding a StartIo lock"
                            : "advancing the virtual clock");
    stortimer_clock_advance(run.clock, 1 + random_below(200));
}
