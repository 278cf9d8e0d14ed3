/*
 * main.c - stortimer-demo: a simulated HBA whose miniport (the example
 * patterns of ../miniport/, put together in hba.c) drives its port start,
 * watchdog, link power, command timeouts and recovery with the Storport
 * timer routines, finishes its interrupts in a DPC, pauses the adapter
 * while it resets the HBA, and stamps its history with the system time,
 * hosted by stortimer on Linux.
 *
 * This file is the host, standing in for Storport and for the world: it
 * creates the adapter, submits I/O (holding it while the adapter is
 * paused), delivers the device's interrupts, makes the HBA report a fatal
 * error, pulls the drive out, and stops everything. The scenario is written once; only
 * demo_let_time_pass_until knows whether time is real (sleep) or virtual
 * (the clock is run from event to event, callbacks running right here).
 */
#define _POSIX_C_SOURCE 200809L
#include "device.h"
#include "hba.h"
#include "miniport_trace.h"
#include "sim_devices.h"
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
#define IDLE_FROM_US            (2200 * MS)  /* the host sends nothing for a while: */
#define IDLE_UNTIL_US           (2700 * MS)  /* the link goes to Partial, then Slumber */
#define FATAL_ERROR_AT_US       (1800 * MS)  /* the HBA reports an interface fatal error */
#define SURPRISE_REMOVAL_AT_US  (3900 * MS)  /* the watchdog notices at its 4 s tick */
#define SHUTDOWN_AT_US          (4200 * MS)
#define AFTER_STOP_US           (300 * MS)   /* time that passes before removal: a timer
                                                the stop missed would fire in it */
#define IO_GAP_MIN_US           (20 * MS)
#define IO_GAP_SPREAD_US        (20 * MS)
#define LOSE_COMMAND            17           /* the drive swallows the 17th command */
#define DEMO_SEED               1234u

/* Real time passes in slices: interrupts are delivered, and events printed, between them. */
#define REAL_SLICE_US           (5 * MS)

typedef struct demo_host {
    bool virtual_time, quiet;
    const char *trace_path;
    stortimer_clock *clock;      /* NULL: real time */
    demo_device *device;
    hw_model *hba;
    PVOID extension;
    unsigned random;             /* xorshift32: I/O spacing */
    ULONG io_submitted;
    ULONG io_held;               /* submissions held back: the adapter was paused */
    bool holding;                /* the last submission was held */
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

/* If the HBA's interrupt line is up, runs the ISR, as Storport would; the
 * ISR queues its DPC, which runs on the adapter's dispatcher thread. */
static void demo_deliver_interrupt(demo_host *host)
{
    if (!hw_model_interrupt_asserted(host->hba))
        return;
    stortimer_adapter_interrupt(host->extension, HbaHwInterrupt, NULL);
}

/* Lets time pass until `until_us` (since start), delivering interrupts and printing. */
static void demo_let_time_pass_until(demo_host *host, ULONGLONG until_us)
{
    if (host->clock) {
        /* From timer fire time to device change and back, interrupts included. */
        hw_model_run_until(host->hba, timeline_origin_us() + until_us, host->extension,
                           HbaHwInterrupt, NULL);
        timeline_flush(stdout, !host->quiet);
        return;
    }
    for (ULONGLONG now = timeline_elapsed_us(); now < until_us; now = timeline_elapsed_us()) {
        ULONGLONG step = until_us - now < REAL_SLICE_US ? until_us - now : REAL_SLICE_US;
        /* The stortimer real clock is CLOCK_MONOTONIC in microseconds. */
        demo_sleep_until(timeline_origin_us() + now + step);
        demo_deliver_interrupt(host);
        timeline_flush(stdout, !host->quiet);
    }
}

/* Submits the next I/O if the port is up; returns when the one after is due. */
static ULONGLONG demo_submit_io(demo_host *host, ULONGLONG due_us)
{
    if (due_us >= IDLE_FROM_US && due_us < IDLE_UNTIL_US) {
        timeline_log("host", "no I/O for %u ms", (unsigned)((IDLE_UNTIL_US - due_us) / MS));
        return IDLE_UNTIL_US;
    }
    stortimer_pause_state pause = {0};
    stortimer_adapter_pause_state(host->extension, &pause);
    if (pause.paused) {
        /* Storport holds I/O while the miniport has the adapter paused. */
        if (!host->holding)
            timeline_log("host", "adapter paused (StorPortPause): holding I/O");
        host->holding = true;
        host->io_held++;
        return due_us + 10 * MS;
    }
    if (host->holding)
        timeline_log("host", "adapter resumed: I/O flows again (%u submissions were held)",
                     host->io_held);
    host->holding = false;
    if (!HbaPortIsStarted(host->extension))
        return due_us + 10 * MS; /* Storport holds I/O until the port is up */
    if (host->io_submitted == 0)
        timeline_log("host", "port is up: submitting I/O every %u-%u ms",
                     IO_GAP_MIN_US / MS, (IO_GAP_MIN_US + IO_GAP_SPREAD_US) / MS);
    if (HbaHwStartIo(host->extension, host->io_submitted + 1))
        host->io_submitted++;
    return due_us + IO_GAP_MIN_US + demo_random(host) % (IO_GAP_SPREAD_US + 1);
}

/* The host's own events: the HBA's fatal error, the drive pulled out. */
static void demo_world_event(demo_host *host, ULONGLONG now_us, bool *fatal_done, bool *removed)
{
    if (!*fatal_done && now_us >= FATAL_ERROR_AT_US) {
        /* A command goes out, and the HBA fails while it is in flight:
         * the reset will abort it. */
        if (HbaHwStartIo(host->extension, host->io_submitted + 1))
            host->io_submitted++;
        sim_ahci_fatal_error_at(host->hba, stortimer_clock_now(host->clock), 0);
        *fatal_done = true;
        timeline_log("host", "*** the HBA reports an interface fatal error on port 0, with "
                     "I/O in flight ***");
    }
    if (!*removed && now_us >= SURPRISE_REMOVAL_AT_US) {
        /* One last command goes out, and the drive is pulled while it
         * is in flight: only the watchdog can end it now. */
        if (HbaHwStartIo(host->extension, host->io_submitted + 1))
            host->io_submitted++;
        hw_model_remove_at(host->hba, stortimer_clock_now(host->clock));
        *removed = true;
        timeline_log("host", "*** surprise removal: the drive is pulled out with I/O in "
                     "flight ***");
    }
}

static void demo_run_scenario(demo_host *host)
{
    ULONGLONG next_io_us = FIRST_IO_AT_US;
    bool fatal_done = false, removed = false;

    for (;;) {
        ULONGLONG next_us = SHUTDOWN_AT_US;
        if (!removed)
            next_us = next_io_us < SURPRISE_REMOVAL_AT_US ? next_io_us : SURPRISE_REMOVAL_AT_US;
        if (!fatal_done && FATAL_ERROR_AT_US < next_us)
            next_us = FATAL_ERROR_AT_US;
        demo_let_time_pass_until(host, next_us);
        ULONGLONG now_us = timeline_elapsed_us();

        bool was_removed = removed;
        demo_world_event(host, now_us, &fatal_done, &removed);
        if (!was_removed && !removed && now_us >= next_io_us)
            next_io_us = demo_submit_io(host, next_io_us);
        if (now_us >= SHUTDOWN_AT_US)
            return;
    }
}

/* Names the adapter and its timers in stortimer's event log and trace. */
static void demo_name_timers(demo_host *host, HBA_TIMER_HANDLES *handles)
{
    HbaQueryTimerHandles(host->extension, handles);
    stortimer_log_name(host->extension, NULL, "HBA 0");
    stortimer_log_name(host->extension, handles->PortStart, "port 0 start poll");
    stortimer_log_name(host->extension, handles->Watchdog, "surprise-removal watchdog");
    stortimer_log_name(host->extension, handles->LinkIdle, "link 0 idle");
    for (ULONG slot = 0; slot < HBA_SLOTS; slot++) {
        char name[32];
        snprintf(name, sizeof name, "slot %u I/O timeout", slot);
        stortimer_log_name(host->extension, handles->IoTimeout[slot], name);
    }
}

/* When the port came up, as the HBA saw it: PxCMD written with ST set after
 * a write without it (the link power requests keep ST as it is). */
static void demo_port_ups(demo_host *host, stortimer_demo_summary *summary)
{
    static hw_write writes[2048];
    size_t n = hw_model_writes(host->hba, writes, 2048);
    bool started = false;
    for (size_t i = 0; i < n && summary->port_ups < 4; i++) {
        if (writes[i].offset != AHCI_PORT(0, AHCI_PxCMD))
            continue;
        bool st = (writes[i].value & AHCI_PxCMD_ST) != 0;
        if (st && !started)
            summary->port_up_us[summary->port_ups++] = writes[i].at - timeline_origin_us();
        started = st;
    }
}

static int demo_usage(FILE *out, const char *program, int status)
{
    fprintf(out,
            "usage: %s [--virtual] [--quiet] [--trace FILE] [--help]\n"
            "\n"
            "Runs a simulated HBA whose miniport uses the Storport timer routines:\n"
            "a 10 ms port-start poll, a 250 ms surprise-removal watchdog, a link idle\n"
            "timer with a 20 ms TolerableDelay, 200 ms per-I/O timeouts, completions\n"
            "in a DPC, and HBA resets driven by the legacy HwStorTimer under\n"
            "StorPortSynchronizeAccess with the adapter paused, over about 4.5 seconds.\n"
            "\n"
            "  --virtual     run the same scenario on a virtual clock, instantly\n"
            "  --quiet       print only the summary and the verdict\n"
            "  --trace FILE  write a Chrome trace of the run (open it in ui.perfetto.dev)\n"
            "  --help        show this text\n"
            "\n"
            "Exits 0 when every check of the verdict passes, 1 otherwise,\n"
            "2 for an unknown option.\n",
            program);
    return status;
}

static int demo_parse(demo_host *host, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--virtual") == 0)
            host->virtual_time = true;
        else if (strcmp(argv[i], "--quiet") == 0)
            host->quiet = true;
        else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
            host->trace_path = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return demo_usage(stdout, argv[0], 0);
        else {
            if (strcmp(argv[i], "--trace") == 0)
                fprintf(stderr, "stortimer-demo: option --trace needs a FILE\n");
            else
                fprintf(stderr, "stortimer-demo: unknown option '%s'\n", argv[i]);
            return demo_usage(stderr, argv[0], 2);
        }
    }
    return -1;
}

static bool demo_start(demo_host *host)
{
    if (host->virtual_time && !(host->clock = stortimer_clock_virtual_create())) {
        fprintf(stderr, "stortimer-demo: cannot create a virtual clock\n");
        return false;
    }
    /* The host thread runs miniport code too (HwInitialize, the ISR, the
     * stop): bound to the adapter's clock, its StorPortQuerySystemTime
     * reads that clock, not the real one (SPEC S13.1). */
    stortimer_thread_bind_clock(host->clock);
    ULONG status = stortimer_log_start(0);
    if (status != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-demo: stortimer_log_start: %s\n",
                stortimer_status_name(status));
        return false;
    }
    MiniportTraceSink = timeline_vlog;
    stortimer_adapter_config config = {
        .extension_size = HbaDeviceExtensionSize(),
        .clock = host->clock,
    };
    status = stortimer_adapter_create(&config, &host->extension);
    if (status != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stortimer-demo: stortimer_adapter_create: %s\n",
                stortimer_status_name(status));
        return false;
    }
    timeline_start(host->clock);
    host->device = demo_device_create(host->clock, DEMO_SEED, LOSE_COMMAND);
    host->hba = host->device ? demo_device_hba(host->device) : NULL;
    if (!host->hba || !HbaHwFindAdapter(host->extension, host->hba) ||
        !HbaHwInitialize(host->extension)) {
        timeline_flush(stderr, true);
        fprintf(stderr, "stortimer-demo: the adapter did not initialize\n");
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    demo_host host = {.random = DEMO_SEED};
    int parsed = demo_parse(&host, argc, argv);
    if (parsed >= 0)
        return parsed;
    ULONGLONG wall_start_us = stortimer_clock_now(NULL);
    if (!demo_start(&host))
        return 1;
    stortimer_demo_summary summary = {
        .virtual_time = host.virtual_time,
        .extension = host.extension,
        .origin_us = timeline_origin_us(),
        .leaked_timers = (ULONG)-1, /* so that "not reported" cannot pass for 0 */
    };
    demo_name_timers(&host, &summary.handles);
    if (!host.quiet)
        printf("stortimer-demo: %s; time is ms since start\n\n",
               host.virtual_time ? "virtual clock, run from event to event"
                                 : "real time, CLOCK_MONOTONIC");

    demo_run_scenario(&host);

    timeline_log("host", "shutdown: HwAdapterControl(ScsiStopAdapter)");
    HbaHwStopAdapter(host.extension);
    summary.events_at_stop = stortimer_log_count();
    demo_let_time_pass_until(&host, SHUTDOWN_AT_US + AFTER_STOP_US);
    HbaQueryStatistics(host.extension, &summary.miniport);
    stortimer_adapter_pause_state(host.extension, &summary.pause_at_end);
    summary.io_submitted = host.io_submitted;
    summary.io_held = host.io_held;
    summary.adapter_time_us = timeline_elapsed_us();
    summary.remove_status = stortimer_adapter_remove(host.extension, &summary.leaked_timers);
    timeline_log("host", "stortimer_adapter_remove: %s, leaked_timers = %u",
                 stortimer_status_name(summary.remove_status), summary.leaked_timers);
    timeline_flush(stdout, !host.quiet);
    summary.wall_time_us = stortimer_clock_now(NULL) - wall_start_us;

    /* After removal the adapter's counters live on in the process totals. */
    stortimer_stats_read(NULL, &summary.counted_by_stortimer);
    demo_port_ups(&host, &summary);
    summary.timeline_dropped = timeline_dropped();
    bool ok = stortimer_demo_summary_print(stdout, &summary);
    if (host.trace_path) {
        ULONG status = stortimer_trace_write(host.trace_path);
        printf("trace: %s %s\n", host.trace_path, status == STOR_STATUS_SUCCESS
               ? "written (open it in https://ui.perfetto.dev)" : "could not be written");
        ok = ok && status == STOR_STATUS_SUCCESS;
    }

    demo_device_destroy(host.device);
    stortimer_clock_destroy(host.clock);
    return ok ? 0 : 1;
}
