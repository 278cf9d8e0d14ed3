/*
 * fault_injection.c - every resource the library asks for fails in turn.
 *
 * What: the library is built with STORTIMER_FAULT_INJECTION (src/platform/fault.h),
 * where every allocation, thread creation and mutex/condition creation is a
 * numbered fault point of its kind. For each API scenario below, a control
 * run counts the fault points of each kind; then, for every kind and every
 * N up to that count, the scenario runs again with the Nth point of that
 * kind made to fail.
 *
 * Why: a host that runs miniports must survive a refused resource the way
 * Windows lets a miniport survive one. So in every run:
 *   - a call either does what it did in the control run or, if and only if
 *     the injected fault struck during it, fails with its documented status
 *     (INSUFFICIENT_RESOURCES from stortimer_adapter_create, S10, and from
 *     StorPortInitializeTimer, S4.4; NULL from
 *     stortimer_clock_virtual_create, S11; a refused StorPortInitializeDpc,
 *     counted as insufficient resources, S14.3; FALSE from
 *     StorPortPauseDevice, nothing changed, S16.6), and a retry, the fault
 *     being past, succeeds;
 *   - every timer armed before or after the failure fires exactly once, at
 *     its due time on a virtual clock (S11.4), never early and within a
 *     generous bound on the real clock (S5.4.1), and a freed or cancelled one
 *     never fires (S5.5, S6.4.1);
 *   - after every adapter is removed (S3.4) and every clock destroyed, the
 *     library holds no more allocations than before the scenario.
 *
 * Each run is a fresh forked child: the registry's slot tables live for the
 * whole process (retained on purpose, not counted as allocations), so only a
 * new process reaches the fault points that build them, and a crash or hang
 * costs one run, which the parent counts. The parent never calls the
 * library. It prints one summary line and exits 0 only when no status was
 * wrong, no timer lost, no allocation leaked and no child crashed or hung.
 *
 * Usage: fault_injection [part of a scenario name]   (all scenarios by default)
 */
#include "platform/fault.h"
#include "stortimer.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A child that has not reported by then is hung (valgrind included). */
#define CHILD_TIME_LIMIT_S 60
/* How long a real-clock timer may be late before it counts as lost. */
#define REAL_CLOCK_BOUND_US 5000000u
/* FAIL lines one run prints before it only counts. */
#define MESSAGES_PER_RUN 12

static const char *const kind_names[ST_FAULT_KINDS] = {"memory", "thread", "sync"};

/* ---- one run of one scenario, and its verdict ---- */

/* Which fault point a run makes fail; nth 0 for the control run. */
typedef struct fault_plan {
    st_fault_kind kind;
    uint64_t nth;
} fault_plan;

/* A run's verdict, in memory shared with the parent: what a child counted
 * before it crashed is not lost. */
typedef struct run_result {
    uint64_t points[ST_FAULT_KINDS]; /* fault points reached, by kind */
    uint64_t injected;               /* 1 when the planned fault struck */
    uint64_t wrong_statuses;
    uint64_t lost_timers;
    int64_t leaked;                  /* allocations left over at the end */
    bool finished;                   /* the scenario ran to its end */
} run_result;

typedef struct trial {
    char label[128];                 /* "scenario 'x', memory fault 12 of 40" */
    int64_t live_before;             /* allocations before the scenario */
    uint64_t injected_seen;          /* st_fault_injected() after the last call */
    unsigned messages;
    run_result *result;
} trial;

/* Says what went wrong, with the scenario, kind and N of the run. */
__attribute__((format(printf, 2, 0)))
static void trial_say(trial *t, const char *format, va_list args)
{
    if (t->messages++ >= MESSAGES_PER_RUN)
        return;
    char line[512];
    vsnprintf(line, sizeof line, format, args);
    fprintf(stderr, "FAIL %s: %s\n", t->label, line);
}

/* A call answered with a status the contract does not allow here. */
__attribute__((format(printf, 2, 3)))
static void wrong_status(trial *t, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    trial_say(t, format, args);
    va_end(args);
    t->result->wrong_statuses++;
}

/* A timer that did not fire exactly once at its time. */
__attribute__((format(printf, 2, 3)))
static void lost_timer(trial *t, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    trial_say(t, format, args);
    va_end(args);
    t->result->lost_timers++;
}

/* Completes the verdict and ends the child. _exit: the parent's stdio
 * buffers are not ours to flush, and the leak check is ours (a sanitizer's
 * exit-time pass would cost more than the run). */
static _Noreturn void trial_finish(trial *t, bool finished)
{
    run_result *r = t->result;
    r->finished = finished;
    if (finished) {
        r->leaked = st_fault_live_allocations() - t->live_before;
        if (r->leaked)
            fprintf(stderr, "FAIL %s: %lld allocation(s) still held after every adapter "
                    "was removed and every clock destroyed\n", t->label, (long long)r->leaked);
    }
    _exit(0);
}

/* A step the scenario cannot go on from (its error is already counted). */
static _Noreturn void trial_abandon(trial *t, const char *why)
{
    fprintf(stderr, "FAIL %s: scenario abandoned (%s); allocations not checked\n",
            t->label, why);
    trial_finish(t, false);
}

/* Whether the planned fault struck since the previous call returned. Every
 * call is synchronous and the library's threads create nothing, so a fault
 * belongs to the call that was running when it struck. */
static bool fault_struck(trial *t)
{
    uint64_t injected = st_fault_injected();
    bool struck = injected != t->injected_seen;
    t->injected_seen = injected;
    t->result->injected = injected;
    return struck;
}

/* The library's misuse reports (stortimer_set_report_handler): shown, so
 * that a failure explained by a report is read with its explanation. */
static void show_report(const char *message, void *context)
{
    trial *t = context;
    fprintf(stderr, "REPORT %s: %s\n", t->label, message);
}

/* ---- checking each call ---- */

/*
 * Judges a call that may need a resource: without the fault it must answer
 * `expected`; with the fault it must answer `refused`. No call of the library
 * can do without a resource it asked for, so a fault that struck and was not
 * answered with `refused` was swallowed.
 */
static void judge(trial *t, const char *call, ULONG status, ULONG expected, ULONG refused)
{
    bool struck = fault_struck(t);
    ULONG wanted = struck ? refused : expected;
    if (status != wanted)
        wrong_status(t, "%s returned %s, expected %s (%s)", call,
                     stortimer_status_name(status), stortimer_status_name(wanted),
                     struck ? "the injected fault struck during it"
                            : "no fault struck during it");
}

/* Checks that a call which needs no resource reached no fault point. */
static bool no_fault_in(trial *t, const char *call)
{
    if (!fault_struck(t))
        return true;
    wrong_status(t, "%s reached a fault point, but it has no status for a refused "
                 "resource", call);
    return false;
}

/* Judges a call that needs no resource: it must answer `expected`. */
static bool judge_no_fault(trial *t, const char *call, ULONG status, ULONG expected)
{
    if (!no_fault_in(t, call))
        return false;
    if (status == expected)
        return true;
    wrong_status(t, "%s returned %s, expected %s", call, stortimer_status_name(status),
                 stortimer_status_name(expected));
    return false;
}

/* ---- timers that record when they fire ---- */

typedef struct timer_probe {
    stortimer_clock *clock;          /* the adapter's clock; NULL: real */
    PVOID extension;                 /* the adapter it belongs to */
    ULONGLONG due;                   /* virtual: its exact time; real: its earliest */
    int expected;                    /* fires owed: 1 once armed; fixed when freed */
    _Atomic int fired;
    _Atomic ULONGLONG fired_at;
    _Atomic(PVOID) seen_extension;
} timer_probe;

/* A miniport keeps its state in its device extension; HwStorTimer (S7) is
 * given nothing else. */
typedef struct miniport_extension {
    timer_probe *legacy;
} miniport_extension;

static void probe_record(timer_probe *p, PVOID extension)
{
    atomic_store(&p->fired_at, stortimer_clock_now(p->clock)); /* the fire time, S11.3 */
    atomic_store(&p->seen_extension, extension);
    atomic_fetch_add(&p->fired, 1);
}

static VOID hw_timer_ex(PVOID extension, PVOID context)
{
    probe_record(context, extension);
}

static VOID hw_stor_timer(PVOID extension)
{
    probe_record(((miniport_extension *)extension)->legacy, extension);
}

/* Readies a probe for an arm made now, `after` us ahead. Read before the
 * call, so that the library's due time is never before ours (S5.4.1). */
static void probe_arm(timer_probe *p, stortimer_clock *clock, PVOID extension,
                      ULONGLONG after)
{
    p->clock = clock;
    p->extension = extension;
    p->due = stortimer_clock_now(clock) + after;
    p->expected = 1;
}

/* After a free, a cancel or a removal, the callback is not running and will
 * never start (S3.4, S5.5, S6.4.1): what has fired by now is all it owes. */
static void probe_settle(timer_probe *p)
{
    p->expected = atomic_load(&p->fired) > 0;
}

/*
 * Checks a probe at the current time: owed and due -> fired once, at its due
 * time exactly on a virtual clock and not before it on the real one, for its
 * adapter; otherwise not fired (never early, never after a free).
 */
static void check_probe(trial *t, const char *timer, const timer_probe *p)
{
    int fired = atomic_load(&p->fired);
    ULONGLONG at = atomic_load(&p->fired_at);
    bool due = p->expected && (!p->clock || stortimer_clock_now(p->clock) >= p->due);
    if (!due) {
        if (fired)
            lost_timer(t, "%s fired %d time(s) at %llu us, %s", timer, fired,
                       (unsigned long long)at,
                       p->expected ? "before its due time" : "after it was freed or cancelled");
        return;
    }
    if (fired != 1)
        lost_timer(t, "%s fired %d times, expected once (due at %llu us)", timer, fired,
                   (unsigned long long)p->due);
    else if (p->clock ? at != p->due : at < p->due)
        lost_timer(t, "%s fired at %llu us, due at %llu us", timer, (unsigned long long)at,
                   (unsigned long long)p->due);
    else if (atomic_load(&p->seen_extension) != p->extension)
        lost_timer(t, "%s was called with another adapter's extension", timer);
}

static void check_probes(trial *t, const char *adapter, const timer_probe *probes, int count)
{
    for (int i = 0; i < count; i++) {
        char timer[96];
        snprintf(timer, sizeof timer, "%s timer %d", adapter, i);
        check_probe(t, timer, &probes[i]);
    }
}

static uint64_t real_now_us(void)
{
    return stortimer_clock_now(NULL);
}

/* Waits, on the real clock, until every owed probe has fired or the bound
 * has passed; the checks then tell the late from the lost. */
static void await_probes(const timer_probe *probes, int count)
{
    uint64_t give_up = real_now_us() + REAL_CLOCK_BOUND_US;
    for (int i = 0; i < count; i++) {
        while (probes[i].expected && !atomic_load(&probes[i].fired) &&
               real_now_us() < give_up)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
}

/* ---- the API, each call checked ---- */

static stortimer_adapter_config adapter_config(stortimer_clock *clock, ULONG max_timers,
                                               BOOLEAN half_duplex)
{
    return (stortimer_adapter_config){.extension_size = sizeof(miniport_extension),
                                      .max_timers = max_timers,
                                      .half_duplex = half_duplex,
                                      .clock = clock};
}

/*
 * stortimer_clock_virtual_create: NULL when, and only when, the fault struck
 * (S11); then once more. Whatever clock comes back is used, so that the
 * consequences of a swallowed failure show as well.
 */
static stortimer_clock *clock_create(trial *t)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        stortimer_clock *clock = stortimer_clock_virtual_create();
        judge(t, "stortimer_clock_virtual_create", clock ? STOR_STATUS_SUCCESS
                                                         : STOR_STATUS_INSUFFICIENT_RESOURCES,
              STOR_STATUS_SUCCESS, STOR_STATUS_INSUFFICIENT_RESOURCES);
        if (clock)
            return clock;
    }
    trial_abandon(t, "no virtual clock");
}

static void clock_advance(trial *t, stortimer_clock *clock, ULONGLONG us)
{
    stortimer_clock_advance(clock, us);
    no_fault_in(t, "stortimer_clock_advance");
}

static void clock_destroy(trial *t, stortimer_clock *clock)
{
    stortimer_clock_destroy(clock);
    no_fault_in(t, "stortimer_clock_destroy");
}

/* stortimer_adapter_create (S10), once more if it failed. */
static PVOID adapter_create(trial *t, stortimer_adapter_config config)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        PVOID extension = &extension;
        ULONG status = stortimer_adapter_create(&config, &extension);
        judge(t, "stortimer_adapter_create", status, STOR_STATUS_SUCCESS,
              STOR_STATUS_INSUFFICIENT_RESOURCES);
        if (status == STOR_STATUS_SUCCESS && extension)
            return extension;
        if (status == STOR_STATUS_SUCCESS || extension) /* S10: NULL exactly on failure */
            wrong_status(t, "stortimer_adapter_create returned %s and %s extension",
                         stortimer_status_name(status), extension ? "an" : "no");
        if (status == STOR_STATUS_SUCCESS)
            break;
    }
    trial_abandon(t, "no adapter");
}

/* Removes an adapter (S3.4) that should still have `leftovers` timers. */
static void adapter_remove(trial *t, PVOID extension, ULONG leftovers)
{
    ULONG leaked = ~0u;
    ULONG status = stortimer_adapter_remove(extension, &leaked);
    if (judge_no_fault(t, "stortimer_adapter_remove", status, STOR_STATUS_SUCCESS) &&
        leaked != leftovers)
        wrong_status(t, "stortimer_adapter_remove freed %u leftover timer(s), expected %u",
                     leaked, leftovers);
}

/* StorPortInitializeTimer (S4), once more if it failed. */
static PVOID timer_initialize(trial *t, PVOID extension)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        PVOID handle = &handle;
        ULONG status = StorPortInitializeTimer(extension, &handle);
        judge(t, "StorPortInitializeTimer", status, STOR_STATUS_SUCCESS,
              STOR_STATUS_INSUFFICIENT_RESOURCES);
        if (status == STOR_STATUS_SUCCESS && handle)
            return handle;
        if (status == STOR_STATUS_SUCCESS || handle) /* S4: NULL exactly on failure */
            wrong_status(t, "StorPortInitializeTimer returned %s and %s handle",
                         stortimer_status_name(status), handle ? "a" : "no");
        if (status == STOR_STATUS_SUCCESS)
            break;
    }
    trial_abandon(t, "no timer");
}

/* S4.3: at max_timers the answer is UNSUCCESSFUL, before any memory. */
static void timer_initialize_over_limit(trial *t, PVOID extension)
{
    PVOID handle = &handle;
    ULONG status = StorPortInitializeTimer(extension, &handle);
    judge_no_fault(t, "StorPortInitializeTimer beyond max_timers", status,
                   STOR_STATUS_UNSUCCESSFUL);
}

/* Arms a timer `after` us ahead with no window, so its time is exact (S5.4.2, S11.4). */
static void timer_arm(trial *t, PVOID extension, PVOID handle, timer_probe *p,
                      stortimer_clock *clock, ULONGLONG after)
{
    probe_arm(p, clock, extension, after);
    ULONG status = StorPortRequestTimer(extension, handle, hw_timer_ex, p, after, 0);
    if (!judge_no_fault(t, "StorPortRequestTimer", status, STOR_STATUS_SUCCESS))
        p->expected = 0;
}

static void timer_free(trial *t, PVOID extension, PVOID handle, timer_probe *p)
{
    ULONG status = StorPortFreeTimer(extension, handle);
    judge_no_fault(t, "StorPortFreeTimer", status, STOR_STATUS_SUCCESS);
    probe_settle(p);
}

/* The legacy timer (S7): StorPortNotification(RequestTimerCall, ...). */
static void legacy_arm(trial *t, PVOID extension, timer_probe *p, stortimer_clock *clock,
                       ULONG after)
{
    ((miniport_extension *)extension)->legacy = p;
    probe_arm(p, clock, extension, after);
    StorPortNotification(RequestTimerCall, extension, hw_stor_timer, after);
    no_fault_in(t, "StorPortNotification(RequestTimerCall)");
}

/* A handle of a removed adapter stays dead, even on a reused slot (S3.4, S4.7). */
static void timer_arm_stale(trial *t, PVOID extension, PVOID stale_handle)
{
    timer_probe unused = {0};
    ULONG status = StorPortRequestTimer(extension, stale_handle, hw_timer_ex, &unused, 10, 0);
    judge_no_fault(t, "StorPortRequestTimer with a removed adapter's handle", status,
                   STOR_STATUS_INVALID_PARAMETER);
}

/* ---- scenario 1: a host with many adapters and timers on a virtual clock ---- */

#define HOST_TIMERS 40     /* the queue grows 8 -> 16 -> 32 -> 64 */
#define HOST_REPLACED 10   /* freed, then initialized again on their slots */
#define HOST_SMALL 8       /* with the two big ones, 10 adapters: 2 slot chunks */
#define LIMIT 4            /* the pre-Windows 8 timer limit (S3.3) */

typedef struct host {
    stortimer_clock *clock;
    PVOID busy, limited, small[HOST_SMALL];
    PVOID busy_timers[HOST_TIMERS], replacements[HOST_REPLACED];
    PVOID limited_timers[LIMIT], small_timers[HOST_SMALL][2];
    timer_probe busy_probes[HOST_TIMERS], replacement_probes[HOST_REPLACED];
    timer_probe limited_probes[LIMIT], small_probes[HOST_SMALL][2];
    timer_probe busy_legacy, limited_legacy;
} host;

/*
 * A half-duplex adapter with 40 timers and one with the limit of 4. The
 * legacy timer is armed first, as a miniport's HwInitialize may do: so the
 * process's first StorPortInitializeTimer, which makes the timer slot table,
 * runs while a timer of its adapter is pending.
 */
static void host_start_big_adapters(trial *t, host *h)
{
    h->busy = adapter_create(t, adapter_config(h->clock, 0, TRUE));
    h->limited = adapter_create(t, adapter_config(h->clock, LIMIT, FALSE));
    legacy_arm(t, h->busy, &h->busy_legacy, h->clock, 555);
    for (int i = 0; i < HOST_TIMERS; i++) {
        h->busy_timers[i] = timer_initialize(t, h->busy);
        timer_arm(t, h->busy, h->busy_timers[i], &h->busy_probes[i], h->clock, 100 + 25 * i);
    }
    for (int i = 0; i < LIMIT; i++) {
        h->limited_timers[i] = timer_initialize(t, h->limited);
        timer_arm(t, h->limited, h->limited_timers[i], &h->limited_probes[i], h->clock,
                  50 * (i + 1));
    }
    timer_initialize_over_limit(t, h->limited);
    legacy_arm(t, h->limited, &h->limited_legacy, h->clock, 777);
}

/* Frees every fourth busy timer, some fired and some pending, and
 * initializes as many again (their slots are reused) armed anew. */
static void host_replace_timers(trial *t, host *h)
{
    for (int r = 0; r < HOST_REPLACED; r++) {
        int i = 4 * r + 3;
        timer_free(t, h->busy, h->busy_timers[i], &h->busy_probes[i]);
        h->replacements[r] = timer_initialize(t, h->busy);
        timer_arm(t, h->busy, h->replacements[r], &h->replacement_probes[r], h->clock,
                  300 + 10 * r);
    }
}

/* Eight more adapters, past the first chunk of adapter slots, each with an
 * armed timer and one freed without ever being armed. */
static void host_add_small_adapters(trial *t, host *h)
{
    for (int k = 0; k < HOST_SMALL; k++) {
        h->small[k] = adapter_create(t, adapter_config(h->clock, 0, k % 2));
        h->small_timers[k][0] = timer_initialize(t, h->small[k]);
        h->small_timers[k][1] = timer_initialize(t, h->small[k]);
        timer_arm(t, h->small[k], h->small_timers[k][0], &h->small_probes[k][0], h->clock,
                  100 * (k + 1));
        timer_free(t, h->small[k], h->small_timers[k][1], &h->small_probes[k][1]);
    }
}

static void host_check_timers(trial *t, host *h)
{
    check_probes(t, "busy adapter", h->busy_probes, HOST_TIMERS);
    check_probes(t, "busy adapter replacement", h->replacement_probes, HOST_REPLACED);
    check_probes(t, "limited adapter", h->limited_probes, LIMIT);
    check_probe(t, "busy adapter's legacy timer", &h->busy_legacy);
    check_probe(t, "limited adapter's legacy timer", &h->limited_legacy);
    for (int k = 0; k < HOST_SMALL; k++)
        check_probes(t, "small adapter", h->small_probes[k], 2);
}

static void scenario_virtual_host(trial *t)
{
    static host h; /* one per child process */
    h.clock = clock_create(t);
    host_start_big_adapters(t, &h);
    clock_advance(t, h.clock, 500);
    host_check_timers(t, &h);
    host_replace_timers(t, &h);
    host_add_small_adapters(t, &h);
    clock_advance(t, h.clock, 2000);
    host_check_timers(t, &h);
    for (int k = 0; k < HOST_SMALL; k++)
        adapter_remove(t, h.small[k], 1);
    adapter_remove(t, h.limited, LIMIT);
    adapter_remove(t, h.busy, HOST_TIMERS);
    clock_destroy(t, h.clock);
}

/* ---- scenario 2: real-clock adapters, each with its dispatcher thread ---- */

#define REAL_TIMERS 3

static void scenario_real_clock(trial *t)
{
    PVOID handles[2][REAL_TIMERS];
    static timer_probe probes[2][REAL_TIMERS], legacy;
    /* The first adapter's timers are pending while the second is created. */
    PVOID first = adapter_create(t, adapter_config(NULL, 0, FALSE));
    legacy_arm(t, first, &legacy, NULL, 1200);
    for (int i = 0; i < REAL_TIMERS; i++) {
        handles[0][i] = timer_initialize(t, first);
        timer_arm(t, first, handles[0][i], &probes[0][i], NULL, 1000 + 500 * i);
    }
    PVOID second = adapter_create(t, adapter_config(NULL, LIMIT, TRUE));
    for (int i = 0; i < REAL_TIMERS; i++) {
        handles[1][i] = timer_initialize(t, second);
        timer_arm(t, second, handles[1][i], &probes[1][i], NULL, 600 + 400 * i);
    }
    await_probes(probes[0], REAL_TIMERS);
    await_probes(probes[1], REAL_TIMERS);
    await_probes(&legacy, 1);
    check_probes(t, "first real-clock adapter", probes[0], REAL_TIMERS);
    check_probes(t, "second real-clock adapter", probes[1], REAL_TIMERS);
    check_probe(t, "first real-clock adapter's legacy timer", &legacy);
    adapter_remove(t, second, REAL_TIMERS);
    adapter_remove(t, first, REAL_TIMERS);
}

/* ---- scenario 3: adapters and clocks removed and made again ---- */

#define CHURN_ROUNDS 5
#define CHURN_TIMERS 3

/* One adapter's life on its own clock: a timer freed while pending, one
 * fired, one left pending for the removal to cancel (S3.4). */
static void churn_round(trial *t, int round, PVOID *stale_handle)
{
    static timer_probe probes[CHURN_ROUNDS][CHURN_TIMERS];
    timer_probe *p = probes[round];
    PVOID handles[CHURN_TIMERS];
    stortimer_clock *clock = clock_create(t);
    PVOID extension = adapter_create(t, adapter_config(clock, round % 2 ? LIMIT : 0, round % 2));
    if (*stale_handle)
        timer_arm_stale(t, extension, *stale_handle);
    for (int i = 0; i < CHURN_TIMERS; i++) {
        handles[i] = timer_initialize(t, extension);
        timer_arm(t, extension, handles[i], &p[i], clock, 100 * (i + 1));
    }
    timer_free(t, extension, handles[0], &p[0]);
    clock_advance(t, clock, 250);
    check_probes(t, "churned adapter", p, CHURN_TIMERS);
    adapter_remove(t, extension, CHURN_TIMERS - 1);
    probe_settle(&p[2]);
    check_probes(t, "churned adapter after removal", p, CHURN_TIMERS);
    clock_destroy(t, clock);
    *stale_handle = handles[1];
}

static void scenario_churn(trial *t)
{
    static timer_probe resident_probe, resident_legacy;
    stortimer_clock *clock = clock_create(t);
    PVOID resident = adapter_create(t, adapter_config(clock, 0, FALSE));
    legacy_arm(t, resident, &resident_legacy, clock, 9000);
    PVOID timer = timer_initialize(t, resident);
    timer_arm(t, resident, timer, &resident_probe, clock, 10000);
    PVOID stale_handle = NULL;
    for (int round = 0; round < CHURN_ROUNDS; round++)
        churn_round(t, round, &stale_handle);
    clock_advance(t, clock, 10000);
    check_probe(t, "resident adapter timer", &resident_probe);
    check_probe(t, "resident adapter's legacy timer", &resident_legacy);
    adapter_remove(t, resident, 1);
    clock_destroy(t, clock);
}

/* ---- scenario 4: DPCs, unit pauses and clocks (S14, S16, S17) ---- */

#define DPC_COUNT 17       /* past the first table of 16 DPCs */
#define UNIT_COUNT 9       /* past the first array of 8 unit states */
#define EXTRA_CLOCKS 2     /* each clock joins the list of live clocks */

static _Atomic int dpc_runs[DPC_COUNT];
static STOR_DPC dpcs[DPC_COUNT];

static VOID count_dpc_run(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2)
{
    (void)extension;
    (void)argument1;
    (void)argument2;
    atomic_fetch_add(&dpc_runs[dpc - dpcs], 1);
}

static stortimer_stats stats_of(trial *t, PVOID extension)
{
    stortimer_stats st;
    memset(&st, 0, sizeof st);
    judge_no_fault(t, "stortimer_stats_read", stortimer_stats_read(extension, &st),
                   STOR_STATUS_SUCCESS);
    return st;
}

/*
 * StorPortInitializeDpc (S14.3): VOID, so its answer is in the statistics.
 * Without the fault it takes effect; with it, it is refused and counted as
 * insufficient resources, and the DPC stays unknown (an issue answers
 * FALSE, S14.4). Then once more, which must take effect.
 */
static void dpc_initialize(trial *t, PVOID extension, int i)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        stortimer_stats before = stats_of(t, extension);
        StorPortInitializeDpc(extension, &dpcs[i], count_dpc_run);
        bool struck = fault_struck(t);
        stortimer_stats after = stats_of(t, extension);
        uint64_t made = after.dpcs_initialized - before.dpcs_initialized;
        uint64_t refused = after.dpc_init_refused - before.dpc_init_refused;
        uint64_t short_of_memory =
            after.rejected_insufficient_resources - before.rejected_insufficient_resources;
        if (!struck) {
            if (made != 1 || refused)
                wrong_status(t, "StorPortInitializeDpc of DPC %d: %llu initialized, %llu refused, "
                             "expected it to take effect (no fault struck during it)", i,
                             (unsigned long long)made, (unsigned long long)refused);
            return;
        }
        if (made || refused != 1 || short_of_memory != 1)
            wrong_status(t, "StorPortInitializeDpc of DPC %d: %llu initialized, %llu refused, "
                         "%llu counted as insufficient resources; expected a refusal counted as "
                         "insufficient resources (the injected fault struck during it)", i,
                         (unsigned long long)made, (unsigned long long)refused,
                         (unsigned long long)short_of_memory);
        /* At device IRQL, where a refused issue is counted but not reported. */
        KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
        BOOLEAN issued = StorPortIssueDpc(extension, &dpcs[i], NULL, NULL);
        stortimer_irql_lower(old);
        if (no_fault_in(t, "StorPortIssueDpc") && issued)
            wrong_status(t, "StorPortIssueDpc of DPC %d answered TRUE after its initialize was "
                         "refused (S14.4: not a DPC of the adapter)", i);
    }
}

/* StorPortPauseDevice (S16.6): FALSE when, and only when, the fault struck,
 * and then nothing changed; once more, which must work. */
static void unit_pause(trial *t, PVOID extension, UCHAR unit, ULONG seconds)
{
    for (int attempt = 1; attempt <= 2; attempt++) {
        BOOLEAN paused = StorPortPauseDevice(extension, 0, unit, 0, seconds);
        bool struck = fault_struck(t);
        stortimer_pause_state state;
        ULONG status = stortimer_unit_pause_state(extension, 0, unit, 0, &state);
        no_fault_in(t, "stortimer_unit_pause_state");
        if (status != STOR_STATUS_SUCCESS) {
            wrong_status(t, "stortimer_unit_pause_state returned %s", stortimer_status_name(status));
            return;
        }
        if (paused == struck || state.paused != paused)
            wrong_status(t, "StorPortPauseDevice of unit %u answered %s and the unit is%s paused "
                         "(%s)", unit, paused ? "TRUE" : "FALSE", state.paused ? "" : " not",
                         struck ? "the injected fault struck during it: FALSE, nothing changed"
                                : "no fault struck during it: TRUE");
        if (paused)
            return;
    }
}

static void check_unit(trial *t, PVOID extension, UCHAR unit, bool paused, ULONG last_end)
{
    stortimer_pause_state state;
    ULONG status = stortimer_unit_pause_state(extension, 0, unit, 0, &state);
    if (!judge_no_fault(t, "stortimer_unit_pause_state", status, STOR_STATUS_SUCCESS))
        return;
    if (state.paused != paused || state.last_end != last_end)
        wrong_status(t, "unit %u: paused %u, last end %u; expected paused %u, last end %u", unit,
                     state.paused, state.last_end, paused, last_end);
}

static void scenario_dpcs_and_pauses(trial *t)
{
    stortimer_clock *clock = clock_create(t);
    stortimer_clock *extra[EXTRA_CLOCKS];
    for (int i = 0; i < EXTRA_CLOCKS; i++)
        extra[i] = clock_create(t);
    PVOID extension = adapter_create(t, adapter_config(clock, 0, FALSE));
    for (int i = 0; i < DPC_COUNT; i++)
        dpc_initialize(t, extension, i);
    for (int i = 0; i < DPC_COUNT; i++) {
        KIRQL old = i % 2 ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
        BOOLEAN issued = StorPortIssueDpc(extension, &dpcs[i], NULL, NULL);
        if (i % 2)
            stortimer_irql_lower(old);
        if (no_fault_in(t, i % 2 ? "StorPortIssueDpc at device IRQL" : "StorPortIssueDpc") &&
            !issued)
            wrong_status(t, "StorPortIssueDpc of DPC %d answered FALSE", i);
    }
    for (int u = 0; u < UNIT_COUNT; u++)
        unit_pause(t, extension, (UCHAR)u, 1 + (ULONG)u % 3);
    clock_advance(t, clock, 0); /* the DPCs run (S14.10) */
    for (int i = 0; i < DPC_COUNT; i++)
        if (atomic_load(&dpc_runs[i]) != 1)
            lost_timer(t, "DPC %d ran %d times, expected once", i, atomic_load(&dpc_runs[i]));
    for (int u = 0; u < UNIT_COUNT; u++)
        check_unit(t, extension, (UCHAR)u, true, STORTIMER_PAUSE_END_NONE);
    BOOLEAN resumed = StorPortResumeDevice(extension, 0, 0, 0);
    if (no_fault_in(t, "StorPortResumeDevice") && !resumed)
        wrong_status(t, "StorPortResumeDevice answered FALSE");
    clock_advance(t, clock, 3000000); /* the other unit pauses expire (S16.4) */
    for (int u = 0; u < UNIT_COUNT; u++)
        check_unit(t, extension, (UCHAR)u, false,
                   u == 0 ? STORTIMER_PAUSE_END_RESUMED : STORTIMER_PAUSE_END_EXPIRED);
    /* Queued at removal: dropped, its memory released (S14.13). */
    if (!StorPortIssueDpc(extension, &dpcs[0], NULL, NULL))
        wrong_status(t, "StorPortIssueDpc answered FALSE before the removal");
    no_fault_in(t, "StorPortIssueDpc");
    adapter_remove(t, extension, 0);
    for (int i = 0; i < EXTRA_CLOCKS; i++)
        clock_destroy(t, extra[i]);
    clock_destroy(t, clock);
}

/* ---- running scenarios in children ---- */

typedef struct scenario {
    const char *name;
    void (*run)(trial *t);
} scenario;

static const scenario scenarios[] = {
    {"virtual host: 10 adapters, 70 timers, legacy timers", scenario_virtual_host},
    {"real clock: 2 adapters with dispatcher threads", scenario_real_clock},
    {"churn: adapters and clocks removed and made again", scenario_churn},
    {"DPCs, unit pauses and clocks: 17 DPCs, 9 units, 3 clocks", scenario_dpcs_and_pauses},
};

static void label_run(char *label, size_t size, const scenario *s, fault_plan plan,
                      uint64_t of)
{
    if (plan.nth)
        snprintf(label, size, "scenario '%s', %s fault %llu of %llu", s->name,
                 kind_names[plan.kind], (unsigned long long)plan.nth,
                 (unsigned long long)of);
    else
        snprintf(label, size, "scenario '%s', control run", s->name);
}

static _Noreturn void child_main(const scenario *s, fault_plan plan, uint64_t of,
                                 run_result *result)
{
    alarm(CHILD_TIME_LIMIT_S);
    static trial t;
    label_run(t.label, sizeof t.label, s, plan, of);
    t.result = result;
    stortimer_set_report_handler(show_report, &t);
    t.live_before = st_fault_live_allocations();
    st_fault_reset();
    st_fault_plan(plan.kind, plan.nth);
    s->run(&t);
    result->injected = st_fault_injected();
    for (int k = 0; k < ST_FAULT_KINDS; k++)
        result->points[k] = st_fault_points((st_fault_kind)k);
    trial_finish(&t, true);
}

/* Runs one scenario under one plan in a fresh process; its verdict lands
 * in *r. False when the child crashed or hung. */
static bool run_in_child(const scenario *s, fault_plan plan, uint64_t of, run_result *r)
{
    memset(r, 0, sizeof *r);
    fflush(NULL); /* the child must not write our buffered output again */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0)
        child_main(s, plan, of, r);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("waitpid");
            exit(2);
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char label[128];
    label_run(label, sizeof label, s, plan, of);
    if (WIFSIGNALED(status))
        fprintf(stderr, "FAIL %s: crashed, killed by signal %d (%s)%s\n", label,
                WTERMSIG(status), strsignal(WTERMSIG(status)),
                WTERMSIG(status) == SIGALRM ? ": hung" : "");
    else
        fprintf(stderr, "FAIL %s: exited with status %d\n", label, WEXITSTATUS(status));
    return false;
}

/* ---- the tally ---- */

typedef struct tally {
    unsigned scenarios;
    uint64_t failed_in_turn[ST_FAULT_KINDS];
    uint64_t wrong_statuses, lost_timers, leaked, crashes;
    uint64_t not_reached;            /* planned faults a run never reached */
} tally;

/* Runs one plan and adds its verdict; true when it found nothing wrong. */
static bool tally_run(tally *sum, run_result *r, const scenario *s, fault_plan plan,
                      uint64_t of)
{
    bool exited = run_in_child(s, plan, of, r);
    uint64_t leaked = (uint64_t)(r->leaked < 0 ? -r->leaked : r->leaked);
    sum->crashes += !exited;
    sum->wrong_statuses += r->wrong_statuses;
    sum->lost_timers += r->lost_timers;
    sum->leaked += leaked;
    bool reached = !exited || !r->finished || r->injected == (plan.nth ? 1u : 0u);
    if (!reached) {
        char label[128];
        label_run(label, sizeof label, s, plan, of);
        fprintf(stderr, "FAIL %s: %llu fault(s) injected, expected %d\n", label,
                (unsigned long long)r->injected, plan.nth ? 1 : 0);
        sum->not_reached++;
    }
    return exited && reached && !r->wrong_statuses && !r->lost_timers && !leaked;
}

/* The control run counts the fault points; then each fails in turn. */
static void tally_scenario(tally *sum, run_result *r, const scenario *s)
{
    sum->scenarios++;
    if (!tally_run(sum, r, s, (fault_plan){ST_FAULT_MEMORY, 0}, 0))
        return; /* without a clean control run, no fault run means anything */
    uint64_t points[ST_FAULT_KINDS]; /* *r is overwritten by the runs below */
    memcpy(points, r->points, sizeof points);
    printf("%s: memory %llu, thread %llu, sync %llu fault points\n", s->name,
           (unsigned long long)points[ST_FAULT_MEMORY],
           (unsigned long long)points[ST_FAULT_THREAD],
           (unsigned long long)points[ST_FAULT_SYNC]);
    for (int k = 0; k < ST_FAULT_KINDS; k++) {
        for (uint64_t n = 1; n <= points[k]; n++) {
            tally_run(sum, r, s, (fault_plan){(st_fault_kind)k, n}, points[k]);
            sum->failed_in_turn[k]++;
        }
    }
}

static void print_summary(const tally *sum)
{
    uint64_t failed = sum->failed_in_turn[ST_FAULT_MEMORY] +
                      sum->failed_in_turn[ST_FAULT_THREAD] + sum->failed_in_turn[ST_FAULT_SYNC];
    printf("fault injection: %u scenarios, %llu fault points failed in turn (memory %llu, "
           "thread %llu, sync %llu), %llu wrong statuses, %llu timers lost, "
           "%llu allocations leaked, %llu crashes\n",
           sum->scenarios, (unsigned long long)failed,
           (unsigned long long)sum->failed_in_turn[ST_FAULT_MEMORY],
           (unsigned long long)sum->failed_in_turn[ST_FAULT_THREAD],
           (unsigned long long)sum->failed_in_turn[ST_FAULT_SYNC],
           (unsigned long long)sum->wrong_statuses, (unsigned long long)sum->lost_timers,
           (unsigned long long)sum->leaked, (unsigned long long)sum->crashes);
    if (sum->not_reached)
        printf("fault injection: %llu run(s) did not inject exactly the planned fault: "
               "the scenarios are not deterministic\n", (unsigned long long)sum->not_reached);
}

/* Runs every scenario, or those whose name contains argv[1]. */
int main(int argc, char **argv)
{
    run_result *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    tally sum = {0};
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        if (argc < 2 || strstr(scenarios[i].name, argv[1]))
            tally_scenario(&sum, shared, &scenarios[i]);
    print_summary(&sum);
    bool clean = !sum.wrong_statuses && !sum.lost_timers && !sum.leaked && !sum.crashes &&
                 !sum.not_reached;
    return clean ? 0 : 1;
}
