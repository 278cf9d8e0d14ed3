/*
 * dispatcher.c - real-clock dispatcher threads (dispatcher.h).
 *
 * Never early, to the nanosecond: a call's time is rounded up to the
 * microsecond and "is it due" compares the clock rounded down (clock.h).
 * The thread sleeps until the wheels' next fire time, or the start of a
 * slot whose timers must move down a level first (a timer armed far ahead
 * without a window can cost a few such wake-ups on its way); timers that
 * share a fire time (window.h) share the wake-up.
 *
 * A plan can go stale while the thread sleeps: a futex sleep cannot be
 * moved later, so when the timer it waits for is cancelled or re-armed
 * later it still wakes at the planned time, finds nothing due, plans again
 * and sleeps. Such wake-ups are counted apart (idle_wakeups), as are those
 * that only learn of an arm earlier than the plan or of a hand-over. A
 * plan is never made for a timer already cancelled: nodes a lock-free
 * cancel leaves queued are dropped when the wake time is looked up
 * (st_shards_wake_time).
 */
#include "time/dispatcher.h"

#include "adapters/events.h"
#include "adapters/timer_ops.h"
#include "adapters/work.h"
#include "platform/alloc.h"
#include "platform/os.h"
#include "time/clock.h"

/* While a due callback waits for a StartIo lock held elsewhere, the
 * dispatcher sleeps on its doorbell, not on the lock: a DPC issued
 * meanwhile must still run (S14.9). The lock's release through
 * StorPortReleaseSpinLock rings; it also looks again this often. */
#define ST_STARTIO_POLL_US 1000u

typedef struct st_dispatcher {
    st_adapter *adapter;
    uint64_t serial;                 /* of the adapter it runs; it lives as long */
    st_os_thread thread;
    _Atomic bool stopping;
} st_dispatcher;

static uint64_t read_real_clock(const void *unused)
{
    (void)unused;
    return st_real_now_floor();
}

/*
 * Applies hand-overs and plans the next wake-up in *wake: the wheels' next
 * fire time, UINT64_MAX (never) when they are empty. False, with nothing
 * planned, when that time has come already: the caller looks again at
 * once. The clock is read once, here: a plan is stored only for a sleep
 * that follows, since an arm made while a stale plan stands would neither
 * ring nor bump the doorbell (doorbell.h). Planned even before the adapter
 * is live or after it died, so that an arm always finds a plan to beat.
 * The doorbell was read before: an arm or a hand-over made after that read
 * rings it, and the sleep returns at once.
 */
static bool plan_sleep(st_dispatcher *d, uint64_t *wake)
{
    st_adapter *a = d->adapter;
    st_adapter_lock_slot(a);
    if (st_adapter_is(a, d->serial))
        st_timer_apply_handovers(a);
    *wake = st_work_wake_time(a);
    bool sleep = *wake > st_real_now_floor();
    if (sleep)
        st_doorbell_plan(&a->doorbell, *wake);
    st_adapter_unlock(a);
    return sleep;
}

/* Sleeps until the StartIo lock is let go, a DPC comes, or a poll's time. */
static void wait_for_startio(st_adapter *a, uint32_t rung)
{
    st_doorbell_want_startio(&a->doorbell, true);
    /* Released between our try and the flag: look again at once. */
    if (st_lock_try_acquire(st_adapter_startio(a)))
        st_lock_release(st_adapter_startio(a));
    else
        st_doorbell_sleep(&a->doorbell, rung, st_real_now_ceil() + ST_STARTIO_POLL_US);
    st_doorbell_want_startio(&a->doorbell, false);
}

static void *dispatcher_main(void *arg)
{
    st_dispatcher *d = arg;
    st_adapter *a = d->adapter;
    /* Our lateness is at least the kernel's timer slack: ask for its finest. */
    st_os_finest_timer_slack();
    const st_horizon horizon = {read_real_clock, NULL, 0, NULL, NULL};
    bool woke = false; /* from a sleep, and nothing looked at since */
    for (;;) {
        st_run_result result;
        bool ran = false;
        while ((result = st_work_run_next(a, d->serial, &horizon)) == ST_RUN_AGAIN ||
               result == ST_RUN_DPC)
            ran = true;
        /* Nothing due: it plans again and goes back to sleep. */
        if (woke && !ran && result == ST_RUN_NOTHING)
            ST_COUNT(st_adapter_counters(a), idle_wakeups, 1);
        woke = false;
        uint32_t rung = st_doorbell_read(&a->doorbell);
        if (atomic_load(&d->stopping))
            return NULL;
        if (result == ST_RUN_LOCK_BUSY) {
            wait_for_startio(a, rung);
            continue;
        }
        uint64_t wake;
        if (!plan_sleep(d, &wake))
            continue;
        if (!st_doorbell_sleep(&a->doorbell, rung, wake))
            continue; /* rung since the read: it looks again without having slept */
        woke = true;
        ST_COUNT(st_adapter_counters(a), wakeups, 1);
        ST_LOG(a, .type = STORTIMER_EVENT_WAKEUP, .fire_time = wake);
    }
}

bool st_dispatcher_start(st_adapter *a)
{
    st_dispatcher *d = st_calloc(1, sizeof *d);
    if (!d)
        return false;
    d->adapter = a;
    d->serial = st_adapter_serial(a);
    st_doorbell_open(&a->doorbell);
    if (!st_thread_start(&d->thread, dispatcher_main, d)) {
        st_doorbell_close(&a->doorbell);
        st_free(d);
        return false;
    }
    st_adapter_set_runner(a, d);
    return true;
}

void st_dispatcher_stop(st_adapter *a)
{
    st_dispatcher *d = st_adapter_runner(a);
    atomic_store(&d->stopping, true);
    st_doorbell_ring(&a->doorbell);
    st_thread_join(&d->thread);
    st_doorbell_close(&a->doorbell);
    st_adapter_set_runner(a, NULL);
    st_free(d);
}
