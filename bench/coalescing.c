/*
 * coalescing.c - how many wake-ups 10,000 real-clock timers cost when each
 * may fire anywhere in a window of 25% of its timeout, and whether each one
 * fired inside its window [call + value, call + value + delay]; then the
 * same timers with TolerableDelay 0, for contrast.
 */
#include "realtime.h"

#include <storport.h>
#include <stortimer.h>

#include <stdatomic.h>
#include <stdlib.h>

#define TIMERS 10000
#define VALUE_MIN_US 1000
#define VALUE_MAX_US 1000000

typedef struct timer_record {
    uint64_t before_call_ns, after_call_ns, fire_ns;
    uint64_t value_us, delay_us;
    _Atomic uint64_t *fired_count;
} timer_record;

static VOID record_fire(PVOID extension, PVOID context)
{
    (void)extension;
    timer_record *rec = context;
    rec->fire_ns = now_ns();
    atomic_fetch_add_explicit(rec->fired_count, 1, memory_order_release);
}

/* Early: before the earliest the call can have been made, plus the value.
 * Late: after the latest it can have been made, plus value and delay. So
 * both counts are certain, never artefacts of timing the call. */
static void check_windows(const timer_record *recs, size_t n, coalescing_run *run)
{
    for (size_t i = 0; i < n; i++) {
        const timer_record *r = &recs[i];
        if (!r->fire_ns)
            continue;
        if (r->fire_ns < r->before_call_ns + r->value_us * 1000)
            run->early++;
        uint64_t closes = r->after_call_ns + (r->value_us + r->delay_us) * 1000;
        if (r->fire_ns > closes) {
            run->late++;
            double late_us = (double)(r->fire_ns - closes) / 1000.0;
            if (late_us > run->worst_late_us)
                run->worst_late_us = late_us;
        }
    }
}

static bool run_once(unsigned delay_percent, coalescing_run *run)
{
    *run = (coalescing_run){.delay_percent = delay_percent, .timers = TIMERS};
    timer_record *recs = calloc(TIMERS, sizeof *recs);
    PVOID *handles = calloc(TIMERS, sizeof *handles);
    _Atomic uint64_t fired = 0;
    stortimer_adapter_config config = {.extension_size = 64, .clock = NULL};
    PVOID ext = NULL;
    bool ok = recs && handles && stortimer_adapter_create(&config, &ext) == STOR_STATUS_SUCCESS;
    for (size_t i = 0; ok && i < TIMERS; i++)
        ok = StorPortInitializeTimer(ext, &handles[i]) == STOR_STATUS_SUCCESS;
    if (!ok) {
        fprintf(stderr, "stortimer-bench: cannot set up the coalescing adapter\n");
        free(recs);
        free(handles);
        return false;
    }

    prng rng = {.state = 0xc0a1e5ceu}; /* the same timeouts for both runs */
    progress_phase("arming");
    uint64_t arm_start = now_ns();
    for (size_t i = 0; ok && i < TIMERS; i++) {
        timer_record *r = &recs[i];
        r->fired_count = &fired;
        r->value_us = prng_range(&rng, VALUE_MIN_US, VALUE_MAX_US);
        r->delay_us = r->value_us * delay_percent / 100;
        r->before_call_ns = now_ns();
        ok = StorPortRequestTimer(ext, handles[i], record_fire, r, r->value_us, r->delay_us) ==
             STOR_STATUS_SUCCESS;
        r->after_call_ns = now_ns();
    }
    run->arm_ms = (double)(now_ns() - arm_start) / 1e6;
    stortimer_stats at_arming = {0}, at_end = {0};
    stortimer_stats_read(ext, &at_arming);

    progress_phase("waiting for the callbacks");
    /* The last window closes 1.25 s after arming; allow plenty more. */
    uint64_t give_up = now_ns() + 5000000000u;
    while (ok && atomic_load_explicit(&fired, memory_order_acquire) < TIMERS && now_ns() < give_up)
        sleep_us(2000);
    stortimer_stats_read(ext, &at_end);
    run->fired = (size_t)atomic_load_explicit(&fired, memory_order_acquire);

    for (size_t i = 0; i < TIMERS; i++)
        StorPortFreeTimer(ext, handles[i]);
    stortimer_adapter_remove(ext, NULL);
    /* Every callback has finished now: the records are stable. */
    check_windows(recs, TIMERS, run);
    run->wakeups = at_end.wakeups;
    run->wakeups_after_arming = at_end.wakeups - at_arming.wakeups;
    run->measured = ok;
    free(recs);
    free(handles);
    if (!ok)
        fprintf(stderr, "stortimer-bench: StorPortRequestTimer failed in the coalescing part\n");
    return ok;
}

int coalescing_steps(const bench_opts *opts)
{
    (void)opts;
    return 2;
}

static void print_row(const coalescing_run *r)
{
    if (!r->measured)
        return;
    printf("%-10u %7zu %7zu %6zu %6zu %10.1f %8llu %10.3f %12llu %9.1f\n", r->delay_percent,
           r->timers, r->fired, r->early, r->late, r->worst_late_us, r->wakeups,
           r->fired ? (double)r->wakeups / (double)r->fired : 0.0, r->wakeups_after_arming,
           r->arm_ms);
}

static void print_table(const coalescing_results *res)
{
    printf("\n== Coalescing on the real clock: %d timers, TimerValue random in [1 ms, 1 s] ==\n",
           TIMERS);
    printf("%-10s %7s %7s %6s %6s %10s %8s %10s %12s %9s\n", "delay %", "timers", "fired",
           "early", "late", "worst late", "wake-ups", "per cb", "after arming", "arm ms");
    print_row(&res->windowed);
    print_row(&res->zero);
    printf("delay %%: TolerableDelay as a share of TimerValue. early / late: callbacks outside\n"
           "[call + value, call + value + delay]; worst late in us past the window's end (with\n"
           "delay 0 the window has no room for the kernel's wake-up delay). wake-ups: the\n"
           "adapter's statistics, arming included; after arming: from the last arm on.\n");
}

static void write_row(FILE *f, const coalescing_run *r)
{
    if (r->measured)
        fprintf(f, "%u,%zu,%zu,%zu,%zu,%.1f,%llu,%.4f,%llu,%.1f\n", r->delay_percent, r->timers,
                r->fired, r->early, r->late, r->worst_late_us, r->wakeups,
                r->fired ? (double)r->wakeups / (double)r->fired : 0.0, r->wakeups_after_arming,
                r->arm_ms);
}

bool run_coalescing(const bench_opts *opts, coalescing_results *res)
{
    progress_step("coalescing, TolerableDelay 25%%");
    bool ok = run_once(25, &res->windowed);
    progress_step("coalescing, TolerableDelay 0");
    ok = run_once(0, &res->zero) && ok;
    print_table(res);
    FILE *f = csv_open(opts, "coalescing.csv",
                       "delay_percent,timers,fired,early,late,worst_late_us,wakeups,"
                       "wakeups_per_callback,wakeups_after_arming,arm_ms");
    if (!f)
        return false;
    write_row(f, &res->windowed);
    write_row(f, &res->zero);
    return csv_close(f, "coalescing.csv") && ok;
}
