/*
 * test_ready_wait.c - the tutorial's test (docs/testing-miniports.md): the
 * miniport's ready wait, run in virtual time. Each scenario is a function;
 * main runs them all. Run with a file name to also write the trace of the
 * timeout scenario there, for Perfetto.
 */
#include "ready_wait.h"

#include <stortimer.h>
#include <stdio.h>
#include <stdlib.h>

#define MS 1000u

/* Stops the program at the first failed check, saying where. */
#define EXPECT(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                          \
        }                                                                     \
    } while (0)

/* A virtual clock and one adapter on it, as Storport would give us. */
typedef struct host {
    stortimer_clock *clock;
    PHW_DEVICE_EXTENSION adapter;
} host;

static host host_start(void)
{
    host h = {.clock = stortimer_clock_virtual_create()};
    EXPECT(h.clock != NULL);
    stortimer_adapter_config config = {
        .extension_size = sizeof(HW_DEVICE_EXTENSION),
        .clock = h.clock,
    };
    PVOID extension = NULL;
    EXPECT(stortimer_adapter_create(&config, &extension) == STOR_STATUS_SUCCESS);
    h.adapter = extension;
    return h;
}

static void host_stop(host *h)
{
    NvmeStopReadyWait(h->adapter);
    ULONG leaked = 0;
    EXPECT(stortimer_adapter_remove(h->adapter, &leaked) == STOR_STATUS_SUCCESS);
    EXPECT(leaked == 0);
    stortimer_clock_destroy(h->clock);
}

/* The controller comes up at 125 ms: the poll at 130 ms sees it. */
static void ready_is_seen_at_the_next_poll(void)
{
    host h = host_start();
    NVME_REGISTERS registers = {.Csts = 0, .CapTimeout = 2};
    NvmeStartReadyWait(h.adapter, &registers);

    stortimer_clock_advance_to(h.clock, 125 * MS);
    EXPECT(h.adapter->State == ReadyWaiting);
    EXPECT(h.adapter->Polls == 12);
    registers.Csts = NVME_CSTS_RDY;

    EXPECT(stortimer_clock_run_until_idle(h.clock, 60 * 1000 * MS) == STOR_STATUS_SUCCESS);
    EXPECT(h.adapter->State == ReadyDone);
    EXPECT(stortimer_clock_now(h.clock) == 130 * MS);
    EXPECT(h.adapter->Polls == 13);
    host_stop(&h);
}

/* Never ready: it gives up at CAP.TO x 500 ms exactly, after 100 polls. */
static void never_ready_times_out_at_cap_to(const char *trace_path)
{
    EXPECT(stortimer_log_start(0) == STOR_STATUS_SUCCESS);
    host h = host_start();
    NVME_REGISTERS registers = {.Csts = 0, .CapTimeout = 2};
    NvmeStartReadyWait(h.adapter, &registers);
    stortimer_log_name(h.adapter, NULL, "NVMe controller 0");
    stortimer_log_name(h.adapter, h.adapter->ReadyTimer, "CSTS.RDY poll");

    EXPECT(stortimer_clock_run_until_idle(h.clock, 60 * 1000 * MS) == STOR_STATUS_SUCCESS);
    EXPECT(h.adapter->State == ReadyTimedOut);
    EXPECT(stortimer_clock_now(h.clock) == 1000 * MS);
    EXPECT(h.adapter->Polls == 100);

    /* The log says the same, poll by poll: every 10 ms, at DISPATCH_LEVEL. */
    stortimer_event event;
    ULONG fired = 0;
    for (size_t i = 0; stortimer_log_read(&event, i, 1) == 1; i++) {
        if (event.type != STORTIMER_EVENT_FIRED)
            continue;
        fired++;
        EXPECT(event.time == fired * 10 * MS);
        EXPECT(event.irql == DISPATCH_LEVEL);
        EXPECT(event.handle == h.adapter->ReadyTimer);
    }
    EXPECT(fired == 100);
    if (trace_path)
        EXPECT(stortimer_trace_write(trace_path) == STOR_STATUS_SUCCESS);
    stortimer_log_stop();
    host_stop(&h);
}

/* A fatal status ends the wait at once, with no further poll. */
static void fatal_status_stops_the_polls(void)
{
    host h = host_start();
    NVME_REGISTERS registers = {.Csts = NVME_CSTS_CFS, .CapTimeout = 2};
    NvmeStartReadyWait(h.adapter, &registers);
    EXPECT(stortimer_clock_run_until_idle(h.clock, 60 * 1000 * MS) == STOR_STATUS_SUCCESS);
    EXPECT(h.adapter->State == ReadyFailed);
    EXPECT(h.adapter->Polls == 1);
    stortimer_stats stats;
    EXPECT(stortimer_stats_read(h.adapter, &stats) == STOR_STATUS_SUCCESS);
    EXPECT(stats.fired == 1 && stats.timers_pending == 0);
    host_stop(&h);
}

int main(int argc, char **argv)
{
    ready_is_seen_at_the_next_poll();
    never_ready_times_out_at_cap_to(argc > 1 ? argv[1] : NULL);
    fatal_status_stops_the_polls();
    printf("ready wait: 3 scenarios passed\n");
    return 0;
}
