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
    double mean, p50, p90, p99, p999, max;
    size_t early;       /* negative lateness: fired before the due time */
} lateness_side;

/* `batch` callbacks of the lateness part, one at a time on the real-clock
 * adapter `ext` with its timer `timer`: TimerValue random in [1 ms, 5 ms],
 * TolerableDelay 0; out[k] = callback start - (time before the call +
 * TimerValue), in us. False when an arm fails. */
bool lateness_callback_batch(void *ext, void *timer, prng *rng, double *out, size_t batch);

/* Fills in the summary (mean, quantiles, max, early) from the samples. */
void lateness_summarize(lateness_side *side);

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

/* The DPC part: DPC issue-to-start lateness beside timer callbacks'
 * lateness, on one real-clock adapter, in the same run. */
typedef struct dpc_results {
    bool measured;
    lateness_side callback;   /* timer callbacks, TolerableDelay 0 */
    lateness_side host;       /* DPCs issued from a host thread */
    lateness_side interrupt;  /* DPCs issued from an interrupt routine */
    lateness_side floor;      /* a bare thread woken through a semaphore */
    /* The adapter's own statistics over the same run, whole microseconds. */
    double stats_callback_mean_us, stats_dpc_mean_us;
    unsigned long long stats_callback_max_us, stats_dpc_max_us;
    unsigned long long stats_fired, stats_dpcs_started;
} dpc_results;

int dpc_steps(const bench_opts *opts);
bool run_dpc(const bench_opts *opts, dpc_results *out);
void dpc_free(dpc_results *res);

int coalescing_steps(const bench_opts *opts);
bool run_coalescing(const bench_opts *opts, coalescing_results *out);

int scaling_steps(const bench_opts *opts);
bool run_scaling(const bench_opts *opts, scaling_results *out);

#endif /* STORTIMER_BENCH_REALTIME_H */
