/*
 * work.c - taking an adapter's first due item and running it (work.h).
 *
 * Three sources of due work, compared by (due time, order) (S14.8): timer
 * callbacks, DPC routines and pause expiries. A timer callback runs as
 * Windows runs it: at DISPATCH_LEVEL, holding the adapter's StartIo lock
 * (S8.1). That lock is taken before the look, and the adapter lock after
 * it: so a thread holding the StartIo lock (a miniport cancelling or
 * freeing an I/O timer from its StartIo path) always finds a callback
 * either finished or not yet started, and a cancel or free made there
 * drops it (S6.4.1). A DPC routine runs at DISPATCH_LEVEL holding no lock
 * (S14.6): taken with the StartIo lock held, the lock is let go before it
 * runs; and when the StartIo lock cannot be had, the DPCs and expiries due
 * still run, out of turn, ahead of the callbacks that wait for it (S14.9).
 * The adapter lock is let go while a routine runs, so it may call every
 * routine (S8.2).
 */
#include "adapters/work.h"

#include "adapters/adapter_check.h"
#include "adapters/events.h"
#include "adapters/pause_ops.h"
#include "adapters/timer_ops.h"
#include "platform/thread_state.h"
#include "platform/verify.h"

typedef enum st_work_kind {
    ST_WORK_TIMER,            /* a timer callback: StartIo lock held (S8.1) */
    ST_WORK_DPC,              /* a DPC routine: no lock held (S14.6) */
    ST_WORK_PAUSE_EXPIRY,     /* a pause's deadline: no miniport code (S16.4) */
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
    /* ST_WORK_DPC: */
    st_dpc_run dpc;
} st_work;

/* ---- sources of due work ---- */

/* The first due item of the sources that need no StartIo lock: the first
 * queued DPC (due at its issue, so always due) or the first pause expiry
 * due by `now`, whichever goes first. Adapter lock held. */
static bool first_lockless(st_adapter *a, uint64_t now, stw_node *first, st_work_kind *kind)
{
    stw_node dpc = {0}, pause = {0};
    bool has_dpc = st_dpcs_first(&a->dpcs, &dpc.at, &dpc.seq) && dpc.at <= now;
    bool has_pause = a->pauses.paused_count && st_pause_first_due(a, now, &pause.at, &pause.seq);
    if (!has_dpc && !has_pause)
        return false;
    bool dpc_first = has_dpc && (!has_pause || stw_node_before(&dpc, &pause));
    *first = dpc_first ? dpc : pause;
    *kind = dpc_first ? ST_WORK_DPC : ST_WORK_PAUSE_EXPIRY;
    return true;
}

/* Takes a lockless item of `kind` out of its source. */
static void take_lockless(st_adapter *a, st_work_kind kind, st_work *w)
{
    w->kind = kind;
    if (kind == ST_WORK_DPC)
        st_dpcs_take(&a->dpcs, &w->dpc);
}

/* Fills in what a timer taken out of its shard (w->timer) runs as. */
static void taken_timer(st_adapter *a, st_work *w)
{
    w->kind = ST_WORK_TIMER;
    w->legacy = w->timer == a->legacy;
    if (!w->legacy)
        st_registry_current(w->timer, &w->issued);
}

/* The adapter's first due item, taken out of its source: of every source
 * with the StartIo lock held (`startio`), else of those that need none.
 * Adapter lock held. */
static bool take_next_due(st_adapter *a, uint64_t now, uint64_t cutoff, bool startio,
                          st_work *w)
{
    w->now = now;
    w->extension = st_adapter_extension(a);
    stw_node other;
    st_work_kind kind;
    bool lockless = first_lockless(a, now, &other, &kind);
    if (startio) {
        w->timer = st_shards_take_first(&a->shards, now, cutoff, a->legacy,
                                        lockless ? &other : NULL, &w->call, &w->started);
        if (w->timer) {
            taken_timer(a, w);
            return true;
        }
    }
    if (lockless)
        take_lockless(a, kind, w);
    return lockless;
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

/* ---- the verifier's routine limit ---- */

/* Where a routine's run time is measured from: the thread's CPU time on
 * the real clock, the clock's reading on a virtual one (what its stalls
 * consume), so that the finding is deterministic in virtual time. */
typedef struct st_run_meter {
    const st_horizon *horizon;
    uint64_t start;
} st_run_meter;

static uint64_t meter_now(const st_horizon *horizon)
{
    return horizon->clock ? horizon->now(horizon->clock) : st_verify_thread_cpu_ns() / 1000u;
}

static st_run_meter meter_start(const st_horizon *horizon)
{
    return (st_run_meter){horizon, st_verifying() ? meter_now(horizon) : 0};
}

/* A routine that ran longer than the verifier's limit is a violation. */
static void meter_stop(const st_run_meter *m, const void *routine, const char *what)
{
    if (!st_verifying())
        return;
    uint64_t limit = st_verify_routine_limit_us(), ran = meter_now(m->horizon) - m->start;
    if (limit && ran > limit)
        st_verify_finding(routine, "%s %p ran %llu us%s, over the limit of %llu us", what,
                          routine, (unsigned long long)ran,
                          m->horizon->clock ? " of virtual time (its stalls)" : " of CPU time",
                          (unsigned long long)limit);
}

/* Runs a taken timer with the adapter lock let go; adapter lock held. */
static void run_timer(st_adapter *a, const st_work *w, const st_horizon *horizon)
{
    if (!w->started)
        return;
    st_running_begin(&a->run, w->timer);
    /* Counted only here, under the adapter lock: plain adds. */
    ST_COUNT_LOCKED(&a->stats, fired, 1);
    if (w->legacy)
        ST_COUNT_LOCKED(&a->stats, legacy_fired, 1);
    st_count_lateness(&a->stats, w->now - w->call.due);
    st_mutex_unlock(&a->mutex);
    st_run_meter meter = meter_start(horizon);
    call_timer(a, w);
    meter_stop(&meter, w->legacy ? (const void *)w->call.legacy_callback
                                 : (const void *)w->call.callback,
               "timer callback");
    st_mutex_lock(&a->mutex);
    if (st_running_end(&a->run)) /* it freed its own timer */
        st_timer_reclaim(a, w->timer);
    st_adapter_check_locked_or_abort(a);
}

/* Records a DPC routine's start or return (the log is on). */
ST_LOG_PATH static void log_dpc(st_adapter *a, stortimer_event_type type, const st_work *w)
{
    st_log_record(a, &(stortimer_event){
        .type = type, .extension = w->extension, .dpc = (void *)w->dpc.dpc->address,
        .dpc_routine = w->dpc.routine, .argument1 = w->dpc.argument1,
        .argument2 = w->dpc.argument2, .due = w->dpc.due, .fire_time = w->now,
    });
}

/* Calls a DPC routine as S14.6 says: DISPATCH_LEVEL, no lock held, bound
 * to the adapter's clock. */
static void call_dpc(st_adapter *a, const st_work *w)
{
    st_thread_state saved = st_self;
    st_self.irql = DISPATCH_LEVEL;
    st_self.callback_adapter = a;
    st_self.callback_timer = NULL;
    st_self.dpc = w->dpc.dpc;
    st_self.bound_clock = st_adapter_clock(a);
    if (st_logging())
        log_dpc(a, STORTIMER_EVENT_DPC_STARTED, w);
    w->dpc.routine((PSTOR_DPC)(void *)w->dpc.dpc->address, w->extension, w->dpc.argument1,
                   w->dpc.argument2);
    if (st_logging())
        log_dpc(a, STORTIMER_EVENT_DPC_RETURNED, w);
    st_self.irql = saved.irql;
    st_self.callback_adapter = saved.callback_adapter;
    st_self.callback_timer = saved.callback_timer;
    st_self.dpc = saved.dpc;
    st_self.bound_clock = saved.bound_clock;
}

/* Runs a taken DPC with no lock held; adapter lock held, and the StartIo
 * lock if `startio` (let go first: a DPC does not take it). */
static void run_dpc(st_adapter *a, const st_work *w, bool startio, const st_horizon *horizon)
{
    st_running_begin_dpc(&a->run, w->dpc.dpc);
    ST_COUNT(&a->stats, dpcs_started, 1);
    st_count_dpc_lateness(&a->stats, w->now - w->dpc.due);
    st_mutex_unlock(&a->mutex);
    if (startio)
        st_lock_release(&a->startio);
    st_run_meter meter = meter_start(horizon);
    call_dpc(a, w);
    meter_stop(&meter, (const void *)w->dpc.routine, "DPC routine");
    st_mutex_lock(&a->mutex);
    ST_COUNT(&a->stats, dpcs_returned, 1);
    w->dpc.dpc->running = false;
    st_running_end_dpc(&a->run);
    st_adapter_check_locked_or_abort(a);
}

/* Runs a taken item; adapter lock held, and the StartIo lock if
 * `startio`. Returns whether the StartIo lock is still held. */
static bool run(st_adapter *a, const st_work *w, bool startio, const st_horizon *horizon)
{
    switch (w->kind) {
    case ST_WORK_TIMER:
        run_timer(a, w, horizon);
        return startio;
    case ST_WORK_DPC:
        run_dpc(a, w, startio, horizon);
        return false;
    case ST_WORK_PAUSE_EXPIRY:
        st_pause_expire_first(a);
        return startio;
    }
    return startio;
}

/* Whether a timer is due by `now`, for a look made without the StartIo
 * lock. Adapter lock held. */
static bool timer_due(st_adapter *a, uint64_t now, uint64_t cutoff)
{
    uint64_t at;
    return st_shards_first_time(&a->shards, now, cutoff, false, &at);
}

/* Takes the adapter's first item due by `limit` if it is a timer, and
 * moves the clock to its fire time. Adapter and StartIo locks held. */
static bool take_first_timer_due(st_adapter *a, uint64_t limit, const st_horizon *horizon,
                                 st_work *w)
{
    stw_node other;
    st_work_kind kind;
    bool lockless = first_lockless(a, limit, &other, &kind);
    w->timer = st_shards_take_first_due(&a->shards, limit, horizon->cutoff, a->legacy,
                                        lockless ? &other : NULL, &w->call, &w->started);
    if (!w->timer)
        return false;
    horizon->raise(horizon->clock, w->call.at);
    w->now = horizon->now(horizon->clock);
    w->extension = st_adapter_extension(a);
    taken_timer(a, w);
    return true;
}

st_run_result st_work_run_first_due(st_adapter *a, uint64_t serial, const st_horizon *horizon,
                                    uint64_t limit)
{
    if (!st_lock_try_acquire(&a->startio))
        return ST_RUN_NOTHING;
    st_mutex_lock(&a->mutex);
    st_run_result result = ST_RUN_NOTHING;
    st_work w;
    for (unsigned ran = 0; ran < ST_WORK_QUICK_RUN && horizon->alone(horizon->clock) &&
                           st_adapter_is(a, serial);
         ran++) {
        if (st_handover_ready(&a->handover))
            st_timer_apply_handovers(a);
        if (!take_first_timer_due(a, limit, horizon, &w))
            break;
        run_timer(a, &w, horizon);
        result = ST_RUN_AGAIN;
    }
    st_mutex_unlock(&a->mutex);
    st_lock_release(&a->startio);
    return result;
}

st_run_result st_work_run_next(st_adapter *a, uint64_t serial, const st_horizon *horizon)
{
    bool startio = st_lock_try_acquire(&a->startio);
    st_mutex_lock(&a->mutex);
    if (st_handover_ready(&a->handover))
        st_timer_apply_handovers(a);
    st_run_result result = ST_RUN_NOTHING;
    if (st_adapter_is(a, serial)) {
        uint64_t now = horizon->now(horizon->clock);
        st_work w;
        if (take_next_due(a, now, horizon->cutoff, startio, &w)) {
            result = w.kind == ST_WORK_DPC ? ST_RUN_DPC : ST_RUN_AGAIN;
            startio = run(a, &w, startio, horizon);
        } else if (!startio && timer_due(a, now, horizon->cutoff)) {
            result = ST_RUN_LOCK_BUSY;
        }
    }
    st_mutex_unlock(&a->mutex);
    if (startio)
        st_lock_release(&a->startio);
    return result;
}

/* ---- looking ahead ---- */

/* The earlier of *at (if `found`) and `t`. */
static bool earlier(bool found, uint64_t *at, uint64_t t)
{
    if (!found || t < *at)
        *at = t;
    return true;
}

/* The smallest start time over the adapter's sources: of timers (if
 * `timers`) due by `limit`, moving the wheels as far as they must (`far`
 * false), or of all timers, moving nothing (`far` true); of queued DPCs;
 * and of pause expiries due by `limit` (if `pauses`). */
static bool first_start(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff,
                        bool far, bool timers, bool pauses, uint64_t *at)
{
    bool found = false;
    st_mutex_lock(&a->mutex);
    if (st_adapter_is(a, serial)) {
        if (st_handover_ready(&a->handover))
            st_timer_apply_handovers(a);
        if (timers)
            found = st_shards_first_time(&a->shards, limit, cutoff, far, at);
        uint64_t t, order;
        if (st_dpcs_first(&a->dpcs, &t, &order) && t <= limit)
            found = earlier(found, at, t);
        if (pauses && a->pauses.paused_count && st_pause_first_due(a, limit, &t, &order))
            found = earlier(found, at, t);
    }
    st_mutex_unlock(&a->mutex);
    return found;
}

bool st_work_peek(st_adapter *a, uint64_t serial, uint64_t limit, uint64_t cutoff, bool timers,
                  uint64_t *at)
{
    return first_start(a, serial, limit, cutoff, false, timers, true, at);
}

bool st_work_next_fire(st_adapter *a, uint64_t serial, bool timers, uint64_t *at)
{
    /* Pause expiries run no miniport code: they do not count (S16.4). */
    return first_start(a, serial, UINT64_MAX, 0, true, timers, false, at);
}

uint64_t st_work_wake_time(st_adapter *a)
{
    uint64_t wake = st_shards_wake_time(&a->shards);
    uint64_t t, order;
    if (st_dpcs_first(&a->dpcs, &t, &order))
        wake = 0; /* due at once */
    if (a->pauses.paused_count && st_pause_wake_time(a) < wake)
        wake = st_pause_wake_time(a);
    return wake;
}
