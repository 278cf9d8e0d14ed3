/*
 * dpc.c - how late a DPC routine starts after StorPortIssueDpc on the real
 * clock, beside how late a timer callback starts, on one adapter in the
 * same run (SPEC S14.6: both run on the adapter's dispatcher thread).
 *
 * timer callback: the lateness part's measurement (lateness.c): TolerableDelay
 *   0, a random TimerValue in [1 ms, 5 ms], one timer at a time; lateness =
 *   callback start - (time before StorPortRequestTimer + TimerValue).
 * DPC, host thread: the thread sleeps a random [1 ms, 5 ms] (so that the
 *   dispatcher is asleep, as it is before a timer is due), reads the clock
 *   and calls StorPortIssueDpc with that reading as SystemArgument1; the
 *   routine reads the clock first thing; lateness = start - reading.
 * DPC, interrupt routine: the same, but the reading and the issue are made
 *   inside an interrupt routine run through stortimer_adapter_interrupt (at
 *   STOR_DEVICE_LEVEL: the issue is handed over, S14.5).
 * floor: a bare thread blocked on a semaphore, posted after the same random
 *   sleep; lateness = wake - time before sem_post. What waking a sleeping
 *   thread costs on this machine, whatever library does it.
 * The four alternate in batches, so that machine noise hits them alike.
 */
#include "realtime.h"

#include <storport.h>
#include <stortimer.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 100
#define GAP_MIN_US 1000
#define GAP_MAX_US 5000

/* The issue time travels in SystemArgument1 as nanoseconds. */
_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t),
               "SystemArgument1 carries a 64-bit time");

typedef struct dpc_bench {
    PVOID ext;
    STOR_DPC dpc;
    sem_t started;
    int64_t lateness_ns; /* of the last start */
    BOOLEAN issued;      /* the answer of the interrupt routine's issue */
} dpc_bench;

static VOID record_start(PSTOR_DPC dpc, PVOID extension, PVOID argument1, PVOID argument2)
{
    uint64_t start = now_ns();
    (void)dpc;
    (void)extension;
    dpc_bench *b = argument2;
    b->lateness_ns = (int64_t)(start - (uint64_t)(uintptr_t)argument1);
    sem_post(&b->started);
}

/* The miniport's extension holds a pointer to the benchmark's state. */
static BOOLEAN interrupt_issue(PVOID extension)
{
    dpc_bench *b = *(dpc_bench **)extension;
    uint64_t issue = now_ns();
    b->issued = StorPortIssueDpc(extension, &b->dpc, (PVOID)(uintptr_t)issue, b);
    return TRUE;
}

static bool dpc_batch(dpc_bench *b, bool from_interrupt, prng *rng, double *out, size_t batch)
{
    for (size_t k = 0; k < batch; k++) {
        sleep_us(prng_range(rng, GAP_MIN_US, GAP_MAX_US));
        if (from_interrupt) {
            BOOLEAN claimed = FALSE;
            if (stortimer_adapter_interrupt(b->ext, interrupt_issue, &claimed) !=
                    STOR_STATUS_SUCCESS ||
                !b->issued)
                return false;
        } else {
            uint64_t issue = now_ns();
            if (!StorPortIssueDpc(b->ext, &b->dpc, (PVOID)(uintptr_t)issue, b))
                return false;
        }
        while (sem_wait(&b->started) != 0) {
        }
        out[k] = (double)b->lateness_ns / 1000.0;
    }
    return true;
}

typedef struct wake_floor {
    pthread_t thread;
    sem_t go, done;
    bool stop;
    uint64_t posted_ns;
    int64_t lateness_ns;
} wake_floor;

static void *wake_floor_main(void *arg)
{
    wake_floor *f = arg;
    for (;;) {
        while (sem_wait(&f->go) != 0) {
        }
        uint64_t wake = now_ns();
        if (f->stop)
            return NULL;
        f->lateness_ns = (int64_t)(wake - f->posted_ns);
        sem_post(&f->done);
    }
}

static void floor_batch(wake_floor *f, prng *rng, double *out, size_t batch)
{
    for (size_t k = 0; k < batch; k++) {
        sleep_us(prng_range(rng, GAP_MIN_US, GAP_MAX_US));
        f->posted_ns = now_ns();
        sem_post(&f->go);
        while (sem_wait(&f->done) != 0) {
        }
        out[k] = (double)f->lateness_ns / 1000.0;
    }
}

int dpc_steps(const bench_opts *opts)
{
    (void)opts;
    return 1;
}

static void print_side(const lateness_side *s)
{
    printf("%-30s %7zu %9.1f %9.1f %9.1f %9.1f %9.1f %6zu\n", s->who, s->count, s->p50, s->p90,
           s->p99, s->p999, s->max, s->early);
}

static void print_against(const char *who, const lateness_side *dpc, const lateness_side *cb)
{
    printf("%-26s p50 %+.1f us, p90 %+.1f us, p99 %.2fx of the callbacks'\n", who,
           dpc->p50 - cb->p50, dpc->p90 - cb->p90, dpc->p99 / cb->p99);
}

static void print_table(const dpc_results *res)
{
    printf("\n== DPC lateness on the real clock, us (issue to routine start; timer callbacks "
           "beside it) ==\n");
    printf("%-30s %7s %9s %9s %9s %9s %9s %6s\n", "who", "samples", "p50", "p90", "p99", "p99.9",
           "max", "early");
    print_side(&res->callback);
    print_side(&res->host);
    print_side(&res->interrupt);
    print_side(&res->floor);
    print_against("DPC (host) - callback:", &res->host, &res->callback);
    print_against("DPC (interrupt) - callback:", &res->interrupt, &res->callback);
    printf("adapter statistics, whole us: callbacks mean %.1f (max %llu, %llu fired); "
           "DPC starts mean %.1f (max %llu, %llu started)\n",
           res->stats_callback_mean_us, res->stats_callback_max_us, res->stats_fired,
           res->stats_dpc_mean_us, res->stats_dpc_max_us, res->stats_dpcs_started);
    printf("timer callback: start - (time before StorPortRequestTimer + TimerValue), TimerValue\n"
           "random in [1 ms, 5 ms], TolerableDelay 0. DPC: start - time before StorPortIssueDpc,\n"
           "issued after a random sleep in [1 ms, 5 ms], from the host thread or from an\n"
           "interrupt routine (stortimer_adapter_interrupt, handed over). floor: a bare thread\n"
           "woken by sem_post after the same sleep. One adapter; the four alternate in batches "
           "of %d.\n",
           BATCH);
}

static bool write_csv(const bench_opts *opts, const dpc_results *res)
{
    FILE *f = csv_open(opts, "dpc.csv", "who,sample_us");
    if (!f)
        return false;
    const lateness_side *sides[4] = {&res->callback, &res->host, &res->interrupt, &res->floor};
    for (int i = 0; i < 4; i++)
        for (size_t k = 0; k < sides[i]->count; k++)
            fprintf(f, "%s,%.3f\n", sides[i]->who, sides[i]->samples_us[k]);
    return csv_close(f, "dpc.csv");
}

static void read_statistics(PVOID ext, dpc_results *res)
{
    stortimer_stats st;
    memset(&st, 0, sizeof st);
    if (stortimer_stats_read(ext, &st) != STOR_STATUS_SUCCESS)
        return;
    res->stats_fired = st.fired;
    res->stats_dpcs_started = st.dpcs_started;
    res->stats_callback_max_us = st.lateness_max_us;
    res->stats_dpc_max_us = st.dpc_lateness_max_us;
    res->stats_callback_mean_us = st.fired ? (double)st.lateness_total_us / (double)st.fired : 0;
    res->stats_dpc_mean_us =
        st.dpcs_started ? (double)st.dpc_lateness_total_us / (double)st.dpcs_started : 0;
}

bool run_dpc(const bench_opts *opts, dpc_results *res)
{
    size_t samples = opts->quick ? 400 : 2000;
    progress_step("DPC lateness beside timer callbacks, %zu samples each", samples);
    res->callback = (lateness_side){.who = "timer callback (delay 0)"};
    res->host = (lateness_side){.who = "DPC, issued by a host thread"};
    res->interrupt = (lateness_side){.who = "DPC, issued in an interrupt"};
    res->floor = (lateness_side){.who = "floor (sem_post wake-up)"};
    lateness_side *sides[4] = {&res->callback, &res->host, &res->interrupt, &res->floor};
    for (int i = 0; i < 4; i++)
        sides[i]->samples_us = calloc(samples, sizeof(double));

    static dpc_bench b; /* its address is in the extension: kept alive */
    stortimer_adapter_config config = {.extension_size = 64, .clock = NULL};
    PVOID timer = NULL;
    if (stortimer_adapter_create(&config, &b.ext) != STOR_STATUS_SUCCESS ||
        StorPortInitializeTimer(b.ext, &timer) != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-bench: cannot create a real-clock adapter and timer\n");
        return false;
    }
    *(dpc_bench **)b.ext = &b;
    sem_init(&b.started, 0, 0);
    StorPortInitializeDpc(b.ext, &b.dpc, record_start);
    wake_floor fl = {.stop = false};
    sem_init(&fl.go, 0, 0);
    sem_init(&fl.done, 0, 0);
    pthread_create(&fl.thread, NULL, wake_floor_main, &fl);
    prng rng = {.state = 0xd9c01u};

    const char *failed = NULL;
    for (size_t done = 0; done < samples && !failed; done += BATCH) {
        size_t batch = samples - done < BATCH ? samples - done : BATCH;
        if (done % (BATCH * 5) == 0) {
            char phase[64];
            snprintf(phase, sizeof phase, "%zu of %zu", done, samples);
            progress_phase(phase);
        }
        if (!lateness_callback_batch(b.ext, timer, &rng, res->callback.samples_us + done, batch))
            failed = "StorPortRequestTimer";
        else if (!dpc_batch(&b, false, &rng, res->host.samples_us + done, batch))
            failed = "StorPortIssueDpc from a host thread";
        else if (!dpc_batch(&b, true, &rng, res->interrupt.samples_us + done, batch))
            failed = "StorPortIssueDpc from an interrupt routine";
        else
            floor_batch(&fl, &rng, res->floor.samples_us + done, batch);
        for (int i = 0; i < 4; i++)
            sides[i]->count = done + batch;
    }
    read_statistics(b.ext, res);
    fl.stop = true;
    sem_post(&fl.go);
    pthread_join(fl.thread, NULL);
    StorPortFreeTimer(b.ext, timer);
    stortimer_adapter_remove(b.ext, NULL);
    sem_destroy(&b.started);
    sem_destroy(&fl.go);
    sem_destroy(&fl.done);
    if (failed) {
        fprintf(stderr, "stortimer-bench: %s failed in the DPC part\n", failed);
        return false;
    }
    for (int i = 0; i < 4; i++)
        lateness_summarize(sides[i]);
    res->measured = true;
    print_table(res);
    return write_csv(opts, res);
}

void dpc_free(dpc_results *res)
{
    lateness_side *sides[4] = {&res->callback, &res->host, &res->interrupt, &res->floor};
    for (int i = 0; i < 4; i++) {
        free(sides[i]->samples_us);
        sides[i]->samples_us = NULL;
    }
}
