/*
 * clock.c - time, virtual stepping, and StorPortStallExecution.
 *
 * A virtual clock steps from fire time to fire time: each step picks, over
 * every adapter on the clock, the queued timer with the smallest (fire
 * time, adapter creation, arm order), moves the clock to its fire time and
 * runs it. So
 * callbacks run in order (S8), zero-window timers fire exactly at their due
 * time, windowed ones at the time chosen in their window (st_fire_time), and
 * a callback that re-arms its timer counts from its own fire time (S11).
 */
#include "clock.h"

#include "alloc.h"
#include "report.h"
#include "thread_state.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

static uint64_t real_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t st_real_now_floor(void)
{
    return real_now_ns() / 1000u;
}

uint64_t st_real_now_ceil(void)
{
    return (real_now_ns() + 999u) / 1000u;
}

stortimer_clock *stortimer_clock_virtual_create(void)
{
    static _Atomic uint32_t clock_ids;
    stortimer_clock *clock = st_calloc(1, sizeof *clock);
    if (!clock)
        return NULL;
    clock->id = atomic_fetch_add(&clock_ids, 1) + 1;
    atomic_init(&clock->now, 0);
    if (!st_mutex_init(&clock->list_lock)) {
        st_free(clock);
        return NULL;
    }
    if (!st_mutex_init(&clock->advance_lock)) {
        pthread_mutex_destroy(&clock->list_lock);
        st_free(clock);
        return NULL;
    }
    return clock;
}

void stortimer_clock_destroy(stortimer_clock *clock)
{
    if (!clock)
        return;
    pthread_mutex_lock(&clock->list_lock);
    uint32_t adapters = clock->adapter_count;
    pthread_mutex_unlock(&clock->list_lock);
    if (adapters) {
        st_report("stortimer_clock_destroy: %u adapter(s) still use this clock; "
                  "remove them first (clock not destroyed)", adapters);
        return;
    }
    pthread_mutex_destroy(&clock->list_lock);
    pthread_mutex_destroy(&clock->advance_lock);
    st_free(clock);
}

ULONGLONG stortimer_clock_now(const stortimer_clock *clock)
{
    return clock ? atomic_load_explicit(&clock->now, memory_order_acquire)
                 : st_real_now_floor();
}

void st_clock_raise_to(stortimer_clock *clock, uint64_t time)
{
    uint64_t now = atomic_load_explicit(&clock->now, memory_order_relaxed);
    while (now < time &&
           !atomic_compare_exchange_weak_explicit(&clock->now, &now, time,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed)) {
    }
}

void st_clock_attach(stortimer_clock *clock, st_adapter *a)
{
    pthread_mutex_lock(&clock->list_lock);
    a->clock_prev = NULL;
    if (clock->end_of_time) /* made by a callback of that advance */
        atomic_store(&a->end_of_time_orders, atomic_load(&a->orders) + 1);
    a->clock_next = clock->adapters;
    if (clock->adapters)
        clock->adapters->clock_prev = a;
    clock->adapters = a;
    clock->adapter_count++;
    pthread_mutex_unlock(&clock->list_lock);
}

void st_clock_detach(stortimer_clock *clock, st_adapter *a)
{
    pthread_mutex_lock(&clock->list_lock);
    if (a->clock_prev)
        a->clock_prev->clock_next = a->clock_next;
    else
        clock->adapters = a->clock_next;
    if (a->clock_next)
        a->clock_next->clock_prev = a->clock_prev;
    a->clock_prev = a->clock_next = NULL;
    clock->adapter_count--;
    pthread_mutex_unlock(&clock->list_lock);
}

/* The adapter holding the clock's earliest timer that fires by `limit`;
 * NULL if none. Equal fire times on different adapters go by adapter
 * creation (serial): orders are counted per adapter (arm_word.h). */
static st_adapter *pick_next(stortimer_clock *clock, uint64_t limit, uint64_t *due,
                             uint64_t *serial)
{
    st_adapter *best = NULL;
    uint64_t best_due = UINT64_MAX, best_serial = UINT64_MAX;
    pthread_mutex_lock(&clock->list_lock);
    for (st_adapter *a = clock->adapters; a; a = a->clock_next) {
        uint64_t d;
        /* Its callbacks need a StartIo lock that we, or another thread
         * advancing this clock, hold: they run later, late. */
        if (st_lock_held_by_me(&a->startio) || atomic_load(&a->startio_held_by_advancer))
            continue;
        uint64_t s = atomic_load(&a->serial);
        if (st_adapter_peek(a, s, limit, &d) &&
            (d < best_due || (d == best_due && s < best_serial))) {
            best = a;
            best_due = d;
            best_serial = s;
        }
    }
    pthread_mutex_unlock(&clock->list_lock);
    *due = best_due;
    *serial = best_serial;
    return best;
}

/* Whether an adapter of the clock that this thread may fire has arms
 * handed over and not yet applied (reserved cells included). */
static bool handover_waiting(stortimer_clock *clock)
{
    bool waiting = false;
    pthread_mutex_lock(&clock->list_lock);
    for (st_adapter *a = clock->adapters; a && !waiting; a = a->clock_next)
        waiting = st_handover_waiting(a) && !st_lock_held_by_me(&a->startio) &&
                  !atomic_load(&a->startio_held_by_advancer) && a->live;
    pthread_mutex_unlock(&clock->list_lock);
    return waiting;
}

/*
 * Marks (or unmarks) the adapters of the clock whose StartIo lock this
 * advancing thread holds, and tells whether there were any. Another thread
 * advancing the same clock passes them over instead of waiting for the
 * lock: two threads each holding one adapter's StartIo lock and advancing
 * would otherwise wait for each other.
 */
static bool mark_startio_held(stortimer_clock *clock, bool held)
{
    bool any = false;
    pthread_mutex_lock(&clock->list_lock);
    for (st_adapter *a = clock->adapters; a; a = a->clock_next) {
        if (st_lock_held_by_me(&a->startio)) {
            atomic_store(&a->startio_held_by_advancer, held);
            any = true;
        }
    }
    pthread_mutex_unlock(&clock->list_lock);
    return any;
}

/*
 * Waits until another thread's hold on an adapter's StartIo lock ends, or
 * until that thread turns out to be advancing too (then the adapter is
 * passed over). A thread that holds StartIo locks itself polls instead of
 * blocking: blocking would order two StartIo locks, which is how deadlocks
 * start (and what ThreadSanitizer reports).
 */
static void wait_for_startio(st_adapter *a, bool holding_startio_locks)
{
    if (!holding_startio_locks) {
        st_lock_acquire(&a->startio);
        st_lock_release(&a->startio);
        return;
    }
    struct timespec pause = {0, 20000};
    while (!atomic_load(&a->startio_held_by_advancer)) {
        if (st_lock_try_acquire(&a->startio)) {
            st_lock_release(&a->startio);
            return;
        }
        nanosleep(&pause, NULL);
    }
}

/* Whether this thread may advance `clock`; reports why not. */
static bool may_advance(const stortimer_clock *clock, const char *who)
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
        return false;
    }
    return true;
}

/* Takes the clock for advancing: one advancer at a time. */
static bool begin_advance(stortimer_clock *clock)
{
    pthread_mutex_lock(&clock->advance_lock);
    st_self.advancing = clock;
    return mark_startio_held(clock, true);
}

/*
 * At the clock's last microsecond, 2^64 - 1, the clock cannot move on and
 * every arm is due at once: a callback that re-arms its timer would run for
 * ever. So the arms made from then on wait for the next advance: each
 * adapter notes its arm order now (adapter.h, end_of_time_orders).
 */
static void set_end_of_time(stortimer_clock *clock, bool on)
{
    pthread_mutex_lock(&clock->list_lock);
    clock->end_of_time = on;
    for (st_adapter *a = clock->adapters; a; a = a->clock_next)
        atomic_store(&a->end_of_time_orders, on ? atomic_load(&a->orders) + 1 : 0);
    pthread_mutex_unlock(&clock->list_lock);
}

static void end_advance(stortimer_clock *clock)
{
    if (clock->end_of_time)
        set_end_of_time(clock, false);
    mark_startio_held(clock, false);
    st_self.advancing = NULL;
    pthread_mutex_unlock(&clock->advance_lock);
}

/*
 * Runs, in order, every callback due by `target`, stepping the clock to
 * each fire time; then, once, those that fell due while callbacks stalled
 * the clock past the target (S9: they run after the stall, late), up to
 * the clock's reading then. That second deadline is fixed, so a callback
 * that re-arms itself and stalls cannot keep the advance going. Does not
 * move the clock to the target itself. Between begin_advance and
 * end_advance.
 */
static void run_due_by(stortimer_clock *clock, uint64_t target, bool holding_startio_locks)
{
    uint64_t limit = target;
    bool extended = false;
    for (;;) {
        if (!clock->end_of_time && stortimer_clock_now(clock) == UINT64_MAX)
            set_end_of_time(clock, true);
        uint64_t due, serial;
        st_adapter *a = pick_next(clock, limit, &due, &serial);
        if (!a) {
            /* An arm handed over from above DISPATCH_LEVEL after pick_next
             * drained the queues may be due by the limit: look again. */
            if (handover_waiting(clock)) {
                sched_yield(); /* its cell may still be being written */
                continue;
            }
            uint64_t now = stortimer_clock_now(clock);
            if (extended || now <= limit)
                return;
            limit = now;
            extended = true;
            continue;
        }
        st_clock_raise_to(clock, due);
        if (st_adapter_fire_due(a, serial, false) == ST_FIRE_LOCK_BUSY) {
            /* Another thread holds that StartIo lock: wait for it without
             * holding the advance lock, which it may be waiting for. */
            pthread_mutex_unlock(&clock->advance_lock);
            wait_for_startio(a, holding_startio_locks);
            pthread_mutex_lock(&clock->advance_lock);
        }
    }
}

void stortimer_clock_advance(stortimer_clock *clock, ULONGLONG microseconds)
{
    if (!may_advance(clock, "stortimer_clock_advance"))
        return;
    bool holding = begin_advance(clock);
    uint64_t target = st_add_saturating(stortimer_clock_now(clock), microseconds);
    run_due_by(clock, target, holding);
    st_clock_raise_to(clock, target);
    end_advance(clock);
}

void stortimer_clock_advance_to(stortimer_clock *clock, ULONGLONG time)
{
    if (!may_advance(clock, "stortimer_clock_advance_to"))
        return;
    bool holding = begin_advance(clock);
    run_due_by(clock, time, holding);
    st_clock_raise_to(clock, time);
    end_advance(clock);
}

/* Whether this thread could run the adapter's callbacks now: not while it
 * (or, during an advance, another advancer) holds its StartIo lock. */
static bool runnable_here(st_adapter *a)
{
    return !st_lock_held_by_me(&a->startio) &&
           !(st_self.advancing && atomic_load(&a->startio_held_by_advancer));
}

/* The earliest fire time over the adapters of the clock (only those whose
 * callbacks this thread could run, if `runnable`), however far ahead,
 * without moving any wheel's time. */
static bool earliest_fire(stortimer_clock *clock, bool runnable, uint64_t *fire_time)
{
    bool found = false;
    pthread_mutex_lock(&clock->list_lock);
    for (st_adapter *a = clock->adapters; a; a = a->clock_next) {
        uint64_t at = 0;
        if ((!runnable || runnable_here(a)) &&
            st_adapter_next_fire(a, atomic_load(&a->serial), &at) &&
            (!found || at < *fire_time)) {
            *fire_time = at;
            found = true;
        }
    }
    pthread_mutex_unlock(&clock->list_lock);
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
    if (!may_advance(clock, "stortimer_clock_advance_to_next"))
        return FALSE;
    bool holding = begin_advance(clock);
    uint64_t at = 0;
    bool found = earliest_fire(clock, true, &at);
    if (found) {
        run_due_by(clock, at, holding);
        st_clock_raise_to(clock, at);
    }
    end_advance(clock);
    return found;
}

ULONG stortimer_clock_run_until_idle(stortimer_clock *clock, ULONGLONG limit_us)
{
    if (!clock)
        return STOR_STATUS_INVALID_PARAMETER;
    if (!may_advance(clock, "stortimer_clock_run_until_idle"))
        return STOR_STATUS_INVALID_DEVICE_STATE;
    bool holding = begin_advance(clock);
    uint64_t limit = st_add_saturating(stortimer_clock_now(clock), limit_us);
    run_due_by(clock, limit, holding);
    uint64_t at = 0;
    ULONG status = STOR_STATUS_SUCCESS;
    if (earliest_fire(clock, false, &at)) {
        st_clock_raise_to(clock, limit);
        /* Pending, but none runnable: only adapters whose StartIo lock we hold. */
        status = earliest_fire(clock, true, &at) ? STOR_STATUS_BUSY
                                                 : STOR_STATUS_INVALID_DEVICE_STATE;
    }
    end_advance(clock);
    return status;
}

static void stall_real(ULONG delay)
{
    uint64_t target = real_now_ns() + (uint64_t)delay * 1000u;
    /* Short stalls spin, as KeStallExecutionProcessor does; longer ones sleep. */
    if (delay < 100) {
        while (real_now_ns() < target) {
        }
        return;
    }
    struct timespec ts = {(time_t)(target / 1000000000u), (long)(target % 1000000000u)};
    while (real_now_ns() < target) {
        int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (rc != 0 && rc != EINTR)
            break;
    }
    while (real_now_ns() < target) {
    }
}

VOID StorPortStallExecution(ULONG Delay)
{
    stortimer_clock *clock = st_self.bound_clock;
    if (clock)
        st_clock_raise_to(clock, st_add_saturating(stortimer_clock_now(clock), Delay));
    else
        stall_real(Delay);
}
