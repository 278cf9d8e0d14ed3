/*
 * lateness.c - how late a stortimer callback starts on the real clock,
 * beside the floor the kernel sets, both measured in the same run.
 *
 * stortimer: TolerableDelay 0, a random TimerValue in [1 ms, 5 ms], one
 * timer at a time; lateness = CLOCK_MONOTONIC at callback start minus (the
 * time just before StorPortRequestTimer + TimerValue).
 * floor: a bare thread with 1 ns timer slack sleeping with clock_nanosleep
 * to an absolute deadline of the same kind; lateness = wake - deadline.
 * The two alternate in batches, so that machine noise hits both alike.
 */
#include "realtime.h"

#include <storport.h>
#include <stortimer.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#define BATCH 100
#define VALUE_MIN_US 1000
#define VALUE_MAX_US 5000

typedef struct fire_slot {
    uint64_t fire_ns;
    sem_t fired;
} fire_slot;

static VOID record_fire(PVOID extension, PVOID context)
{
    (void)extension;
    fire_slot *slot = context;
    slot->fire_ns = now_ns();
    sem_post(&slot->fired);
}

typedef struct floor_thread {
    pthread_t thread;
    sem_t go, done;
    bool stop;
    double *out;
    size_t batch;
    prng rng;
} floor_thread;

static void sleep_until_ns(uint64_t deadline)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                          .tv_nsec = (long)(deadline % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void *floor_main(void *arg)
{
    floor_thread *f = arg;
    /* The same finest slack the dispatcher asks for. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    for (;;) {
        sem_wait(&f->go);
        if (f->stop)
            return NULL;
        for (size_t k = 0; k < f->batch; k++) {
            uint64_t value = prng_range(&f->rng, VALUE_MIN_US, VALUE_MAX_US);
            uint64_t deadline = now_ns() + value * 1000;
            sleep_until_ns(deadline);
            f->out[k] = (double)(int64_t)(now_ns() - deadline) / 1000.0;
        }
        sem_post(&f->done);
    }
}

static bool stortimer_batch(PVOID ext, PVOID timer, fire_slot *slot, prng *rng, double *out,
                            size_t batch)
{
    for (size_t k = 0; k < batch; k++) {
        uint64_t value = prng_range(rng, VALUE_MIN_US, VALUE_MAX_US);
        uint64_t call = now_ns();
        if (StorPortRequestTimer(ext, timer, record_fire, slot, value, 0) != STOR_STATUS_SUCCESS)
            return false;
        while (sem_wait(&slot->fired) != 0) {
        }
        out[k] = (double)(int64_t)(slot->fire_ns - (call + value * 1000)) / 1000.0;
    }
    return true;
}

bool lateness_callback_batch(void *ext, void *timer, prng *rng, double *out, size_t batch)
{
    fire_slot slot;
    sem_init(&slot.fired, 0, 0);
    bool ok = stortimer_batch(ext, timer, &slot, rng, out, batch);
    sem_destroy(&slot.fired);
    return ok;
}

void lateness_summarize(lateness_side *side)
{
    double *sorted = malloc(side->count * sizeof *sorted);
    double sum = 0;
    side->early = 0;
    for (size_t i = 0; i < side->count; i++) {
        sorted[i] = side->samples_us[i];
        sum += side->samples_us[i];
        side->early += side->samples_us[i] < 0;
    }
    sort_doubles(sorted, side->count);
    side->mean = side->count ? sum / (double)side->count : 0;
    side->p50 = quantile_sorted(sorted, side->count, 0.50);
    side->p90 = quantile_sorted(sorted, side->count, 0.90);
    side->p99 = quantile_sorted(sorted, side->count, 0.99);
    side->p999 = quantile_sorted(sorted, side->count, 0.999);
    side->max = side->count ? sorted[side->count - 1] : 0;
    free(sorted);
}

int lateness_steps(const bench_opts *opts)
{
    (void)opts;
    return 1;
}

static void print_table(const lateness_results *res)
{
    printf("\n== Real-clock lateness, us (TimerValue random in [1 ms, 5 ms], TolerableDelay 0) ==\n");
    printf("%-28s %7s %9s %9s %9s %9s %6s\n", "who", "samples", "p50", "p99", "p99.9", "max",
           "early");
    const lateness_side *sides[2] = {&res->stortimer, &res->floor};
    for (int i = 0; i < 2; i++)
        printf("%-28s %7zu %9.1f %9.1f %9.1f %9.1f %6zu\n", sides[i]->who, sides[i]->count,
               sides[i]->p50, sides[i]->p99, sides[i]->p999, sides[i]->max, sides[i]->early);
    printf("stortimer: callback start - (time before StorPortRequestTimer + TimerValue).\n"
           "floor: a bare thread (timer slack 1 ns) in clock_nanosleep(TIMER_ABSTIME);\n"
           "wake - deadline. The two alternate in batches of %d.\n", BATCH);
}

static bool write_csv(const bench_opts *opts, const lateness_results *res)
{
    FILE *f = csv_open(opts, "lateness.csv", "who,sample_us");
    if (!f)
        return false;
    const lateness_side *sides[2] = {&res->stortimer, &res->floor};
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < sides[i]->count; k++)
            fprintf(f, "%s,%.3f\n", sides[i]->who, sides[i]->samples_us[k]);
    return csv_close(f, "lateness.csv");
}

bool run_lateness(const bench_opts *opts, lateness_results *res)
{
    size_t samples = opts->quick ? 400 : 2000;
    progress_step("real-clock lateness, %zu samples each", samples);
    res->stortimer = (lateness_side){.who = "stortimer callback"};
    res->floor = (lateness_side){.who = "floor (clock_nanosleep)"};
    res->stortimer.samples_us = calloc(samples, sizeof(double));
    res->floor.samples_us = calloc(samples, sizeof(double));

    stortimer_adapter_config config = {.extension_size = 64, .clock = NULL};
    PVOID ext = NULL, timer = NULL;
    if (stortimer_adapter_create(&config, &ext) != STOR_STATUS_SUCCESS ||
        StorPortInitializeTimer(ext, &timer) != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-bench: cannot create a real-clock adapter and timer\n");
        return false;
    }
    fire_slot slot;
    sem_init(&slot.fired, 0, 0);
    floor_thread fl = {.rng = {.state = 0xf1002u}};
    sem_init(&fl.go, 0, 0);
    sem_init(&fl.done, 0, 0);
    pthread_create(&fl.thread, NULL, floor_main, &fl);
    prng rng = {.state = 0xf1001u};

    bool ok = true;
    for (size_t done = 0; done < samples && ok; done += BATCH) {
        size_t batch = samples - done < BATCH ? samples - done : BATCH;
        if (done % (BATCH * 5) == 0) {
            char phase[64];
            snprintf(phase, sizeof phase, "%zu of %zu", done, samples);
            progress_phase(phase);
        }
        ok = stortimer_batch(ext, timer, &slot, &rng, res->stortimer.samples_us + done, batch);
        fl.out = res->floor.samples_us + done;
        fl.batch = batch;
        sem_post(&fl.go);
        while (sem_wait(&fl.done) != 0) {
        }
        res->stortimer.count = res->floor.count = done + batch;
    }
    fl.stop = true;
    sem_post(&fl.go);
    pthread_join(fl.thread, NULL);
    StorPortFreeTimer(ext, timer);
    stortimer_adapter_remove(ext, NULL);
    sem_destroy(&slot.fired);
    sem_destroy(&fl.go);
    sem_destroy(&fl.done);
    if (!ok) {
        fprintf(stderr, "stortimer-bench: StorPortRequestTimer failed in the lateness part\n");
        return false;
    }
    lateness_summarize(&res->stortimer);
    lateness_summarize(&res->floor);
    res->measured = true;
    print_table(res);
    return write_csv(opts, res);
}

void lateness_free(lateness_results *res)
{
    free(res->stortimer.samples_us);
    free(res->floor.samples_us);
    res->stortimer.samples_us = res->floor.samples_us = NULL;
}
