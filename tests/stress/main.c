/*
 * main.c - test_stress: a bounded-time concurrency stress test, on the real
 * clock and then on a virtual one. This comment describes the whole test;
 * here are main() and the course of one run (stress.h lists the other files).
 *
 * Worker threads arm, cancel, re-arm and free timers of three adapters: at
 * PASSIVE_LEVEL, holding the adapter's StartIo lock (or, on the half-duplex
 * adapter, its InterruptLock, which is the same lock), and at device IRQL,
 * where StorPortInitializeTimer and StorPortFreeTimer answer INVALID_IRQL and
 * StorPortRequestTimer hands the request over (S5.7). Callbacks re-arm their
 * own timer (S5.6), free it (the S6.4.1 exception), stall, and arm the legacy
 * timer, whose routine re-arms itself (S7.2). A churn thread removes adapters
 * and creates new ones (S3.4). Workers also call with stale, forged and foreign
 * handles, which must never work. On the virtual clock an advancer thread (and
 * now and then a worker, sometimes holding its adapter's StartIo lock) moves
 * time.
 *
 * What is checked, each violation counted and described on stderr:
 *  - every successful arm fires exactly once, unless a cancel, a free or the
 *    adapter's removal came before its callback started: no lost callbacks, no
 *    duplicates (S5.4);
 *  - never early: a callback starts no sooner than TimerValue after the call
 *    (S5.4.1), and the due time of a handed-over arm counts from the call (S5.7);
 *  - no callback starts after a cancel, a FreeTimer or the removal that
 *    certainly came after its arm returned, and none is still running when
 *    FreeTimer (S6.4.1) or the removal (S3.4) returns;
 *  - callbacks of one adapter never overlap each other or a holder of its
 *    StartIo lock, run at DISPATCH_LEVEL and get their own extension (S8.1);
 *  - BUSY only when an arm was pending, SUCCESS never when one certainly was
 *    (S5.3); every status belongs to the documented set of its call, and is
 *    the exact one wherever the test can know it (S4, S5, S6);
 *  - handles are never NULL and never issued twice (S4.7); removal reports as
 *    leaked exactly the timers not freed (S3.4);
 *  - the library's statistics agree with the test's own tallies.
 * A watchdog fails the test with a per-thread report if nothing moves for
 * 10 s (a deadlock).
 *
 * How the accounting stays exact although everything races
 * ---------------------------------------------------------
 * Each arm gets a record (its CallbackContext). One global ticket counter
 * orders events: a ticket is taken before each call, after it returns, and
 * first thing in every callback. An arm that returned before a kill (cancel,
 * free, removal) was called is certainly affected by it; a kill that returned
 * before an arm was called cannot be; anything in between may go either way,
 * so it only excuses the arm from firing. A callback's ticket is taken a
 * little after the library started it, so "it started after the cancel
 * returned" is decided against a ticket taken while holding the adapter's
 * StartIo lock after the cancel returned (a callback holds that lock while it
 * runs), or directly when the canceller itself holds the lock or runs a
 * callback of that adapter. FreeTimer and removal wait for a running callback,
 * so their return ticket is exact. A cancel above DISPATCH_LEVEL "takes effect
 * shortly after" (S5.7): it only ever excuses.
 *
 * Each timer belongs to one worker: only that worker and the timer's own
 * callbacks act on it. Workers hold an adapter slot's read lock while they use
 * it and the churn thread its write lock to replace it; before a removal the
 * churn thread sets a flag under the StartIo lock after which callbacks stop
 * acting. So statuses, leak counts and per-adapter statistics are exact, and
 * only the stale-handle calls made without the slot lock race a removal. The
 * legacy timer is armed only under the StartIo lock or from a callback, so
 * the test always knows which RequestTimerCall a HwStorTimer call belongs to.
 *
 * A lost arm is one still awaited when nothing can excuse it any more. Since
 * a later cancel excuses an arm that is late, each worker keeps one steady
 * timer that nobody cancels or frees, and a removal comes in three styles: at
 * once (cancelling what is pending), after letting every pending arm of the
 * adapter fire (an arm that never does is lost), or while a callback of the
 * adapter runs (the removal must wait for it). At the end of a run every
 * pending arm is let fire before the last removals.
 *
 * An advance made holding an adapter's StartIo lock passes that adapter's due
 * callbacks over: they run late, at a later advance (another thread's, or the
 * end of the run's). As they would start no earlier and the advancing thread
 * holds the lock they need, every rule above stays exact as it is.
 *
 * Time is used only where it cannot flake: never-early is exact; no lateness
 * bound is asserted. Duration: STORTIMER_STRESS_SECONDS per run (default 6 s
 * real, 4 s virtual), then 2.5 s at most of DPCs and pauses issued from
 * signal handlers while adapters are removed (dpc_signals.c describes it).
 * At the end of each run one summary line goes to stdout.
 */
#include "stress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double default_real_seconds = 6.0;
static const double default_virtual_seconds = 4.0;
static const double default_dpc_seconds = 2.5;

/* ---- One run ---- */

static void run_prepare(const char *name, stortimer_clock *clock, double seconds)
{
    memset(&run, 0, sizeof run);
    run.name = name;
    run.clock = clock;
    run.seconds = seconds;
    arena_init(&run.arms, sizeof(arm_record));
    arena_init(&run.timers, sizeof(timer_record));
    pthread_mutex_init(&run.created_lock, NULL);
    for (int i = 0; i < WORKER_COUNT; i++)
        snprintf(run.reports[i].name, sizeof run.reports[i].name, "worker %d", i + 1);
    snprintf(run.reports[CHURN_REPORT].name, sizeof run.reports[0].name, "churn");
    if (clock)
        snprintf(run.reports[ADVANCER_REPORT].name, sizeof run.reports[0].name, "advancer");
    snprintf(run.reports[MAIN_REPORT].name, sizeof run.reports[0].name, "main");
    me = &run.reports[MAIN_REPORT];

    pthread_rwlockattr_t attributes;
    pthread_rwlockattr_init(&attributes);
    /* Writer-preferring, so that the churn thread is not starved by the workers. */
    pthread_rwlockattr_setkind_np(&attributes, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++) {
        slots[s] = (adapter_slot){.index = s};
        pthread_rwlock_init(&slots[s].lock, &attributes);
        atomic_store(&slots[s].current, create_incarnation(&slots[s]));
    }
    pthread_rwlockattr_destroy(&attributes);
}

static void release_run(void)
{
    incarnation *inc = run.created;
    while (inc) {
        incarnation *next = inc->next_created;
        pthread_mutex_destroy(&inc->lock);
        free(inc);
        inc = next;
    }
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++)
        pthread_rwlock_destroy(&slots[s].lock);
    arena_release(&run.arms);
    arena_release(&run.timers);
    pthread_mutex_destroy(&run.created_lock);
}

typedef struct run_threads {
    pthread_t watchdog, churn, advancer;
    worker workers[WORKER_COUNT];
} run_threads;

static void start_threads(run_threads *threads)
{
    watchdog_start(&threads->watchdog);
    for (int i = 0; i < WORKER_COUNT; i++) {
        threads->workers[i] = (worker){.index = i};
        pthread_create(&threads->workers[i].thread, NULL, worker_main, &threads->workers[i]);
    }
    pthread_create(&threads->churn, NULL, churn_main, NULL);
    if (run.clock)
        pthread_create(&threads->advancer, NULL, advancer_main, NULL);
}

/* Lets the threads work for run.seconds; returns how long they did. */
static double let_them_work(void)
{
    now_doing("sleeping through the run");
    uint64_t started = monotonic_ns();
    while (monotonic_ns() - started < (uint64_t)(run.seconds * NS_PER_S) &&
           !atomic_load(&run.arena_full))
        sleep_ns(10000000);
    double active = (double)(monotonic_ns() - started) / NS_PER_S;
    if (atomic_load(&run.arena_full))
        fprintf(stderr, "stress %s: record space full after %.1f s; the run ends there\n",
                run.name, active);
    return active;
}

/*
 * The advancer stops last: a removal that lets an adapter's pending arms fire
 * first (REMOVE_AFTER_SETTLING) relies on it to move a virtual clock, and the
 * churn thread may be in one when told to stop. Stopped with it, the clock
 * would stand still and those arms be reported lost.
 */
static void stop_threads(run_threads *threads)
{
    now_doing("stopping the workers");
    atomic_store(&run.stop_workers, true);
    for (int i = 0; i < WORKER_COUNT; i++)
        pthread_join(threads->workers[i].thread, NULL);
    now_doing("stopping the churn thread");
    atomic_store(&run.stop_churn, true);
    pthread_join(threads->churn, NULL);
    if (run.clock) {
        now_doing("stopping the advancer");
        atomic_store(&run.stop_advancer, true);
        pthread_join(threads->advancer, NULL);
    }
}

/* Every pending arm fires, what never does is lost; then the adapters go. */
static void wind_down(void)
{
    let_due_callbacks_run();
    report_lost_arms();
    now_doing("removing the adapters");
    for (int s = 0; s < ADAPTER_SLOT_COUNT; s++) {
        pthread_rwlock_wrlock(&slots[s].lock);
        remove_incarnation(current_incarnation(s), REMOVE_AT_ONCE);
        pthread_rwlock_unlock(&slots[s].lock);
    }
    if (run.clock)
        stortimer_clock_advance(run.clock, 10 * 1000 * 1000); /* nothing may fire any more */
}

/* Runs the stress for `seconds` on the real clock or a virtual one; true if clean. */
static bool stress(bool virtual_clock, double seconds)
{
    stortimer_clock *clock = virtual_clock ? stortimer_clock_virtual_create() : NULL;
    if (virtual_clock && !clock) {
        fprintf(stderr, "stress: cannot create a virtual clock\n");
        exit(1);
    }
    stortimer_stats before;
    stortimer_stats_read(NULL, &before);
    run_prepare(virtual_clock ? "virtual" : "real", clock, seconds);

    static run_threads threads;
    start_threads(&threads);
    double active = let_them_work();
    stop_threads(&threads);
    wind_down();
    uint64_t never_fired = count_never_fired();
    check_process_stats(&before, never_fired);
    watchdog_stop(threads.watchdog);
    if (clock)
        stortimer_clock_destroy(clock);

    uint64_t violations = print_summary(active, never_fired);
    release_run();
    return violations == 0;
}

/* STORTIMER_STRESS_SECONDS sets the length of each run. */
static double seconds_from_environment(double fallback)
{
    const char *text = getenv("STORTIMER_STRESS_SECONDS");
    if (!text || !*text)
        return fallback;
    char *end;
    double seconds = strtod(text, &end);
    if (*end || !(seconds > 0) || seconds > 3600) {
        fprintf(stderr, "stress: STORTIMER_STRESS_SECONDS=%s is not a duration in seconds\n",
                text);
        exit(2);
    }
    return seconds;
}

int main(void)
{
    timer_stripes_init();
    if (!handles_init()) {
        fprintf(stderr, "stress: out of memory\n");
        return 1;
    }
    stortimer_set_report_handler(on_library_report, NULL);
    bool clean = stress(false, seconds_from_environment(default_real_seconds));
    clean &= stress(true, seconds_from_environment(default_virtual_seconds));
    double dpc_seconds = seconds_from_environment(default_dpc_seconds);
    clean &= dpc_signal_stress(dpc_seconds < default_dpc_seconds ? dpc_seconds
                                                                : default_dpc_seconds);
    stortimer_set_report_handler(NULL, NULL);
    handles_release();
    return clean ? 0 : 1;
}
