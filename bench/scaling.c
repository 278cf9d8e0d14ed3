/*
 * scaling.c - arm+cancel pairs per second through StorPortRequestTimer from
 * one thread, from two, each on its own virtual-clock adapter with 1e5 live
 * timers, and from two on one adapter, each with its own 1e5 timers (which
 * go to the shards of the processors they run on). A pair cancels a random
 * live timer and arms it again with a random timeout. Each run times the
 * three in turn; the ratios are the medians of each run's own ratios, so
 * that a machine whose speed drifts between runs moves all three alike.
 */
#include "realtime.h"

#include <storport.h>
#include <stortimer.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define LIVE 100000
#define RUNS 5
#define INPUTS 65536 /* a power of two: inputs are reused round-robin */

static VOID never_fired(PVOID extension, PVOID context)
{
    (void)extension;
    (void)context;
}

typedef struct worker {
    _Alignas(64) stortimer_clock *clock;
    PVOID ext;
    PVOID *handles;
    uint32_t *index;
    uint64_t *timeout;
    pthread_t thread;
    pthread_barrier_t *start;
    _Atomic bool *stop;
    uint64_t pairs, elapsed_ns, errors;
} worker;

/* A worker with its own adapter, or (shared_ext) its own timers on another
 * worker's adapter. */
static bool worker_setup(worker *w, uint64_t seed, PVOID shared_ext)
{
    prng rng = {.state = seed};
    w->handles = calloc(LIVE, sizeof *w->handles);
    w->index = malloc(INPUTS * sizeof *w->index);
    w->timeout = malloc(INPUTS * sizeof *w->timeout);
    if (!w->handles || !w->index || !w->timeout)
        return false;
    if (shared_ext) {
        w->ext = shared_ext;
    } else {
        w->clock = stortimer_clock_virtual_create();
        stortimer_adapter_config config = {.extension_size = 64, .clock = w->clock};
        if (!w->clock || stortimer_adapter_create(&config, &w->ext) != STOR_STATUS_SUCCESS)
            return false;
    }
    for (size_t i = 0; i < LIVE; i++)
        if (StorPortInitializeTimer(w->ext, &w->handles[i]) != STOR_STATUS_SUCCESS ||
            StorPortRequestTimer(w->ext, w->handles[i], never_fired, NULL,
                                 prng_range(&rng, 1, 1000000), 0) != STOR_STATUS_SUCCESS)
            return false;
    for (size_t k = 0; k < INPUTS; k++) {
        w->index[k] = (uint32_t)(prng_next(&rng) % LIVE);
        w->timeout[k] = prng_range(&rng, 1, 1000000);
    }
    return true;
}

/* Workers sharing an adapter are torn down last first: the first owns it. */
static void worker_teardown(worker *w)
{
    if (w->ext) {
        for (size_t i = 0; i < LIVE; i++)
            if (w->handles[i])
                StorPortFreeTimer(w->ext, w->handles[i]);
        if (w->clock)
            stortimer_adapter_remove(w->ext, NULL);
    }
    stortimer_clock_destroy(w->clock);
    free(w->handles);
    free(w->index);
    free(w->timeout);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t pairs = 0, errors = 0;
    size_t k = 0;
    pthread_barrier_wait(w->start);
    uint64_t t0 = now_ns();
    while (!atomic_load_explicit(w->stop, memory_order_relaxed)) {
        for (int j = 0; j < 256; j++, k = (k + 1) & (INPUTS - 1)) {
            PVOID h = w->handles[w->index[k]];
            errors += StorPortRequestTimer(w->ext, h, never_fired, NULL, 0, 0) !=
                      STOR_STATUS_SUCCESS;
            errors += StorPortRequestTimer(w->ext, h, never_fired, NULL, w->timeout[k], 0) !=
                      STOR_STATUS_SUCCESS;
        }
        pairs += 256;
    }
    w->elapsed_ns = now_ns() - t0;
    w->pairs = pairs;
    w->errors += errors;
    return NULL;
}

/* One timed run of `threads` workers; pairs per second, summed. */
static double timed_run(worker *const *workers, int threads, uint64_t duration_us)
{
    pthread_barrier_t start;
    _Atomic bool stop = false;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        workers[t]->start = &start;
        workers[t]->stop = &stop;
        pthread_create(&workers[t]->thread, NULL, worker_main, workers[t]);
    }
    pthread_barrier_wait(&start);
    sleep_us(duration_us);
    atomic_store(&stop, true);
    double rate = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(workers[t]->thread, NULL);
        rate += (double)workers[t]->pairs * 1e9 / (double)workers[t]->elapsed_ns;
    }
    pthread_barrier_destroy(&start);
    return rate;
}

int scaling_steps(const bench_opts *opts)
{
    (void)opts;
    return 1;
}

/* The three workers: the first and second on adapters of their own, the
 * third on the first's adapter. */
enum { WORKERS = 3 };

static bool setup_workers(worker w[WORKERS])
{
    bool ok = true;
    for (int t = 0; t < WORKERS; t++)
        ok = worker_setup(&w[t], 0x5ca1e000u + (uint64_t)t, t == 2 ? w[0].ext : NULL) && ok;
    return ok;
}

static bool teardown_workers(worker w[WORKERS])
{
    bool ok = true;
    for (int t = WORKERS - 1; t >= 0; t--) {
        ok = !w[t].errors && ok;
        worker_teardown(&w[t]);
    }
    return ok;
}

/* RUNS runs of the three configurations in turn: medians of the rates and
 * of each run's ratios to its one-thread rate. */
static bool measure(uint64_t duration_us, scaling_results *res)
{
    progress_step("scaling: 1 thread, 2 on two adapters, 2 on one adapter");
    static worker w[WORKERS];
    progress_phase("arming 1e5 timers per thread");
    bool ok = setup_workers(w);
    worker *one[] = {&w[0]}, *two[] = {&w[0], &w[1]}, *shared[] = {&w[0], &w[2]};
    double rate[3][RUNS], ratio[2][RUNS];
    progress_phase("measuring");
    for (int run = 0; ok && run < RUNS; run++) {
        rate[0][run] = timed_run(one, 1, duration_us);
        rate[1][run] = timed_run(two, 2, duration_us);
        rate[2][run] = timed_run(shared, 2, duration_us);
        ratio[0][run] = rate[1][run] / rate[0][run];
        ratio[1][run] = rate[2][run] / rate[0][run];
    }
    ok = teardown_workers(w) && ok;
    if (ok) {
        res->pairs_per_s[0] = median_of(rate[0], RUNS);
        res->pairs_per_s[1] = median_of(rate[1], RUNS);
        res->one_adapter_pairs_per_s = median_of(rate[2], RUNS);
        res->ratio = median_of(ratio[0], RUNS);
        res->one_adapter_ratio = median_of(ratio[1], RUNS);
    }
    return ok;
}

bool run_scaling(const bench_opts *opts, scaling_results *res)
{
    uint64_t duration_us = opts->quick ? 300000 : 1000000;
    if (!measure(duration_us, res)) {
        fprintf(stderr, "stortimer-bench: the scaling part failed\n");
        return false;
    }
    res->measured = true;

    printf("\n== Scaling: arm+cancel pairs per second through StorPortRequestTimer ==\n");
    printf("(1e5 live timers per thread, virtual clocks; %d runs of %.1f s, each timing the\n"
           "three in turn; medians of the rates and of each run's ratios)\n", RUNS,
           (double)duration_us / 1e6);
    printf("%-34s %14s %8s\n", "threads", "pairs/s", "ratio");
    printf("%-34s %14.0f %7.2fx\n", "1", res->pairs_per_s[0], 1.0);
    printf("%-34s %14.0f %7.2fx\n", "2, each on its own adapter", res->pairs_per_s[1], res->ratio);
    printf("%-34s %14.0f %7.2fx\n", "2 on one adapter (its shards)", res->one_adapter_pairs_per_s,
           res->one_adapter_ratio);

    FILE *f = csv_open(opts, "scaling.csv", "threads,adapters,pairs_per_s");
    if (!f)
        return false;
    fprintf(f, "1,1,%.0f\n2,2,%.0f\n2,1,%.0f\n", res->pairs_per_s[0], res->pairs_per_s[1],
            res->one_adapter_pairs_per_s);
    return csv_close(f, "scaling.csv");
}
