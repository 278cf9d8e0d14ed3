/*
 * realtime.h - the parts on the real clock (lateness, coalescing) and the
 * thread-scaling part.
 */
#ifndef STORTIMER_BENCH_REALTIME_H
#define STORTIMER_BENCH_REALTIME_H

#include "bench.h"

/* One side of the lateness part: raw samples and their summary, in us. */
typedef struct lateness_side {
    const char *who;
    double *samples_us; /* in the order taken; owned */
    size_t count;
    double p50, p99, p999, max;
    size_t early;       /* negative lateness: fired before the due time */
} lateness_side;

typedef struct lateness_results {
    bool measured;
    lateness_side stortimer, floor;
} lateness_results;

typedef struct coalescing_run {
    bool measured;
    unsigned delay_percent;       /* TolerableDelay as a share of TimerValue */
    size_t timers, fired;
    size_t early, late;           /* outside [call + value, call + value + delay] */
    double worst_late_us;         /* past the window's end; 0 when none */
    double arm_ms;                /* how long arming them all took */
    unsigned long long wakeups;   /* the adapter's statistics, whole run */
    unsigned long long wakeups_after_arming;
} coalescing_run;

typedef struct coalescing_results {
    coalescing_run windowed, zero;
} coalescing_results;

typedef struct scaling_results {
    bool measured;
    double pairs_per_s[2];        /* 1 thread, 2 threads (sum), one adapter each */
    double ratio;
    double one_adapter_pairs_per_s; /* 2 threads (sum) on one adapter */
    double one_adapter_ratio;
} scaling_results;

int lateness_steps(const bench_opts *opts);
bool run_lateness(const bench_opts *opts, lateness_results *out);
void lateness_free(lateness_results *res);

int coalescing_steps(const bench_opts *opts);
bool run_coalescing(const bench_opts *opts, coalescing_results *out);

int scaling_steps(const bench_opts *opts);
bool run_scaling(const bench_opts *opts, scaling_results *out);

#endif /* STORTIMER_BENCH_REALTIME_H */
