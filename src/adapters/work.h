/*
 * work.h - the one place that runs an adapter's deferred work, on the
 * real-clock dispatcher thread or the thread advancing a virtual clock.
 *
 * Deferred work is what an adapter runs at DISPATCH_LEVEL on its own
 * thread, in due order: timer callbacks, DPC routines and pause expiries.
 * Each kind of work is a source of due items, compared by (start time,
 * sequence) (S8.4, S14.8), and a case in one switch that runs an item:
 * adding a kind is a new source and a new case in work.c, not a second
 * copy of the firing path.
 */
#ifndef STORTIMER_ADAPTERS_WORK_H
#define STORTIMER_ADAPTERS_WORK_H

#include "adapters/adapter.h"

/* What the caller's clock says, read once the locks are held: a thread
 * that waited for the StartIo lock sees the time after the wait. */
typedef struct st_horizon {
    uint64_t (*now)(const void *clock);
    void *clock;
    /* Arms of this order or later that are due at the clock's last
     * microsecond wait for the next advance (time/stepping.c); 0: none. */
    uint64_t cutoff;
    /* A virtual clock: moves it forward to a time (st_work_run_first_due);
     * NULL for the real clock. */
    void (*raise)(void *clock, uint64_t time);
    /* A virtual clock: whether the adapter is still its only one. */
    bool (*alone)(void *clock);
} st_horizon;

typedef enum st_run_result {
    ST_RUN_NOTHING,           /* nothing was due */
    ST_RUN_AGAIN,             /* a callback or an expiry was taken: look again */
    ST_RUN_DPC,               /* a DPC routine ran: look again */
    ST_RUN_LOCK_BUSY,         /* only timers are due, and their StartIo lock is
                                 held by another thread (or this one) */
} st_run_result;

/*
 * Runs the adapter's first due item, if the adapter is still the one of
 * `serial`, on the calling thread, bound to the adapter's clock meanwhile
 * (S9.3): a timer callback at DISPATCH_LEVEL holding the StartIo lock
 * (S8.1), a DPC routine at DISPATCH_LEVEL holding no lock (S14.6), or a
 * pause's expiry. Never waits for the StartIo lock: while it is held, the
 * DPCs and expiries due run ahead of the callbacks (S14.9).
 */
st_run_result st_work_run_next(st_adapter *a, uint64_t serial, const st_horizon *horizon);

/*
 * A virtual clock's quick steps, while this adapter is the clock's only
 * one (horizon->alone): holding its StartIo lock throughout, and its
 * adapter lock between callbacks (let go around each, as always), takes
 * its first item due by `limit` if that is a timer callback, moves the
 * clock to its fire time (horizon->raise) and runs it; again, up to
 * ST_WORK_QUICK_RUN callbacks, then lets the locks go (a host thread
 * waiting for the StartIo lock may take it then; nothing promises it
 * will). ST_RUN_AGAIN if it
 * ran any; ST_RUN_NOTHING, with nothing done, when anything else comes
 * first (a DPC, a pause expiry, nothing due, the StartIo lock held
 * elsewhere): the caller takes the general path (st_work_run_next). So a
 * run of callbacks costs one pass over the shards each, not a look and a
 * take, and no lock round of its own.
 */
#define ST_WORK_QUICK_RUN 64u
st_run_result st_work_run_first_due(st_adapter *a, uint64_t serial, const st_horizon *horizon,
                                    uint64_t limit);

/*
 * The start time of the adapter's first item due by `limit` (timers only
 * if `timers`: the caller could take their StartIo lock); false if none.
 * For a virtual clock's step: it moves the wheels as far as they must to
 * know (stw_settle). Which item of that time goes first, st_work_run_next
 * decides.
 */
bool st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff, bool timers,
                  uint64_t *at);

/*
 * The start time of the adapter's first timer (if `timers`) or queued DPC,
 * however far ahead; false if none. Pause expiries do not count (S16.4).
 * Unlike st_work_peek it leaves the wheels' time alone: moving a wheel far
 * ahead would send every later arm at an earlier time to the ordered ready
 * list, one list walk each.
 */
bool st_work_next_fire(st_adapter *a, uint64_t serial, bool timers, uint64_t *at);

/* When the dispatcher should wake: the earliest of its shards' wake times,
 * at once if a DPC is queued, and a pause's deadline. Adapter lock held. */
uint64_t st_work_wake_time(st_adapter *a);

#endif
