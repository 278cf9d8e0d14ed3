/*
 * work.h - the one place that runs an adapter's deferred work, on the
 * real-clock dispatcher thread or the thread advancing a virtual clock.
 *
 * Deferred work is what an adapter runs at DISPATCH_LEVEL on its own
 * thread, in due order: today, timer callbacks. Each kind of work is a
 * source of due items, compared by (start time, sequence) (S8.4), and a
 * case in one switch that runs an item: adding a kind is a new source and a
 * new case in work.c, not a second copy of the firing path.
 */
#ifndef STORTIMER_ADAPTERS_WORK_H
#define STORTIMER_ADAPTERS_WORK_H

#include "adapters/adapter.h"

/* What the caller's clock says, read once the locks are held: a thread
 * that waited for the StartIo lock sees the time after the wait. */
typedef struct st_horizon {
    uint64_t (*now)(const void *clock);
    const void *clock;
    /* Arms of this order or later that are due at the clock's last
     * microsecond wait for the next advance (time/stepping.c); 0: none. */
    uint64_t cutoff;
} st_horizon;

typedef enum st_run_result {
    ST_RUN_NOTHING,           /* nothing was due */
    ST_RUN_AGAIN,             /* an item was taken: look again */
    ST_RUN_LOCK_BUSY,         /* told not to wait, and the StartIo lock is held */
} st_run_result;

/*
 * Runs the adapter's first due item, if the adapter is still the one of
 * `serial`: a timer callback at DISPATCH_LEVEL holding the StartIo lock
 * (S8.1), on the calling thread, which is bound to the adapter's clock
 * meanwhile (S9.3).
 */
st_run_result st_work_run_next(st_adapter *a, uint64_t serial, const st_horizon *horizon,
                               bool wait_for_startio);

/*
 * The start time of the adapter's first item due by `limit`; false if
 * none. For a virtual clock's step: it moves the wheels as far as they
 * must to know (stw_settle). Which item of that time goes first,
 * st_work_run_next decides.
 */
bool st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                  uint64_t *at);

/*
 * The start time of the adapter's first item, however far ahead; false if
 * none. Unlike st_work_peek it leaves the wheels' time alone: moving a
 * wheel far ahead would send every later arm at an earlier time to the
 * ordered ready list, one list walk each.
 */
bool st_work_next_fire(st_adapter *a, uint64_t serial, uint64_t *at);

/* When the dispatcher should wake: the earliest of its shards' wake times.
 * Adapter lock held. */
uint64_t st_work_wake_time(st_adapter *a);

#endif
