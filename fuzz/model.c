/*
 * model.c - the reference model (see model.h): the contract as plain code.
 *
 * Everything is an array searched from end to end. A timer is pending or
 * not; firing picks, among the pending timers of one clock, the one with
 * the smallest (fire time, arm order). Nothing is freed during an input:
 * freed timers and removed adapters stay in their arrays, marked dead, so
 * that "was this handle freed?" is a search.
 */
#include "model.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_CLOCKS 64
#define MODEL_ADAPTERS 512
#define MODEL_TIMERS 8192
#define NOBODY (-1)

typedef struct m_lock {
    bool held;                   /* by the one thread there is */
} m_lock;

typedef struct m_timer {
    int adapter;
    uint64_t handle;             /* 0 for the legacy timer */
    bool live;                   /* initialized and not freed or leaked */
    bool freed;                  /* by StorPortFreeTimer */
    bool pending;                /* armed, callback not yet started */
    uint64_t due, fire, order;   /* fire: the time chosen in the window */
    PHW_TIMER_EX callback;
    PHW_TIMER routine;           /* the legacy timer's */
    PVOID context;
} m_timer;

typedef struct m_adapter {
    bool live;
    void *extension;
    int clock;
    uint32_t max_timers;
    bool half_duplex;
    unsigned handover_used;      /* cells queued since the last drain */
    int legacy;                  /* its RequestTimerCall timer */
    m_lock startio, dpc, interrupt;
    stortimer_stats stats;
} m_adapter;

typedef struct m_clock {
    bool live;
    uint64_t now;
    int adapters;
} m_clock;

static struct {
    m_clock clocks[MODEL_CLOCKS];
    int clock_count;
    m_adapter adapters[MODEL_ADAPTERS];
    int adapter_count;
    m_timer timers[MODEL_TIMERS];
    int timer_count;
    stortimer_stats retired;     /* removed adapters and unattributed misuse */
    uint64_t orders;
    /* The calling thread: */
    KIRQL irql;
    int bound_clock;             /* NOBODY: the real clock */
    int callback_adapter, callback_timer;
    bool advancing;
    model_issued_fn *issued;
    model_report_fn *report;
} m;

static _Noreturn void model_limit(const char *what)
{
    fprintf(stderr, "model: more %s than the model holds\n", what);
    abort();
}

void model_reset(model_issued_fn *issued, model_report_fn *report)
{
    memset(&m, 0, sizeof m);
    m.bound_clock = NOBODY;
    m.callback_adapter = m.callback_timer = NOBODY;
    m.issued = issued;
    m.report = report;
}

/* ---- lookups ---- */

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int clock_index(const stortimer_clock *clock)
{
    for (int i = 0; i < m.clock_count; i++)
        if ((const void *)&m.clocks[i] == (const void *)clock && m.clocks[i].live)
            return i;
    return NOBODY;
}

/* The live adapter whose extension is exactly this pointer (S3.1). */
static int find_adapter(const void *extension)
{
    if (!extension)
        return NOBODY;
    for (int i = 0; i < m.adapter_count; i++)
        if (m.adapters[i].live && m.adapters[i].extension == extension)
            return i;
    return NOBODY;
}

/* The live timer behind a handle value, of any adapter. */
static int find_live_timer(uint64_t handle)
{
    for (int i = 0; i < m.timer_count; i++)
        if (m.timers[i].live && m.timers[i].handle && m.timers[i].handle == handle)
            return i;
    return NOBODY;
}

static bool was_freed_by(int adapter, uint64_t handle)
{
    for (int i = 0; i < m.timer_count; i++)
        if (m.timers[i].freed && m.timers[i].adapter == adapter &&
            m.timers[i].handle == handle)
            return true;
    return false;
}

static uint32_t live_timers_of(int adapter)
{
    uint32_t n = 0;
    for (int i = 0; i < m.timer_count; i++)
        if (m.timers[i].live && m.timers[i].handle && m.timers[i].adapter == adapter)
            n++;
    return n;
}

/* Statistics of an adapter, or the unattributed ones. */
static stortimer_stats *stats_of(int adapter)
{
    return adapter == NOBODY ? &m.retired : &m.adapters[adapter].stats;
}

static uint64_t now_of(int adapter)
{
    return m.clocks[m.adapters[adapter].clock].now;
}

static int new_timer(int adapter, uint64_t handle)
{
    if (m.timer_count == MODEL_TIMERS)
        model_limit("timers");
    int i = m.timer_count++;
    m.timers[i] = (m_timer){.adapter = adapter, .handle = handle, .live = true};
    return i;
}

/* A request made above DISPATCH_LEVEL takes a hand-over cell; below, the
 * adapter's cells are drained before it acts (S5.7). */
static void drain(int adapter)
{
    m.adapters[adapter].handover_used = 0;
}

/* ---- arming and cancelling ---- */

/*
 * Where in its window a timer fires, as the library's documentation states
 * it (docs/design.md): a TolerableDelay under 32 us is none, one over a
 * second is a second; the end of the window, half of it or 1,000 us at most,
 * is kept free; in what is left, the time with the most trailing zero bits.
 * Written as a search, not as the library's bit trick.
 */
static uint64_t fire_time(uint64_t due, ULONGLONG tolerable_delay)
{
    uint64_t window = tolerable_delay < 32 ? 0 : tolerable_delay > 1000000 ? 1000000 : tolerable_delay;
    window -= window / 2 < 1000 ? window / 2 : 1000;
    uint64_t end = add_saturating(due, window);
    for (int bit = 63; bit > 0; bit--) {
        uint64_t step = UINT64_C(1) << bit;
        if (due / step == UINT64_MAX / step)
            continue; /* the next multiple would not fit */
        uint64_t up = due % step == 0 ? due : (due / step + 1) * step;
        if (up <= end)
            return up;
    }
    return due;
}

static void arm(m_timer *t, uint64_t due, uint64_t fire, PHW_TIMER_EX callback,
                PHW_TIMER routine, PVOID context)
{
    t->pending = true;
    t->due = due;
    t->fire = fire;
    t->order = ++m.orders;
    t->callback = callback;
    t->routine = routine;
    t->context = context;
    stats_of(t->adapter)->armed++;
}

static void cancel(m_timer *t)
{
    if (t->pending) {
        t->pending = false;
        stats_of(t->adapter)->cancelled++;
    }
}

/* ---- clocks (S11) ---- */

stortimer_clock *model_clock_virtual_create(void)
{
    if (m.clock_count == MODEL_CLOCKS)
        model_limit("clocks");
    m.clocks[m.clock_count] = (m_clock){.live = true};
    return (stortimer_clock *)(void *)&m.clocks[m.clock_count++];
}

void model_clock_destroy(stortimer_clock *clock)
{
    int c = clock_index(clock);
    if (c == NOBODY)
        return;
    if (m.clocks[c].adapters) {
        m.report("stortimer_clock_destroy: adapters still use this clock");
        return;
    }
    m.clocks[c].live = false;
}

ULONGLONG model_clock_now(const stortimer_clock *clock)
{
    int c = clock_index(clock);
    return c == NOBODY ? 0 : m.clocks[c].now;
}

stortimer_clock *model_thread_bind_clock(stortimer_clock *clock)
{
    stortimer_clock *previous =
        m.bound_clock == NOBODY ? NULL : (stortimer_clock *)(void *)&m.clocks[m.bound_clock];
    m.bound_clock = clock_index(clock);
    return previous;
}

void model_stall_execution(ULONG delay)
{
    if (m.bound_clock != NOBODY)
        m.clocks[m.bound_clock].now = add_saturating(m.clocks[m.bound_clock].now, delay);
}

/* The next timer of clock c to fire: smallest (fire time, adapter, order).
 * S8.4 orders one adapter's timers by arm order; between adapters the library
 * breaks ties by adapter creation, which is an adapter's index here. Adapters
 * whose StartIo lock this thread holds are passed over (their callbacks
 * need it); every other adapter of the clock is looked at, and drained. */
static int next_to_fire(int c, uint64_t end_of_time_order)
{
    int best = NOBODY;
    for (int a = 0; a < m.adapter_count; a++)
        if (m.adapters[a].live && m.adapters[a].clock == c && !m.adapters[a].startio.held)
            drain(a);
    for (int i = 0; i < m.timer_count; i++) {
        const m_timer *t = &m.timers[i];
        const m_adapter *a = &m.adapters[t->adapter];
        if (!t->pending || !a->live || a->clock != c || a->startio.held)
            continue;
        if (end_of_time_order && t->fire == UINT64_MAX && t->order >= end_of_time_order)
            continue; /* armed at the last microsecond: for the next advance */
        const m_timer *b = best == NOBODY ? NULL : &m.timers[best];
        if (!b || t->fire < b->fire ||
            (t->fire == b->fire && (t->adapter < b->adapter ||
                                    (t->adapter == b->adapter && t->order < b->order))))
            best = i;
    }
    return best;
}

/* Starts a callback as S8.1 says: DISPATCH_LEVEL, StartIo lock held, bound
 * to the adapter's clock, which reads the fire time. */
static void fire(int i)
{
    m_timer *t = &m.timers[i];
    int adapter = t->adapter;
    m_adapter *a = &m.adapters[adapter];
    uint64_t now = now_of(adapter);
    t->pending = false;
    a->stats.fired++;
    if (t->routine)
        a->stats.legacy_fired++;
    a->stats.lateness_total_us += now - t->due;
    if (now - t->due > a->stats.lateness_max_us)
        a->stats.lateness_max_us = now - t->due;
    /* The histogram's bucket: 0 on time, then one per power of two. */
    unsigned bucket = 0;
    for (uint64_t late = now - t->due; late; late >>= 1)
        bucket++;
    if (bucket >= STORTIMER_LATENESS_BUCKETS)
        bucket = STORTIMER_LATENESS_BUCKETS - 1;
    a->stats.lateness_histogram[bucket]++;

    KIRQL irql = m.irql;
    int bound = m.bound_clock, cb_adapter = m.callback_adapter, cb_timer = m.callback_timer;
    m.irql = DISPATCH_LEVEL;
    m.bound_clock = a->clock;
    m.callback_adapter = adapter;
    m.callback_timer = i;
    a->startio.held = true;
    if (t->routine)
        t->routine(a->extension);
    else
        t->callback(a->extension, t->context);
    m.adapters[adapter].startio.held = false;
    m.irql = irql;
    m.bound_clock = bound;
    m.callback_adapter = cb_adapter;
    m.callback_timer = cb_timer;
}

void model_clock_advance(stortimer_clock *clock, ULONGLONG microseconds)
{
    int c = clock_index(clock);
    if (c == NOBODY) {
        m.report("stortimer_clock_advance: the real clock cannot be advanced");
        return;
    }
    if (m.callback_adapter != NOBODY || m.advancing) {
        m.report("stortimer_clock_advance: called from a timer callback");
        return;
    }
    m.advancing = true;
    m_clock *k = &m.clocks[c];
    uint64_t target = add_saturating(k->now, microseconds);
    /* First what is due by the target; then, once, what callbacks' stalls
     * made due past it, up to the clock's reading then (S9.3). */
    uint64_t limit = target, end_of_time_order = 0;
    bool extended = false;
    for (;;) {
        /* At 2^64 - 1 every arm is due at once: those made from now on
         * wait for the next advance. */
        if (k->now == UINT64_MAX && !end_of_time_order)
            end_of_time_order = m.orders + 1;
        int i = next_to_fire(c, end_of_time_order);
        if (i == NOBODY || m.timers[i].fire > limit) {
            if (extended || k->now <= limit)
                break;
            limit = k->now;
            extended = true;
            continue;
        }
        if (k->now < m.timers[i].fire)
            k->now = m.timers[i].fire;
        fire(i);
    }
    if (k->now < target)
        k->now = target;
    m.advancing = false;
}

/* ---- IRQL ---- */

KIRQL model_irql_current(void)
{
    return m.irql;
}

KIRQL model_irql_raise(KIRQL new_irql)
{
    KIRQL old = m.irql;
    if (new_irql < old || new_irql > HIGH_LEVEL) {
        if (old <= DISPATCH_LEVEL)
            m.report("stortimer_irql_raise: cannot raise to a lower or unknown level");
        return old;
    }
    m.irql = new_irql;
    return old;
}

void model_irql_lower(KIRQL old_irql)
{
    if (old_irql > m.irql) {
        if (m.irql <= DISPATCH_LEVEL)
            m.report("stortimer_irql_lower: cannot lower to a higher level");
        return;
    }
    m.irql = old_irql;
}

/* ---- adapters (S3) ---- */

ULONG model_adapter_create(const stortimer_adapter_config *config, PVOID *extension)
{
    static const stortimer_adapter_config defaults;
    if (!extension)
        return STOR_STATUS_INVALID_PARAMETER;
    *extension = NULL;
    if (!config)
        config = &defaults;
    int c = clock_index(config->clock);
    if (c == NOBODY) {
        fprintf(stderr, "model: only adapters on a live virtual clock are modelled\n");
        abort();
    }
    if (config->extension_size > UINT32_MAX)
        return STOR_STATUS_INSUFFICIENT_RESOURCES;
    if (m.adapter_count == MODEL_ADAPTERS)
        model_limit("adapters");
    int i = m.adapter_count++;
    m_adapter *a = &m.adapters[i];
    *a = (m_adapter){
        .live = true,
        .extension = (void *)(uintptr_t)m.issued(),
        .clock = c,
        .max_timers = config->max_timers,
        .half_duplex = config->half_duplex,
    };
    a->legacy = new_timer(i, 0);
    m.clocks[c].adapters++;
    *extension = a->extension;
    return STOR_STATUS_SUCCESS;
}

static bool holds_a_lock_of(const m_adapter *a)
{
    return a->startio.held || a->dpc.held || a->interrupt.held;
}

static void add_stats(stortimer_stats *sum, const stortimer_stats *s)
{
    sum->timers_initialized += s->timers_initialized;
    sum->timers_freed += s->timers_freed;
    sum->timers_leaked += s->timers_leaked;
    sum->armed += s->armed;
    sum->cancelled += s->cancelled;
    sum->busy += s->busy;
    sum->fired += s->fired;
    sum->legacy_armed += s->legacy_armed;
    sum->legacy_fired += s->legacy_fired;
    sum->handed_over += s->handed_over;
    sum->rejected += s->rejected;
    sum->notification_misuse += s->notification_misuse;
    sum->lock_misuse += s->lock_misuse;
    sum->wakeups += s->wakeups;
    sum->lateness_total_us += s->lateness_total_us;
    if (s->lateness_max_us > sum->lateness_max_us)
        sum->lateness_max_us = s->lateness_max_us;
    sum->rejected_invalid_parameter += s->rejected_invalid_parameter;
    sum->rejected_invalid_irql += s->rejected_invalid_irql;
    sum->rejected_unsuccessful += s->rejected_unsuccessful;
    sum->rejected_insufficient_resources += s->rejected_insufficient_resources;
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        sum->lateness_histogram[i] += s->lateness_histogram[i];
}

ULONG model_adapter_remove(PVOID extension, ULONG *leaked_timers)
{
    int i = find_adapter(extension);
    if (i == NOBODY)
        return STOR_STATUS_INVALID_PARAMETER;
    m_adapter *a = &m.adapters[i];
    if (m.callback_adapter == i || holds_a_lock_of(a))
        return STOR_STATUS_INVALID_DEVICE_STATE;
    ULONG leaked = 0;
    for (int t = 0; t < m.timer_count; t++) {
        if (m.timers[t].adapter != i || !m.timers[t].live)
            continue;
        cancel(&m.timers[t]);
        m.timers[t].live = false;
        if (m.timers[t].handle)
            leaked++;
    }
    a->stats.timers_leaked += leaked;
    add_stats(&m.retired, &a->stats);
    a->live = false;
    m.clocks[a->clock].adapters--;
    if (leaked_timers)
        *leaked_timers = leaked;
    return STOR_STATUS_SUCCESS;
}

ULONG model_stats_read(PVOID extension, stortimer_stats *stats)
{
    if (!stats)
        return STOR_STATUS_INVALID_PARAMETER;
    memset(stats, 0, sizeof *stats);
    if (extension) {
        int i = find_adapter(extension);
        if (i == NOBODY)
            return STOR_STATUS_INVALID_PARAMETER;
        drain(i);
        add_stats(stats, &m.adapters[i].stats);
    } else {
        for (int i = 0; i < m.adapter_count; i++)
            if (m.adapters[i].live)
                add_stats(stats, &m.adapters[i].stats);
        add_stats(stats, &m.retired);
    }
    stats->timers_live = stats->timers_initialized - stats->timers_freed - stats->timers_leaked;
    stats->timers_pending = stats->armed - stats->fired - stats->cancelled;
    return STOR_STATUS_SUCCESS;
}

/* ---- S4 ---- */

static ULONG reject(int adapter, ULONG status)
{
    stortimer_stats *s = stats_of(adapter);
    s->rejected++;
    if (status == STOR_STATUS_INVALID_PARAMETER)
        s->rejected_invalid_parameter++;
    else if (status == STOR_STATUS_INVALID_IRQL)
        s->rejected_invalid_irql++;
    else if (status == STOR_STATUS_UNSUCCESSFUL)
        s->rejected_unsuccessful++;
    else if (status == STOR_STATUS_INSUFFICIENT_RESOURCES)
        s->rejected_insufficient_resources++;
    return status;
}

/* What S4 and S6 check first, in order: the IRQL, NULL arguments, a live
 * adapter. Returns the adapter (drained), or NOBODY with *status set. */
static int adapter_for(PVOID extension, bool has_handle, ULONG *status)
{
    int a = NOBODY;
    if (m.irql > DISPATCH_LEVEL)
        *status = reject(NOBODY, STOR_STATUS_INVALID_IRQL);
    else if (!extension || !has_handle || (a = find_adapter(extension)) == NOBODY)
        *status = reject(NOBODY, STOR_STATUS_INVALID_PARAMETER);
    else
        drain(a);
    return a;
}

ULONG model_initialize_timer(PVOID extension, PVOID *handle)
{
    if (handle)
        *handle = NULL;
    ULONG status;
    int a = adapter_for(extension, handle != NULL, &status);
    if (a == NOBODY)
        return status;
    if (m.adapters[a].max_timers && live_timers_of(a) >= m.adapters[a].max_timers)
        return reject(a, STOR_STATUS_UNSUCCESSFUL);
    int t = new_timer(a, m.issued());
    m.adapters[a].stats.timers_initialized++;
    *handle = (PVOID)(uintptr_t)m.timers[t].handle;
    return STOR_STATUS_SUCCESS;
}

/* ---- S5 ---- */

ULONG model_request_timer(PVOID extension, PVOID handle, PHW_TIMER_EX callback,
                          PVOID context, ULONGLONG value, ULONGLONG tolerable_delay)
{
    if (!extension || !handle || !callback)
        return reject(NOBODY, STOR_STATUS_INVALID_PARAMETER);
    int i = find_live_timer((uint64_t)(uintptr_t)handle);
    if (i == NOBODY || m.adapters[m.timers[i].adapter].extension != extension)
        return reject(NOBODY, STOR_STATUS_INVALID_PARAMETER);
    m_timer *t = &m.timers[i];
    int a = t->adapter;
    bool handed_over = m.irql > DISPATCH_LEVEL;

    if (value == 0) { /* S5.5: cancel; nothing to hand over */
        if (!handed_over)
            drain(a);
        cancel(t);
        return STOR_STATUS_SUCCESS;
    }
    if (handed_over) {
        if (m.adapters[a].handover_used == MODEL_HANDOVER_CELLS) {
            if (t->pending) {
                m.adapters[a].stats.busy++;
                return STOR_STATUS_BUSY;
            }
            return reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES);
        }
        m.adapters[a].handover_used++; /* taken even by a BUSY answer */
    } else {
        drain(a);
    }
    if (t->pending) { /* S5.3 */
        m.adapters[a].stats.busy++;
        return STOR_STATUS_BUSY;
    }
    uint64_t due = add_saturating(now_of(a), value);
    arm(t, due, fire_time(due, tolerable_delay), callback, NULL, context);
    if (handed_over)
        m.adapters[a].stats.handed_over++;
    return STOR_STATUS_SUCCESS;
}

/* ---- S6 ---- */

ULONG model_free_timer(PVOID extension, PVOID handle)
{
    ULONG status;
    int a = adapter_for(extension, handle != NULL, &status);
    if (a == NOBODY)
        return status;
    uint64_t value = (uint64_t)(uintptr_t)handle;
    int i = find_live_timer(value);
    if (i == NOBODY || m.timers[i].adapter != a)
        return reject(a, was_freed_by(a, value) ? STOR_STATUS_UNSUCCESSFUL
                                                : STOR_STATUS_INVALID_PARAMETER);
    cancel(&m.timers[i]);
    m.timers[i].live = false;
    m.timers[i].freed = true;
    m.adapters[a].stats.timers_freed++;
    return STOR_STATUS_SUCCESS;
}

/* ---- S7 ---- */

void model_request_timer_call(PVOID extension, PHW_TIMER routine, ULONG value)
{
    int a = find_adapter(extension);
    if (a == NOBODY) {
        m.retired.notification_misuse++;
        return;
    }
    if (value && !routine) {
        m.adapters[a].stats.notification_misuse++;
        return;
    }
    m_timer *t = &m.timers[m.adapters[a].legacy];
    bool handed_over = m.irql > DISPATCH_LEVEL;
    if (!handed_over) {
        drain(a);
    } else if (value) {
        if (m.adapters[a].handover_used == MODEL_HANDOVER_CELLS) {
            reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES);
            return;
        }
        m.adapters[a].handover_used++;
    }
    cancel(t); /* a new request replaces a pending one: never BUSY */
    if (!value)
        return;
    uint64_t due = add_saturating(now_of(a), value);
    arm(t, due, due, NULL, routine, NULL);
    m.adapters[a].stats.legacy_armed++;
    if (handed_over)
        m.adapters[a].stats.handed_over++;
}

/* ---- S8, S9: locks ---- */

#define MODEL_LOCK_TAKEN 1u

static m_lock *select_lock(m_adapter *a, STOR_SPINLOCK kind, KIRQL *level)
{
    switch (kind) {
    case DpcLock: *level = DISPATCH_LEVEL; return &a->dpc;
    case StartIoLock: *level = DISPATCH_LEVEL; return &a->startio;
    case InterruptLock:
        *level = STOR_DEVICE_LEVEL;
        return a->half_duplex ? &a->startio : &a->interrupt;
    default: return NULL;
    }
}

void model_acquire_spin_lock(PVOID extension, STOR_SPINLOCK kind, PSTOR_LOCK_HANDLE handle)
{
    if (!handle) {
        m.report("StorPortAcquireSpinLock: NULL LockHandle");
        m.retired.lock_misuse++;
        return;
    }
    handle->Lock = kind;
    handle->Context.LockObject = NULL;
    handle->Context.OldIrql = m.irql;
    handle->Context.Flags = 0;
    int i = find_adapter(extension);
    if (i == NOBODY) {
        m.report("StorPortAcquireSpinLock: not the extension of a live adapter");
        m.retired.lock_misuse++;
        return;
    }
    KIRQL level = 0;
    m_lock *lock = select_lock(&m.adapters[i], kind, &level);
    if (!lock)
        m.report("StorPortAcquireSpinLock: unknown STOR_SPINLOCK");
    else if (m.irql > level)
        m.report("StorPortAcquireSpinLock: above the lock's IRQL");
    else if (lock->held)
        m.report("StorPortAcquireSpinLock: this thread already holds the lock");
    if (!lock || m.irql > level || lock->held) {
        m.adapters[i].stats.lock_misuse++;
        return;
    }
    m.irql = level;
    lock->held = true;
    handle->Context.LockObject = lock;
    handle->Context.Flags = MODEL_LOCK_TAKEN;
}

/* The adapter one of whose locks is at `object`, or NOBODY. */
static int lock_owner(const void *object, m_lock **lock)
{
    for (int i = 0; i < m.adapter_count; i++) {
        m_adapter *a = &m.adapters[i];
        m_lock *mine[] = {&a->startio, &a->dpc, &a->interrupt};
        for (int k = 0; k < 3; k++) {
            if ((const void *)mine[k] == object) {
                *lock = mine[k];
                return i;
            }
        }
    }
    return NOBODY;
}

void model_release_spin_lock(PVOID extension, PSTOR_LOCK_HANDLE handle)
{
    (void)extension;
    if (!handle) {
        m.report("StorPortReleaseSpinLock: NULL LockHandle");
        m.retired.lock_misuse++;
        return;
    }
    if (!(handle->Context.Flags & MODEL_LOCK_TAKEN))
        return;
    m_lock *lock = NULL;
    int i = lock_owner(handle->Context.LockObject, &lock);
    if (i == NOBODY || !lock->held) {
        m.report("StorPortReleaseSpinLock: this thread does not hold the lock");
        stats_of(i)->lock_misuse++;
        return;
    }
    handle->Context.Flags = 0;
    handle->Context.LockObject = NULL;
    lock->held = false;
    m.irql = handle->Context.OldIrql;
}
