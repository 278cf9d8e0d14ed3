/*
 * main.c - stortimer-demo: a simulated HBA whose miniport drives its
 * port start, watchdog, command timeouts and housekeeping with the Storport
 * timer routines, hosted by stortimer on Linux.
 *
 * This file is the host, standing in for Storport and for the world: it
 * creates the adapter, submits I/O, delivers the device's interrupts, pulls
 * the drive out, and stops everything. The scenario is written once; only
 * demo_let_time_pass_until knows whether time is real (sleep) or virtual
 * (stortimer_clock_advance, which runs the due callbacks right here).
 */
#define _POSIX_C_SOURCE 200809L
#include "hba.h"
#include "stortimer.h"
#include "summary.h"
#include "timeline.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS 1000u

/* The scenario, in microseconds since start. */
#define FIRST_IO_AT_US          (300 * MS)
#define SURPRISE_REMOVAL_AT_US  (3200 * MS)
#define SHUTDOWN_AT_US          (4100 * MS)
#define IO_GAP_MIN_US           (20 * MS)
#define IO_GAP_SPREAD_US        (20 * MS)
#define LOSE_EVERY              17           /* every 17th command never completes */
#define DEMO_SEED               1234u  /* one I/O is in flight at the removal */

/* How time passes: small virtual steps, or sleeps short enough to print as we go. */
#define VIRTUAL_STEP_US         (1 * MS)
#define REAL_SLICE_US           (50 * MS)

typedef struct demo_host {
    bool virtual_time, quiet;
    stortimer_clock *clock;      /* NULL: real time */
    sim_device *device;
    PVOID extension;
    unsigned random;             /* xorshift32: I/O spacing */
    ULONG io_submitted;
} demo_host;

static unsigned demo_random(demo_host *host)
{
    host->random ^= host->random << 13;
    host->random ^= host->random >> 17;
    host->random ^= host->random << 5;
    return host->random;
}

static void demo_sleep_until(ULONGLONG absolute_us)
{
    struct timespec ts = {(time_t)(absolute_us / 1000000u),
                          (long)(absolute_us % 1000000u) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Lets time pass until `until_us` (since start), printing events as they come. */
static void demo_let_time_pass_until(demo_host *host, ULONGLONG until_us)
{
    for (ULONGLONG now = timeline_elapsed_us(); now < until_us;
         now = timeline_elapsed_us()) {
        ULONGLONG step = until_us - now;
        if (host->clock) {
            stortimer_clock_advance(host->clock, step < VIRTUAL_STEP_US ? step
                                                                        : VIRTUAL_STEP_US);
        } else {
            /* The stortimer real clock is CLOCK_MONOTONIC in microseconds. */
            demo_sleep_until(timeline_origin_us() + now +
                             (step < REAL_SLICE_US ? step : REAL_SLICE_US));
        }
        timeline_flush(stdout, !host->quiet);
    }
}

/* If the device's interrupt line is up, runs the ISR and then the DPC, as Storport would. */
static void demo_deliver_interrupt(demo_host *host)
{
    if (!sim_device_update(host->device))
        return;
    /* The ISR runs at device IRQL holding the InterruptLock... */
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(host->extension, InterruptLock, NULL, &lock);
    BOOLEAN dpc = AhciHwInterrupt(host->extension);
    StorPortReleaseSpinLock(host->extension, &lock);
    /* ...and what it cannot finish there, it leaves to its DPC. */
    if (dpc)
        AhciCompletionDpc(host->extension);
}

static ULONGLONG min_us(ULONGLONG a, ULONGLONG b)
{
    return a < b ? a : b;
}

/* Submits the next I/O if the port is up; returns when the one after is due. */
static ULONGLONG demo_submit_io(demo_host *host, ULONGLONG due_us)
{
    if (!AhciPortIsStarted(host->extension))
        return due_us + 10 * MS; /* Storport holds I/O until the port is up */
    if (host->io_submitted == 0)
        timeline_log("host", "port is up: submitting I/O every %u-%u ms until the "
                     "drive goes away", IO_GAP_MIN_US / MS,
                     (IO_GAP_MIN_US + IO_GAP_SPREAD_US) / MS);
    if (AhciHwStartIo(host->extension, host->io_submitted + 1))
        host->io_submitted++;
    return due_us + IO_GAP_MIN_US + demo_random(host) % (IO_GAP_SPREAD_US + 1);
}

static void demo_run_scenario(demo_host *host)
{
    ULONGLONG next_io_us = FIRST_IO_AT_US;
    bool removed = false;

    for (;;) {
        ULONGLONG next_us = SHUTDOWN_AT_US;
        if (!removed)
            next_us = min_us(min_us(next_us, SURPRISE_REMOVAL_AT_US), next_io_us);
        ULONGLONG device_us = sim_device_next_event_us(host->device);
        if (device_us != UINT64_MAX)
            next_us = min_us(next_us, device_us - timeline_origin_us());
        demo_let_time_pass_until(host, next_us);
        ULONGLONG now_us = timeline_elapsed_us();

        if (!removed && now_us >= SURPRISE_REMOVAL_AT_US) {
            sim_device_surprise_remove(host->device);
            removed = true;
            timeline_log("host", "*** surprise removal: the drive is pulled out "
                         "(%u command(s) in flight lost) ***",
                         sim_device_lost_in_removal(host->device));
        }
        demo_deliver_interrupt(host);
        if (!removed && now_us >= next_io_us)
            next_io_us = demo_submit_io(host, next_io_us);
        if (now_us >= SHUTDOWN_AT_US)
            return;
    }
}

static int demo_usage(FILE *out, const char *program, int status)
{
    fprintf(out,
            "usage: %s [--virtual] [--quiet] [--help]\n"
            "\n"
            "Runs a simulated HBA whose miniport uses the Storport timer routines:\n"
            "a 10 ms port-start poll, a 1 s surprise-removal watchdog, 200 ms per-I/O\n"
            "timeouts and a 250 ms HwStorTimer tick, over about 4 seconds.\n"
            "\n"
            "  --virtual  run the same scenario on a virtual clock, instantly\n"
            "  --quiet    print only the summary and the verdict\n"
            "  --help     show this text\n"
            "\n"
            "Exits 0 when every check of the verdict passes, 1 otherwise.\n",
            program);
    return status;
}

int main(int argc, char **argv)
{
    demo_host host = {.random = DEMO_SEED};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--virtual") == 0)
            host.virtual_time = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            host.quiet = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return demo_usage(stdout, argv[0], 0);
        else
            return demo_usage(stderr, argv[0], 2);
    }

    if (host.virtual_time && !(host.clock = stortimer_clock_virtual_create())) {
        fprintf(stderr, "stortimer-demo: cannot create a virtual clock\n");
        return 1;
    }
    stortimer_adapter_config config = {
        .extension_size = AhciDeviceExtensionSize(),
        .clock = host.clock,
    };
    ULONG status = stortimer_adapter_create(&config, &host.extension);
    if (status != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-demo: stortimer_adapter_create: %s\n",
                stortimer_status_name(status));
        return 1;
    }
    ULONGLONG wall_start_us = stortimer_clock_now(NULL);
    timeline_start(host.clock);
    host.device = sim_device_create(host.clock, DEMO_SEED, LOSE_EVERY);
    if (!host.device || !AhciHwFindAdapter(host.extension, host.device) ||
        !AhciHwInitialize(host.extension)) {
        timeline_flush(stderr, true);
        fprintf(stderr, "stortimer-demo: the adapter did not initialize\n");
        return 1;
    }
    if (!host.quiet)
        printf("stortimer-demo: %s; time is ms since start\n\n",
               host.virtual_time ? "virtual clock, stepped by the host"
                                 : "real time, CLOCK_MONOTONIC");

    demo_run_scenario(&host);

    stortimer_demo_summary summary = {
        .virtual_time = host.virtual_time,
        .io_submitted = host.io_submitted,
        .io_lost_in_removal = sim_device_lost_in_removal(host.device),
        .leaked_timers = (ULONG)-1, /* so that "not reported" cannot pass for 0 */
    };
    timeline_log("host", "shutdown: HwAdapterControl(ScsiStopAdapter)");
    AhciHwStopAdapter(host.extension);
    AhciQueryStatistics(host.extension, &summary.miniport);
    summary.adapter_time_us = timeline_elapsed_us();
    summary.remove_status = stortimer_adapter_remove(host.extension, &summary.leaked_timers);
    timeline_log("host", "stortimer_adapter_remove: %s, leaked_timers = %u",
                 stortimer_status_name(summary.remove_status), summary.leaked_timers);
    timeline_flush(stdout, !host.quiet);
    summary.wall_time_us = stortimer_clock_now(NULL) - wall_start_us;

    /* After removal the adapter's counters live on in the process totals. */
    stortimer_stats_read(NULL, &summary.counted_by_stortimer);
    if (summary.miniport.PortStartedAtUs)
        summary.port_started_us = summary.miniport.PortStartedAtUs - timeline_origin_us();
    summary.events_dropped = timeline_dropped();
    bool ok = stortimer_demo_summary_print(stdout, &summary);

    sim_device_destroy(host.device);
    stortimer_clock_destroy(host.clock);
    return ok ? 0 : 1;
}
