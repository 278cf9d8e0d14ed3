/*
 * stepping.c - advancing a virtual clock (SPEC S11.2, S11.3): the host's
 * stortimer_clock_advance and the harness calls built on it.
 *
 * A virtual clock steps from fire time to fire time: each step picks, over
 * every adapter on the clock, the first due item (st_work_peek) with the
 * smallest (fire time, adapter creation), moves the clock to its fire time
 * and runs it on the calling thread (st_work_run_next). So callbacks run in
 * order (S8.4), zero-window timers fire exactly at their due time, windowed
 * ones at the time chosen in their window (S11.4), and a callback that
 * re-arms its timer counts from its own fire time (S11.3). Equal fire times
 * on different adapters go by adapter creation (serial): orders are counted
 * per adapter (arm_word.h).
 *
 * Bounded on purpose: an advance runs what is due by its target, then,
 * once, what callbacks' stalls made due, up to the clock's reading then
 * (S9.3): a fixed second deadline, so a callback that re-arms and stalls
 * its own period cannot keep an advance going for ever. At the clock's last
 * microsecond every arm is due at once (S5.4.3 saturates), so arms made
 * there wait for the next advance (st_clock_member.cutoff). Adapters whose
 * StartIo lock the advancing thread holds are passed over: their callbacks
 * run late, at a later advance.
 */
#include "time/clock.h"

#include "adapters/window.h"
#include "adapters/work.h"
#include "platform/os.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"

/* A clock reading, for st_work_run_next's horizon. */
static uint64_t read_clock(const void *clock)
{
    return atomic_load_explicit(&((const stortimer_clock *)clock)->now, memory_order_acquire);
}

static void raise_clock(void *clock, uint64_t time)
{
    st_clock_raise_to(clock, time);
}

/* Whether the clock has one adapter (read without its list lock: a hint,
 * re-read before every quick step). */
static bool one_adapter(void *clock)
{
    return atomic_load_explicit(&((stortimer_clock *)clock)->member_count,
                                memory_order_relaxed) == 1;
}

/* Whether this thread holds the adapter's StartIo lock. */
static bool startio_mine(st_adapter *a)
{
    return st_lock_held_by_me(st_adapter_startio(a));
}

/* Whether this thread could run the member's callbacks now: not while it
 * (or, during an advance, another advancer) holds its StartIo lock. */
static bool runnable_here(st_clock_member *m)
{
    return !startio_mine(m->adapter) &&
           !(st_self.advancing && atomic_load(&m->startio_held_by_advancer));
}

/* The member holding the clock's earliest item due by `limit`, with its
 * adapter as it was then; NULL if none. Equal fire times on different
 * adapters go by adapter creation. */
static st_clock_member *pick_next(stortimer_clock *clock, uint64_t limit, uint64_t *due,
                                  st_adapter_ref *ref)
{
    st_clock_member *best = NULL;
    st_adapter *best_adapter = NULL;
    uint64_t best_due = UINT64_MAX, best_serial = UINT64_MAX;
    st_mutex_lock(&clock->list_lock);
    for (st_clock_member *m = clock->members; m; m = m->next) {
        uint64_t d;
        /* Its callbacks need a StartIo lock that we, or another thread
         * advancing this clock, hold: they run later, late; its DPCs and
         * pause expiries need none (S14.9). */
        bool timers = !startio_mine(m->adapter) && !atomic_load(&m->startio_held_by_advancer);
        uint64_t s = st_adapter_serial(m->adapter);
        if (st_work_peek(m->adapter, s, limit, atomic_load(&m->cutoff), timers, &d) &&
            (d < best_due || (d == best_due && s < best_serial))) {
            best = m;
            best_adapter = m->adapter;
            best_due = d;
            best_serial = s;
        }
    }
    st_mutex_unlock(&clock->list_lock);
    *due = best_due;
    *ref = (st_adapter_ref){best_adapter, best_serial};
    return best;
}

/* Whether an adapter of the clock has requests handed over and not yet
 * applied (reserved cells included). */
static bool handover_waiting(stortimer_clock *clock)
{
    bool waiting = false;
    st_mutex_lock(&clock->list_lock);
    for (st_clock_member *m = clock->members; m && !waiting; m = m->next)
        waiting = st_adapter_handovers_waiting(m->adapter) && st_adapter_live(m->adapter);
    st_mutex_unlock(&clock->list_lock);
    return waiting;
}

/*
 * Marks (or unmarks) the members whose StartIo lock this advancing thread
 * holds, and tells whether there were any. Another thread advancing the
 * same clock passes them over instead of waiting for the lock: two threads
 * each holding one adapter's StartIo lock and advancing would otherwise
 * wait for each other.
 */
static bool mark_startio_held(stortimer_clock *clock, bool held)
{
    bool any = false;
    st_mutex_lock(&clock->list_lock);
    for (st_clock_member *m = clock->members; m; m = m->next) {
        if (startio_mine(m->adapter)) {
            atomic_store(&m->startio_held_by_advancer, held);
            any = true;
        }
    }
    st_mutex_unlock(&clock->list_lock);
    return any;
}

/*
 * Waits until another thread's hold on a member's StartIo lock ends, or
 * until that thread turns out to be advancing too (then the member is
 * passed over). A thread that holds StartIo locks itself polls instead of
 * blocking: blocking would order two StartIo locks, which is how deadlocks
 * start (and what ThreadSanitizer reports).
 */
static void wait_for_startio(st_clock_member *m, st_adapter *a, bool holding_startio_locks)
{
    st_lock *startio = st_adapter_startio(a);
    if (!holding_startio_locks) {
        st_lock_acquire(startio);
        st_lock_release(startio);
        return;
    }
    while (!atomic_load(&m->startio_held_by_advancer)) {
        if (st_lock_try_acquire(startio)) {
            st_lock_release(startio);
            return;
        }
        st_os_sleep_ns(20000);
    }
}

/* Whether this thread may advance `clock`; reports why not. */
static bool may_advance(const stortimer_clock *clock, const char *who, const void *caller)
{
    if (!clock) {
        st_report("%s: the real clock cannot be advanced", who);
        return false;
    }
    /* From a callback, an advance would run callbacks inside callbacks, and
     * two clocks advanced from each other's callbacks would deadlock. */
    if (st_self.callback_adapter || st_self.advancing) {
        st_report("%s: called from a timer callback; use StorPortStallExecution "
                  "to let time pass there (ignored)", who);
        if (st_verifying())
            st_verify_finding(caller, "%s(%p) from a callback or DPC routine", who,
                              (const void *)clock);
        return false;
    }
    return true;
}

/* Takes the clock for advancing: one advancer at a time. Returns whether
 * this thread holds StartIo locks of the clock's adapters. */
static bool begin_advance(stortimer_clock *clock)
{
    st_mutex_lock(&clock->advance_lock);
    st_time_scale_fix(&clock->scale); /* too late to set the tick (S17.4) */
    st_self.advancing = clock;
    return mark_startio_held(clock, true);
}

/* At the clock's last microsecond, 2^64 - 1, the clock cannot move on and
 * every arm is due at once: the arms made from then on wait for the next
 * advance. Each member notes its adapter's next arm order now. */
static void set_end_of_time(stortimer_clock *clock, bool on)
{
    st_mutex_lock(&clock->list_lock);
    clock->end_of_time = on;
    for (st_clock_member *m = clock->members; m; m = m->next)
        atomic_store(&m->cutoff, on ? st_adapter_next_order(m->adapter) : 0);
    st_mutex_unlock(&clock->list_lock);
}

static void end_advance(stortimer_clock *clock)
{
    if (clock->end_of_time)
        set_end_of_time(clock, false);
    mark_startio_held(clock, false);
    st_self.advancing = NULL;
    st_mutex_unlock(&clock->advance_lock);
}

/* Runs the item the adapter of `m` has due now; if another thread holds
 * that StartIo lock, waits for it without the advance lock, which it may
 * want. (The adapter may leave the clock meanwhile: `ref` says which it
 * was, and its record outlives it, clock.h.) */
static st_run_result run_one(stortimer_clock *clock, st_clock_member *m,
                             const st_adapter_ref *ref, bool holding_startio_locks)
{
    st_adapter *a = ref->adapter;
    st_horizon horizon = {read_clock, clock, atomic_load(&m->cutoff), raise_clock, one_adapter};
    st_run_result result = st_work_run_next(a, ref->serial, &horizon);
    if (result == ST_RUN_LOCK_BUSY) {
        st_mutex_unlock(&clock->advance_lock);
        wait_for_startio(m, a, holding_startio_locks);
        st_mutex_lock(&clock->advance_lock);
    }
    return result;
}

/*
 * While the adapter of `m` is the clock's only one, runs its timer
 * callbacks due by `limit` with quick steps (st_work_run_first_due), until
 * anything else is first; the general loop goes on from there. With
 * one adapter, its first item is the clock's first (pick_next), so the
 * order is the same. Not at the clock's last microsecond, where arms made
 * from then on wait for the next advance (set_end_of_time).
 */
static void run_solo(stortimer_clock *clock, st_clock_member *m, const st_adapter_ref *ref,
                     uint64_t limit)
{
    if (limit == UINT64_MAX)
        limit--;
    st_horizon horizon = {read_clock, clock, atomic_load(&m->cutoff), raise_clock, one_adapter};
    while (st_work_run_first_due(ref->adapter, ref->serial, &horizon, limit) == ST_RUN_AGAIN) {
    }
}

/* The runaway guard (S14.11): DPC starts at one clock reading within one
 * advance. */
#define ST_DPC_RUNAWAY_STARTS 65536u

typedef struct st_runaway {
    uint64_t instant;
    uint32_t starts;
} st_runaway;

/* Counts a DPC start; true when it was the last one allowed at this
 * reading: the advance stops, the DPCs still queued wait for the next. */
static bool runaway(st_runaway *guard, stortimer_clock *clock, st_adapter *a)
{
    uint64_t now = stortimer_clock_now(clock);
    if (guard->starts == 0 || now != guard->instant) {
        guard->instant = now;
        guard->starts = 0;
    }
    if (++guard->starts < ST_DPC_RUNAWAY_STARTS)
        return false;
    ST_COUNT(st_adapter_counters(a), dpc_runaway_stops, 1);
    st_report("virtual clock %u: %u DPC routines started at %llu us in one advance; a DPC "
              "re-issues itself without end (Windows would bugcheck on its DPC watchdog). "
              "The advance stops here; the DPCs still queued wait for the next advance",
              (unsigned)clock->id, ST_DPC_RUNAWAY_STARTS, (unsigned long long)now);
    return true;
}

/*
 * Runs, in order, every item due by `target`, stepping the clock to each
 * fire time; then, once, those that fell due while callbacks stalled the
 * clock past the target (S9.3: they run after the stall, late), up to the
 * clock's reading then. Does not move the clock to the target itself.
 * Returns false when the runaway guard stopped it (S14.11): the clock must
 * then stay where it is. Between begin_advance and end_advance.
 */
static bool run_due_by(stortimer_clock *clock, uint64_t target, bool holding_startio_locks)
{
    uint64_t limit = target;
    bool extended = false;
    st_runaway guard = {0, 0};
    for (;;) {
        if (!clock->end_of_time && stortimer_clock_now(clock) == UINT64_MAX)
            set_end_of_time(clock, true);
        uint64_t due;
        st_adapter_ref ref;
        st_clock_member *m = pick_next(clock, limit, &due, &ref);
        if (!m) {
            /* An arm handed over from above DISPATCH_LEVEL after pick_next
             * applied the queues may be due by the limit: look again. */
            if (handover_waiting(clock)) {
                st_os_yield(); /* its cell may still be being written */
                continue;
            }
            uint64_t now = stortimer_clock_now(clock);
            if (extended || now <= limit)
                return true;
            limit = now;
            extended = true;
            continue;
        }
        st_clock_raise_to(clock, due);
        st_run_result result = run_one(clock, m, &ref, holding_startio_locks);
        if (result == ST_RUN_DPC && runaway(&guard, clock, ref.adapter))
            return false;
        if (result == ST_RUN_AGAIN)
            run_solo(clock, m, &ref, limit);
    }
}

void stortimer_clock_advance(stortimer_clock *clock, ULONGLONG microseconds)
{
    if (!may_advance(clock, "stortimer_clock_advance", ST_CALLER))
        return;
    bool holding = begin_advance(clock);
    uint64_t target = st_add_saturating(stortimer_clock_now(clock), microseconds);
    if (run_due_by(clock, target, holding))
        st_clock_raise_to(clock, target);
    end_advance(clock);
}

void stortimer_clock_advance_to(stortimer_clock *clock, ULONGLONG time)
{
    if (!may_advance(clock, "stortimer_clock_advance_to", ST_CALLER))
        return;
    bool holding = begin_advance(clock);
    if (run_due_by(clock, time, holding))
        st_clock_raise_to(clock, time);
    end_advance(clock);
}

/* The earliest fire time over the clock's adapters (only those whose
 * callbacks this thread could run, if `runnable`), however far ahead,
 * without moving any wheel's time. */
static bool earliest_fire(stortimer_clock *clock, bool runnable, uint64_t *fire_time)
{
    bool found = false;
    st_mutex_lock(&clock->list_lock);
    for (st_clock_member *m = clock->members; m; m = m->next) {
        uint64_t at = 0;
        /* Queued DPCs count even where callbacks cannot run (S14.9). */
        bool timers = !runnable || runnable_here(m);
        if (st_work_next_fire(m->adapter, st_adapter_serial(m->adapter), timers, &at) &&
            (!found || at < *fire_time)) {
            *fire_time = at;
            found = true;
        }
    }
    st_mutex_unlock(&clock->list_lock);
    return found;
}

BOOLEAN stortimer_clock_next_fire(stortimer_clock *clock, ULONGLONG *fire_time)
{
    if (!clock) {
        st_report("stortimer_clock_next_fire: the real clock has no virtual schedule");
        return FALSE;
    }
    uint64_t at = 0;
    if (!fire_time || !earliest_fire(clock, true, &at))
        return FALSE;
    *fire_time = at;
    return TRUE;
}

BOOLEAN stortimer_clock_advance_to_next(stortimer_clock *clock)
{
    if (!may_advance(clock, "stortimer_clock_advance_to_next", ST_CALLER))
        return FALSE;
    bool holding = begin_advance(clock);
    uint64_t at = 0;
    bool found = earliest_fire(clock, true, &at);
    if (found && run_due_by(clock, at, holding))
        st_clock_raise_to(clock, at);
    end_advance(clock);
    return found;
}

/* Runs fire time to fire time up to `limit` (run_until_idle, between
 * begin_advance and end_advance). The clock moves only to fire times of
 * timers and DPCs: pause expiries are not pending work (S16.4), they end
 * on the way when the clock passes them. */
static ULONG run_idle(stortimer_clock *clock, uint64_t limit, bool holding)
{
    uint64_t at = 0, ran_to = 0;
    bool ran = false;
    while (earliest_fire(clock, true, &at)) {
        /* Still due where a run went already: it cannot run in this advance
         * (arms made at the clock's last microsecond wait for the next). */
        if (ran && at <= ran_to)
            return STOR_STATUS_BUSY;
        uint64_t step = at < limit ? at : limit;
        if (!run_due_by(clock, step, holding))
            return STOR_STATUS_BUSY; /* stopped by the runaway guard, work left */
        st_clock_raise_to(clock, step);
        if (at > limit)
            return STOR_STATUS_BUSY; /* still pending at the limit */
        ran = true;
        ran_to = step;
    }
    if (!earliest_fire(clock, false, &at))
        return STOR_STATUS_SUCCESS;
    /* Pending, but none runnable: only adapters whose StartIo lock we hold. */
    if (run_due_by(clock, limit, holding))
        st_clock_raise_to(clock, limit);
    return STOR_STATUS_INVALID_DEVICE_STATE;
}

ULONG stortimer_clock_run_until_idle(stortimer_clock *clock, ULONGLONG limit_us)
{
    if (!clock)
        return STOR_STATUS_INVALID_PARAMETER;
    if (!may_advance(clock, "stortimer_clock_run_until_idle", ST_CALLER))
        return STOR_STATUS_INVALID_DEVICE_STATE;
    bool holding = begin_advance(clock);
    uint64_t limit = st_add_saturating(stortimer_clock_now(clock), limit_us);
    ULONG status = run_idle(clock, limit, holding);
    end_advance(clock);
    return status;
}
