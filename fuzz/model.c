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
#define MODEL_DPCS 4096
#define MODEL_PAUSES 4096
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

/* A STOR_DPC known to an adapter (S14.2): by its address only. */
typedef struct m_dpc {
    int adapter;
    const void *address;
    bool live;                   /* initialized, adapter not removed */
    bool queued, running;
    PHW_DPC_ROUTINE routine;
    PVOID argument1, argument2;  /* of the issue that queued it */
    uint64_t due, order;         /* the clock at the issue, its sequence (S14.8) */
} m_dpc;

/* The pause state of an adapter (unit false) or of one of its units (S16.2). */
typedef struct m_pause {
    int adapter;
    bool unit;
    UCHAR path, target, lun;
    bool paused;
    uint64_t until, order;       /* the deadline and its expiry's sequence */
    ULONG last_end;
} m_pause;

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
    bool advanced;               /* advanced (by 0 included) or moved by a stall */
    ULONG tick;                  /* T, S13.2 */
    LONGLONG base;               /* B, S13.2 */
} m_clock;

static struct {
    m_clock clocks[MODEL_CLOCKS];
    int clock_count;
    m_adapter adapters[MODEL_ADAPTERS];
    int adapter_count;
    m_timer timers[MODEL_TIMERS];
    int timer_count;
    m_dpc dpcs[MODEL_DPCS];
    int dpc_count;
    m_pause pauses[MODEL_PAUSES];
    int pause_count;
    struct m_handover {          /* pauses and resumes made above DISPATCH_LEVEL */
        int adapter;
        bool resume, unit;
        UCHAR path, target, lun;
        uint64_t deadline, order;  /* counted from the call (S16.9) */
    } handovers[MODEL_PAUSES];
    int handover_count;
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
static void apply_handed_over(int adapter);

static void drain(int adapter)
{
    m.adapters[adapter].handover_used = 0;
    apply_handed_over(adapter);
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
    m.clocks[m.clock_count] = (m_clock){.live = true, .tick = STORTIMER_DEFAULT_TICK_US,
                                        .base = STORTIMER_VIRTUAL_EPOCH_100NS};
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
    if (delay >= 1000) /* S17.2 */
        m.retired.long_stalls++;
    if (m.bound_clock != NOBODY && delay) {
        m.clocks[m.bound_clock].now = add_saturating(m.clocks[m.bound_clock].now, delay);
        m.clocks[m.bound_clock].advanced = true;
    }
}

/* What runs next on a clock: a timer's callback, a DPC routine, or a
 * pause's expiry (S14.8, S16.4). */
typedef enum item_kind { ITEM_NONE, ITEM_TIMER, ITEM_DPC, ITEM_EXPIRY } item_kind;

typedef struct item {
    item_kind kind;
    int index, adapter;
    uint64_t time, order;
} item;

/* (time, adapter, sequence): S8.4 and S14.8 order one adapter's work by
 * (due time, sequence); between adapters the library breaks ties by adapter
 * creation, which is an adapter's index here. */
static bool before(const item *x, const item *y)
{
    if (y->kind == ITEM_NONE)
        return true;
    if (x->time != y->time)
        return x->time < y->time;
    if (x->adapter != y->adapter)
        return x->adapter < y->adapter;
    return x->order < y->order;
}

/* The next item of clock c. Timers of adapters whose StartIo lock this
 * thread holds are passed over (their callbacks need it); their DPCs and
 * expiries are not (S14.9), so every adapter of the clock is drained: its
 * hand-overs may hold DPC issues and pauses. */
static item next_item(int c, uint64_t end_of_time_order, bool expiries)
{
    item best = {.kind = ITEM_NONE};
    for (int a = 0; a < m.adapter_count; a++)
        if (m.adapters[a].live && m.adapters[a].clock == c)
            drain(a);
    for (int i = 0; i < m.timer_count; i++) {
        const m_timer *t = &m.timers[i];
        const m_adapter *a = &m.adapters[t->adapter];
        if (!t->pending || !a->live || a->clock != c || a->startio.held)
            continue;
        if (end_of_time_order && t->fire == UINT64_MAX && t->order >= end_of_time_order)
            continue; /* armed at the last microsecond: for the next advance */
        item x = {ITEM_TIMER, i, t->adapter, t->fire, t->order};
        if (before(&x, &best))
            best = x;
    }
    for (int i = 0; i < m.dpc_count; i++) {
        const m_dpc *d = &m.dpcs[i];
        if (!d->live || !d->queued || m.adapters[d->adapter].clock != c)
            continue;
        item x = {ITEM_DPC, i, d->adapter, d->due, d->order};
        if (before(&x, &best))
            best = x;
    }
    for (int i = 0; expiries && i < m.pause_count; i++) {
        const m_pause *p = &m.pauses[i];
        if (!p->paused || !m.adapters[p->adapter].live || m.adapters[p->adapter].clock != c)
            continue;
        item x = {ITEM_EXPIRY, i, p->adapter, p->until, p->order};
        if (before(&x, &best))
            best = x;
    }
    return best;
}

/* The bucket of a lateness histogram: 0 on time, then one per power of two. */
static unsigned bucket_of(uint64_t late)
{
    unsigned bucket = 0;
    for (; late; late >>= 1)
        bucket++;
    return bucket >= STORTIMER_LATENESS_BUCKETS ? STORTIMER_LATENESS_BUCKETS - 1 : bucket;
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
    a->stats.lateness_histogram[bucket_of(now - t->due)]++;

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

/* Starts a DPC routine as S14.6 says: DISPATCH_LEVEL, no lock, bound to the
 * adapter's clock; once started it is no longer queued. */
static void run_dpc(int i)
{
    m_dpc *d = &m.dpcs[i];
    int adapter = d->adapter;
    m_adapter *a = &m.adapters[adapter];
    uint64_t late = now_of(adapter) - d->due;
    d->queued = false;
    d->running = true;
    a->stats.dpcs_started++;
    a->stats.dpc_lateness_total_us += late;
    if (late > a->stats.dpc_lateness_max_us)
        a->stats.dpc_lateness_max_us = late;
    a->stats.dpc_lateness_histogram[bucket_of(late)]++;

    KIRQL irql = m.irql;
    int bound = m.bound_clock, cb_adapter = m.callback_adapter, cb_timer = m.callback_timer;
    m.irql = DISPATCH_LEVEL;
    m.bound_clock = a->clock;
    m.callback_adapter = adapter; /* its own removal is refused (S14.13) */
    m.callback_timer = NOBODY;
    d->routine((PSTOR_DPC)(uintptr_t)d->address, a->extension, d->argument1, d->argument2);
    m.dpcs[i].running = false;
    m.adapters[adapter].stats.dpcs_returned++;
    m.irql = irql;
    m.bound_clock = bound;
    m.callback_adapter = cb_adapter;
    m.callback_timer = cb_timer;
}

static void end_pause(m_pause *p, ULONG reason)
{
    p->paused = false;
    p->last_end = reason;
    stortimer_stats *s = &m.adapters[p->adapter].stats;
    if (reason == STORTIMER_PAUSE_END_EXPIRED) {
        if (p->unit)
            s->unit_pause_expiries++;
        else
            s->pause_expiries++;
    }
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
    k->advanced = true;
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
        item x = next_item(c, end_of_time_order, true);
        if (x.kind == ITEM_NONE || x.time > limit) {
            if (extended || k->now <= limit)
                break;
            limit = k->now;
            extended = true;
            continue;
        }
        if (k->now < x.time)
            k->now = x.time;
        if (x.kind == ITEM_TIMER)
            fire(x.index);
        else if (x.kind == ITEM_DPC)
            run_dpc(x.index);
        else
            end_pause(&m.pauses[x.index], STORTIMER_PAUSE_END_EXPIRED);
    }
    if (k->now < target)
        k->now = target;
    m.advancing = false;
}

/* S14.10, S16.4, S17.7: timers and queued DPCs count, expiries do not. */
BOOLEAN model_clock_next_fire(stortimer_clock *clock, ULONGLONG *fire_time)
{
    int c = clock_index(clock);
    if (c == NOBODY || !fire_time)
        return FALSE;
    item x = next_item(c, 0, false);
    if (x.kind == ITEM_NONE)
        return FALSE;
    *fire_time = x.time;
    return TRUE;
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
    for (int i = 0; i < STORTIMER_LATENESS_BUCKETS; i++) {
        sum->lateness_histogram[i] += s->lateness_histogram[i];
        sum->dpc_lateness_histogram[i] += s->dpc_lateness_histogram[i];
    }
    sum->dpcs_initialized += s->dpcs_initialized;
    sum->dpc_init_refused += s->dpc_init_refused;
    sum->dpcs_issued += s->dpcs_issued;
    sum->dpcs_already_queued += s->dpcs_already_queued;
    sum->dpc_issue_refused += s->dpc_issue_refused;
    sum->dpcs_started += s->dpcs_started;
    sum->dpcs_returned += s->dpcs_returned;
    sum->dpcs_dropped += s->dpcs_dropped;
    sum->dpc_runaway_stops += s->dpc_runaway_stops;
    if (s->dpc_lateness_max_us > sum->dpc_lateness_max_us)
        sum->dpc_lateness_max_us = s->dpc_lateness_max_us;
    sum->dpc_lateness_total_us += s->dpc_lateness_total_us;
    sum->synchronized_calls += s->synchronized_calls;
    sum->pauses += s->pauses;
    sum->resumes += s->resumes;
    sum->resumes_unpaused += s->resumes_unpaused;
    sum->pause_expiries += s->pause_expiries;
    sum->unit_pauses += s->unit_pauses;
    sum->unit_resumes += s->unit_resumes;
    sum->unit_resumes_unpaused += s->unit_resumes_unpaused;
    sum->unit_pause_expiries += s->unit_pause_expiries;
    sum->long_stalls += s->long_stalls;
    sum->time_query_misuse += s->time_query_misuse;
}

ULONG model_adapter_remove(PVOID extension, ULONG *leaked_timers)
{
    int i = find_adapter(extension);
    if (i == NOBODY)
        return STOR_STATUS_INVALID_PARAMETER;
    m_adapter *a = &m.adapters[i];
    if (m.callback_adapter == i || holds_a_lock_of(a)) {
        if (m.irql <= DISPATCH_LEVEL) /* a deadlock on Windows: reported */
            m.report("stortimer_adapter_remove: not removed (it would deadlock)");
        return STOR_STATUS_INVALID_DEVICE_STATE;
    }
    apply_handed_over(i); /* removal waits for the hand-overs under way */
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
    /* S14.13: queued DPCs are dropped, every STOR_DPC forgotten; S16.10:
     * every pause ends with the reason "removal". */
    for (int d = 0; d < m.dpc_count; d++) {
        if (m.dpcs[d].adapter != i || !m.dpcs[d].live)
            continue;
        if (m.dpcs[d].queued)
            a->stats.dpcs_dropped++;
        m.dpcs[d].live = m.dpcs[d].queued = false;
    }
    for (int p = 0; p < m.pause_count; p++)
        if (m.pauses[p].adapter == i && m.pauses[p].paused)
            end_pause(&m.pauses[p], STORTIMER_PAUSE_END_REMOVAL);
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

/* ---- S13: reading the time ---- */

/*
 * The views of S13.2 as 64-bit signed values. Near the end of a virtual
 * clock's range they would not fit: they stop at INT64_MAX, the only
 * choice under which no view ever goes backwards (S13.3).
 */
static LONGLONG saturated(uint64_t base, uint64_t times, uint64_t value)
{
    const uint64_t top = (uint64_t)INT64_MAX;
    if (base > top || (times && value > (top - base) / times))
        return INT64_MAX;
    return (LONGLONG)(base + times * value);
}

static LONGLONG system_time_of(const m_clock *k)
{
    return saturated((uint64_t)k->base, 10u * (uint64_t)k->tick, k->now / k->tick);
}

void model_query_system_time(PLARGE_INTEGER current_time)
{
    if (!current_time) {
        m.retired.time_query_misuse++;
        if (m.irql <= DISPATCH_LEVEL)
            m.report("StorPortQuerySystemTime: NULL CurrentTime");
        return;
    }
    if (m.bound_clock == NOBODY) {
        fprintf(stderr, "model: only virtual clocks are modelled (QuerySystemTime unbound)\n");
        abort();
    }
    current_time->QuadPart = system_time_of(&m.clocks[m.bound_clock]);
}

ULONG model_query_performance_counter(PVOID extension, PLARGE_INTEGER frequency,
                                      PLARGE_INTEGER counter)
{
    int a = find_adapter(extension);
    if (!counter || a == NOBODY) /* an error status: counted as S4-S6's are */
        return reject(NOBODY, STOR_STATUS_INVALID_PARAMETER);
    counter->QuadPart = saturated(0, 10, now_of(a));
    if (frequency)
        frequency->QuadPart = 10000000;
    return STOR_STATUS_SUCCESS;
}

ULONG model_query_timer_min_interval(PVOID extension, PULONG interval)
{
    int a = interval ? find_adapter(extension) : NOBODY;
    if (a == NOBODY)
        return reject(NOBODY, STOR_STATUS_INVALID_PARAMETER);
    *interval = 10u * m.clocks[m.adapters[a].clock].tick;
    return STOR_STATUS_SUCCESS;
}

void model_query_tick_count(PVOID extension, PLARGE_INTEGER tick_count)
{
    int a = find_adapter(extension);
    if (a == NOBODY) {
        m.retired.notification_misuse++;
        return;
    }
    if (!tick_count) {
        m.adapters[a].stats.notification_misuse++;
        return;
    }
    const m_clock *k = &m.clocks[m.adapters[a].clock];
    tick_count->QuadPart = saturated(0, 1, k->now / k->tick);
}

ULONG model_clock_set_tick(stortimer_clock *clock, ULONG tick_us)
{
    int c = clock_index(clock);
    if (tick_us < 1 || tick_us > 429496729u || c == NOBODY)
        return STOR_STATUS_INVALID_PARAMETER;
    if (m.clocks[c].advanced)
        return STOR_STATUS_INVALID_DEVICE_STATE;
    m.clocks[c].tick = tick_us;
    return STOR_STATUS_SUCCESS;
}

ULONG model_clock_set_system_time(stortimer_clock *clock, LONGLONG base_100ns)
{
    int c = clock_index(clock);
    if (c == NOBODY || base_100ns < 0)
        return STOR_STATUS_INVALID_PARAMETER;
    if (m.clocks[c].advanced)
        return STOR_STATUS_INVALID_DEVICE_STATE;
    m.clocks[c].base = base_100ns;
    return STOR_STATUS_SUCCESS;
}

/* ---- S14: DPCs ---- */

/* The live DPC at this address, of any adapter. */
static int find_dpc(const void *address)
{
    for (int i = 0; i < m.dpc_count; i++)
        if (m.dpcs[i].live && m.dpcs[i].address == address)
            return i;
    return NOBODY;
}

static void refuse_initialize(int adapter, const char *why)
{
    stats_of(adapter)->dpc_init_refused++;
    if (m.irql <= DISPATCH_LEVEL)
        m.report(why);
}

void model_initialize_dpc(PVOID extension, PSTOR_DPC dpc, PHW_DPC_ROUTINE routine)
{
    if (m.irql > DISPATCH_LEVEL) {
        refuse_initialize(find_adapter(extension), "StorPortInitializeDpc: above DISPATCH_LEVEL");
        return;
    }
    int a = find_adapter(extension);
    if (!dpc || !routine || a == NOBODY) {
        refuse_initialize(a, "StorPortInitializeDpc: bad argument");
        return;
    }
    drain(a);
    int i = find_dpc(dpc);
    if (i != NOBODY && m.dpcs[i].adapter != a) {
        refuse_initialize(a, "StorPortInitializeDpc: a DPC of another adapter");
        return;
    }
    if (i != NOBODY && (m.dpcs[i].queued || m.dpcs[i].running)) {
        refuse_initialize(a, "StorPortInitializeDpc: the DPC is queued or running");
        return;
    }
    if (i == NOBODY) {
        if (m.dpc_count == MODEL_DPCS)
            model_limit("DPCs");
        i = m.dpc_count++;
        m.dpcs[i] = (m_dpc){.adapter = a, .address = dpc, .live = true};
    }
    m.dpcs[i].routine = routine;
    m.adapters[a].stats.dpcs_initialized++;
}

BOOLEAN model_issue_dpc(PVOID extension, PSTOR_DPC dpc, PVOID argument1, PVOID argument2)
{
    int a = find_adapter(extension);
    /* At or below DISPATCH_LEVEL the library looks the DPC up under the
     * adapter lock, after the hand-overs made before the call (S16.9): a
     * DPC of another adapter is refused after them, not before. */
    if (a != NOBODY && dpc && m.irql <= DISPATCH_LEVEL)
        drain(a);
    int i = a == NOBODY || !dpc ? NOBODY : find_dpc(dpc);
    if (i == NOBODY || m.dpcs[i].adapter != a) {
        stats_of(a)->dpc_issue_refused++;
        if (m.irql <= DISPATCH_LEVEL) /* reported as S14.3's refusals are */
            m.report("StorPortIssueDpc: not a DPC of a live adapter");
        return FALSE;
    }
    m_dpc *d = &m.dpcs[i];
    m_adapter *ad = &m.adapters[a];
    bool handed_over = m.irql > DISPATCH_LEVEL;
    if (!handed_over)
        drain(a);
    if (d->queued) {
        ad->stats.dpcs_already_queued++;
        return FALSE;
    }
    if (handed_over) {
        if (ad->handover_used == MODEL_HANDOVER_CELLS) { /* S14.5 */
            ad->stats.dpc_issue_refused++;
            reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES);
            return FALSE;
        }
        ad->handover_used++;
    }
    d->queued = true;
    d->argument1 = argument1;
    d->argument2 = argument2;
    d->due = now_of(a);
    d->order = ++m.orders;
    ad->stats.dpcs_issued++;
    return TRUE;
}

/* ---- S15 ---- */

BOOLEAN model_synchronize_access(PVOID extension, PSTOR_SYNCHRONIZED_ACCESS routine,
                                 PVOID context)
{
    int a = extension && routine ? find_adapter(extension) : NOBODY;
    if (a == NOBODY) {
        /* Reported and counted as S15.1 checks 3 and 4 are (S15.5: misuse). */
        m.retired.lock_misuse++;
        if (m.irql <= DISPATCH_LEVEL)
            m.report("StorPortSynchronizeAccess: bad argument");
        return FALSE;
    }
    m_adapter *ad = &m.adapters[a];
    if (m.irql > STOR_DEVICE_LEVEL) {
        ad->stats.lock_misuse++;
        return FALSE;
    }
    /* No drain: the routine takes no adapter lock, so the adapter's
     * hand-overs wait for its next call that does (or its clock). */
    m_lock *lock = ad->half_duplex ? &ad->startio : &ad->interrupt;
    bool already = lock->held;
    if (already) {
        ad->stats.lock_misuse++;
        if (m.irql <= DISPATCH_LEVEL)
            m.report("StorPortSynchronizeAccess: this thread already holds the InterruptLock");
    }
    KIRQL irql = m.irql;
    int bound = m.bound_clock;
    if (m.irql < STOR_DEVICE_LEVEL)
        m.irql = STOR_DEVICE_LEVEL;
    m.bound_clock = ad->clock;
    lock->held = true;
    ad->stats.synchronized_calls++;
    BOOLEAN result = routine(ad->extension, context);
    if (!already)
        lock->held = false;
    m.irql = irql;
    m.bound_clock = bound;
    return result;
}

/* ---- S16: pauses ---- */

static m_pause *pause_of(int a, bool unit, UCHAR path, UCHAR target, UCHAR lun, bool make)
{
    for (int i = 0; i < m.pause_count; i++) {
        m_pause *p = &m.pauses[i];
        if (p->adapter == a && p->unit == unit &&
            (!unit || (p->path == path && p->target == target && p->lun == lun)))
            return p;
    }
    if (!make)
        return NULL;
    if (m.pause_count == MODEL_PAUSES)
        model_limit("pauses");
    m_pause *p = &m.pauses[m.pause_count++];
    *p = (m_pause){.adapter = a, .unit = unit, .path = path, .target = target, .lun = lun};
    return p;
}

static void pause_unit_or_adapter(int a, bool unit, UCHAR path, UCHAR target, UCHAR lun,
                                  uint64_t deadline, uint64_t order)
{
    m_pause *p = pause_of(a, unit, path, target, lun, true);
    if (!p->paused || deadline > p->until) {
        p->until = deadline;
        p->order = order; /* the earlier expiry is dropped (S16.4) */
    }
    p->paused = true;
    if (unit) /* S16.11: units are counted apart */
        m.adapters[a].stats.unit_pauses++;
    else
        m.adapters[a].stats.pauses++;
}

static void resume_unit_or_adapter(int a, bool unit, UCHAR path, UCHAR target, UCHAR lun)
{
    m_pause *p = pause_of(a, unit, path, target, lun, false);
    stortimer_stats *s = &m.adapters[a].stats;
    if (p && p->paused) {
        end_pause(p, STORTIMER_PAUSE_END_RESUMED);
        if (unit)
            s->unit_resumes++;
        else
            s->resumes++;
    } else if (unit) {
        s->unit_resumes_unpaused++;
    } else {
        s->resumes_unpaused++;
    }
}

static void apply(const struct m_handover *h)
{
    if (h->resume)
        resume_unit_or_adapter(h->adapter, h->unit, h->path, h->target, h->lun);
    else
        pause_unit_or_adapter(h->adapter, h->unit, h->path, h->target, h->lun, h->deadline,
                              h->order);
}

/* Hand-overs take effect in the order they were made, before any call at or
 * below DISPATCH_LEVEL for the same adapter (S16.9). */
static void apply_handed_over(int adapter)
{
    int kept = 0;
    for (int i = 0; i < m.handover_count; i++) {
        if (m.handovers[i].adapter == adapter)
            apply(&m.handovers[i]);
        else
            m.handovers[kept++] = m.handovers[i];
    }
    m.handover_count = kept;
}

/*
 * S16.3, S16.5-S16.7: a live adapter; then at or below DISPATCH_LEVEL the
 * call takes effect now, after the hand-overs made before it; above, it
 * takes a hand-over cell (none left: FALSE) and takes effect at the
 * adapter's next drain, with its deadline and its place in the order
 * counted from the call (S16.9).
 */
static BOOLEAN pause_call(PVOID extension, bool resume, bool unit, UCHAR path, UCHAR target,
                          UCHAR lun, ULONG timeout)
{
    int a = find_adapter(extension);
    if (a == NOBODY)
        return FALSE;
    struct m_handover h = {
        .adapter = a, .resume = resume, .unit = unit, .path = path, .target = target,
        .lun = lun, .deadline = add_saturating(now_of(a), (uint64_t)timeout * 1000000u),
        .order = ++m.orders,
    };
    if (m.irql <= DISPATCH_LEVEL) {
        drain(a);
        apply(&h);
        return TRUE;
    }
    if (m.adapters[a].handover_used == MODEL_HANDOVER_CELLS) {
        reject(a, STOR_STATUS_INSUFFICIENT_RESOURCES); /* counted as S5.7's */
        return FALSE;
    }
    m.adapters[a].handover_used++;
    if (m.handover_count == MODEL_PAUSES)
        model_limit("hand-overs");
    m.handovers[m.handover_count++] = h;
    return TRUE;
}

BOOLEAN model_pause(PVOID extension, ULONG timeout)
{
    return pause_call(extension, false, false, 0, 0, 0, timeout);
}

BOOLEAN model_resume(PVOID extension)
{
    return pause_call(extension, true, false, 0, 0, 0, 0);
}

BOOLEAN model_pause_device(PVOID extension, UCHAR path, UCHAR target, UCHAR lun, ULONG timeout)
{
    return pause_call(extension, false, true, path, target, lun, timeout);
}

BOOLEAN model_resume_device(PVOID extension, UCHAR path, UCHAR target, UCHAR lun)
{
    return pause_call(extension, true, true, path, target, lun, 0);
}

static ULONG pause_state(PVOID extension, bool unit, UCHAR path, UCHAR target, UCHAR lun,
                         stortimer_pause_state *state)
{
    int a = state ? find_adapter(extension) : NOBODY;
    if (a == NOBODY)
        return STOR_STATUS_INVALID_PARAMETER;
    drain(a);
    const m_pause *own = pause_of(a, unit, path, target, lun, false);
    const m_pause *adapter = pause_of(a, false, 0, 0, 0, false);
    memset(state, 0, sizeof *state);
    if (own) {
        state->paused = own->paused;
        state->until_us = own->until;
        state->last_end = own->last_end;
    }
    state->held = state->paused || (adapter && adapter->paused);
    return STOR_STATUS_SUCCESS;
}

ULONG model_adapter_pause_state(PVOID extension, stortimer_pause_state *state)
{
    return pause_state(extension, false, 0, 0, 0, state);
}

ULONG model_unit_pause_state(PVOID extension, UCHAR path, UCHAR target, UCHAR lun,
                             stortimer_pause_state *state)
{
    return pause_state(extension, true, path, target, lun, state);
}
