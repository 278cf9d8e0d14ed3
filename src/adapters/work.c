/*
 * work.c - taking an adapter's first due item and running it (work.h).
 *
 * A timer callback runs as Windows runs it: at DISPATCH_LEVEL, holding the
 * adapter's StartIo lock (S8.1). That lock is taken before the look, and
 * the adapter lock after it: so a thread holding the StartIo lock (a
 * miniport cancelling or freeing an I/O timer from its StartIo path) always
 * finds a callback either finished or not yet started, and a cancel or free
 * made there drops it (S6.4.1). The adapter lock is let go while the
 * callback runs, so the callback may call every routine (S8.2).
 */
#include "adapters/work.h"

#include "adapters/adapter_check.h"
#include "adapters/events.h"
#include "adapters/timer_ops.h"
#include "platform/thread_state.h"

typedef enum st_work_kind {
    ST_WORK_TIMER,            /* a timer callback: StartIo lock held (S8.1) */
} st_work_kind;

/* One due item, taken out of its source under the adapter lock. */
typedef struct st_work {
    st_work_kind kind;
    uint64_t now;             /* the clock when it was taken */
    void *extension;
    /* ST_WORK_TIMER: */
    st_timer *timer;
    bool legacy;
    bool started;             /* false: a lock-free cancel came first */
    uint64_t issued;          /* the handle's, for the log */
    st_call call;
} st_work;

/* ---- sources of due work ---- */

/* Takes the first due timer out of its wheel; starting it ends its pending
 * state, unless a lock-free cancel got there first (S5.5, S5.6). */
static bool take_due_timer(st_adapter *a, uint64_t now, uint64_t cutoff, st_work *w)
{
    st_timer *t = st_shards_take_first(&a->shards, now, cutoff, a->legacy, &w->call,
                                       &w->started);
    if (!t)
        return false;
    w->kind = ST_WORK_TIMER;
    w->timer = t;
    w->legacy = t == a->legacy;
    if (!w->legacy)
        st_registry_current(t, &w->issued);
    return true;
}

/* The adapter's first due item, taken out of its source. Adapter lock
 * held. (Each further kind of work is one more source compared here.) */
static bool take_next_due(st_adapter *a, uint64_t now, uint64_t cutoff, st_work *w)
{
    w->now = now;
    w->extension = st_adapter_extension(a);
    return take_due_timer(a, now, cutoff, w);
}

/* ---- running an item ---- */

/* Records a callback's start or return in the event log (the log is on). */
ST_LOG_PATH static void log_call(st_adapter *a, stortimer_event_type type, const st_work *w)
{
    st_log_record(a, &(stortimer_event){
        .type = type, .extension = w->extension,
        .handle = w->legacy ? NULL : st_handle_pointer(st_registry_handle_of(w->issued)),
        .legacy = w->legacy, .callback = w->call.callback,
        .legacy_callback = w->call.legacy_callback, .context = w->call.context,
        .due = w->call.due, .fire_time = w->call.at,
    });
}

/* Calls a timer's callback as Windows would: DISPATCH_LEVEL, StartIo lock
 * held (by the caller), bound to the adapter's clock (S9.3). */
static void call_timer(st_adapter *a, const st_work *w)
{
    st_thread_state saved = st_self;
    st_self.irql = DISPATCH_LEVEL;
    st_self.callback_adapter = a;
    st_self.callback_timer = w->timer;
    if (st_adapter_clock(a))
        st_self.bound_clock = st_adapter_clock(a);
    if (st_logging()) /* at the callback's IRQL */
        log_call(a, STORTIMER_EVENT_FIRED, w);
    if (w->legacy)
        w->call.legacy_callback(w->extension);
    else if (w->call.callback) /* always: StorPortRequestTimer refuses NULL */
        w->call.callback(w->extension, w->call.context);
    if (st_logging())
        log_call(a, STORTIMER_EVENT_RETURNED, w);
    st_self = saved;
}

/* Runs a taken timer with the adapter lock let go; adapter lock held. */
static void run_timer(st_adapter *a, const st_work *w)
{
    if (!w->started)
        return;
    st_running_begin(&a->run, w->timer);
    ST_COUNT(&a->stats, fired, 1);
    if (w->legacy)
        ST_COUNT(&a->stats, legacy_fired, 1);
    st_count_lateness(&a->stats, w->now - w->call.due);
    st_mutex_unlock(&a->mutex);
    call_timer(a, w);
    st_mutex_lock(&a->mutex);
    if (st_running_end(&a->run)) /* it freed its own timer */
        st_timer_reclaim(a, w->timer);
    st_adapter_check_locked_or_abort(a);
}

/* Runs a taken item; adapter lock held. */
static void run(st_adapter *a, const st_work *w)
{
    switch (w->kind) {
    case ST_WORK_TIMER:
        run_timer(a, w);
        break;
    }
}

st_run_result st_work_run_next(st_adapter *a, uint64_t serial, const st_horizon *horizon,
                               bool wait_for_startio)
{
    if (wait_for_startio)
        st_lock_acquire(&a->startio);
    else if (!st_lock_try_acquire(&a->startio))
        return ST_RUN_LOCK_BUSY;
    st_mutex_lock(&a->mutex);
    if (st_handover_ready(&a->handover))
        st_timer_apply_handovers(a);
    st_work w;
    bool taken = st_adapter_is(a, serial) &&
                 take_next_due(a, horizon->now(horizon->clock), horizon->cutoff, &w);
    if (taken)
        run(a, &w);
    st_mutex_unlock(&a->mutex);
    st_lock_release(&a->startio);
    return taken ? ST_RUN_AGAIN : ST_RUN_NOTHING;
}

/* ---- looking ahead ---- */

/* The smallest start time over the adapter's sources: of items due by
 * `limit`, moving the wheels as far as they must (`far` false), or of all
 * items, moving nothing (`far` true). */
static bool first_start(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                        bool far, uint64_t *at)
{
    bool found = false;
    st_mutex_lock(&a->mutex);
    if (st_adapter_is(a, serial)) {
        if (st_handover_ready(&a->handover))
            st_timer_apply_handovers(a);
        found = st_shards_first_time(&a->shards, limit, cutoff, far, at);
    }
    st_mutex_unlock(&a->mutex);
    return found;
}

bool st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                  uint64_t *at)
{
    return first_start(a, serial, limit, cutoff, false, at);
}

bool st_work_next_fire(st_adapter *a, uint64_t serial, uint64_t *at)
{
    return first_start(a, serial, UINT64_MAX, 0, true, at);
}

uint64_t st_work_wake_time(st_adapter *a)
{
    return st_shards_wake_time(&a->shards);
}
