/*
 * summary.c - what happened, in numbers, and whether it was right.
 *
 * Two independent accounts are compared: the miniport's own (it measured
 * each callback's lateness against the due time it computed when arming)
 * and the library's statistics. The verdict is computed from them, never
 * assumed, and the exit status follows it.
 */
#include "summary.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    ULONGLONG window_us;          /* TolerableDelay the miniport asked for */
} timer_kinds[AhciTimerKinds] = {
    [AhciTimerPortStart] = {"port start", 0},
    [AhciTimerWatchdog] = {"watchdog", 0},
    [AhciTimerIoTimeout] = {"I/O timeout", AHCI_IO_TIMEOUT_SLACK_US},
    [AhciTimerHwStorTimer] = {"HwStorTimer", 0},  /* the legacy timer has no window */
};

static int compare_longlong(const void *a, const void *b)
{
    LONGLONG x = *(const LONGLONG *)a, y = *(const LONGLONG *)b;
    return (x > y) - (x < y);
}

/* Prints one lateness row; returns its maximum (0 when there are no samples). */
static LONGLONG print_lateness_row(FILE *out, AHCI_TIMER_KIND kind,
                                   const AHCI_LATENESS *lateness)
{
    ULONG n = lateness->Count < AHCI_LATENESS_SAMPLES ? lateness->Count
                                                      : AHCI_LATENESS_SAMPLES;
    fprintf(out, "                %-12s %8llu us %5u", timer_kinds[kind].name,
            (unsigned long long)timer_kinds[kind].window_us, lateness->Count);
    if (n == 0) {
        fprintf(out, "        -        -        -\n");
        return 0;
    }
    LONGLONG sorted[AHCI_LATENESS_SAMPLES];
    memcpy(sorted, lateness->SamplesUs, n * sizeof sorted[0]);
    qsort(sorted, n, sizeof sorted[0], compare_longlong);
    fprintf(out, " %8lld %8lld %8lld\n", (long long)sorted[0], (long long)sorted[n / 2],
            (long long)sorted[n - 1]);
    return sorted[n - 1];
}

/* Appends one verdict clause, marking failures. */
static void verdict_add(char *verdict, size_t size, bool *all_ok, bool ok,
                        const char *pass, const char *fail)
{
    size_t used = strlen(verdict);
    snprintf(verdict + used, size - used, "%s%s", used ? "; " : "", ok ? pass : fail);
    *all_ok = *all_ok && ok;
}

bool stortimer_demo_summary_print(FILE *out, const stortimer_demo_summary *s)
{
    const AHCI_DEMO_STATISTICS *m = &s->miniport;
    const stortimer_stats *lib = &s->counted_by_stortimer;
    ULONG callbacks = 0, early = 0;
    for (int k = 0; k < AhciTimerKinds; k++) {
        callbacks += m->Lateness[k].Count;
        early += m->Lateness[k].Early;
    }

    fprintf(out, "\nsummary (%s): %.1f ms of adapter time in %.1f ms of wall time\n",
            s->virtual_time ? "virtual clock" : "real time, CLOCK_MONOTONIC",
            (double)s->adapter_time_us / 1000.0, (double)s->wall_time_us / 1000.0);
    fprintf(out, "  timers      %u initialized, %u freed (%s), %u leaked at removal\n",
            m->TimersInitialized, m->TimersFreed,
            m->WatchdogFreedItself ? "1 by its own callback" : "none by a callback",
            s->leaked_timers);
    fprintf(out, "  callbacks   %u: %u port start, %u watchdog, %u I/O timeout, "
            "%u HwStorTimer (stortimer counted %llu, %llu legacy)\n", callbacks,
            m->Lateness[AhciTimerPortStart].Count, m->Lateness[AhciTimerWatchdog].Count,
            m->Lateness[AhciTimerIoTimeout].Count, m->Lateness[AhciTimerHwStorTimer].Count,
            (unsigned long long)lib->fired, (unsigned long long)lib->legacy_fired);
    fprintf(out, "  I/O         %u submitted: %u completed, %u timed out (%u lost in the "
            "surprise removal), %u aborted at stop\n", s->io_submitted, m->IoCompleted,
            m->IoTimedOut, s->io_lost_in_removal, m->IoAbortedAtStop);
    fprintf(out, "  timeouts    %u cancelled by their completion (stortimer: %llu arms "
            "cancelled in all, %llu armed)\n", m->TimeoutsCancelled,
            (unsigned long long)lib->cancelled, (unsigned long long)lib->armed);
    fprintf(out, "  port start  %u polls, port up at %.3f ms; %u BUSY answers taken as "
            "\"already pending\" (stortimer: %llu)\n", m->PortStartPolls,
            (double)s->port_started_us / 1000.0, m->PortStartBusy,
            (unsigned long long)lib->busy);
    fprintf(out, "  lateness    fire time minus due time, measured by the miniport (us):\n"
            "                kind           window     n      min   median      max\n");
    LONGLONG zero_window_max = 0;
    for (int k = 0; k < AhciTimerKinds; k++) {
        LONGLONG max = print_lateness_row(out, (AHCI_TIMER_KIND)k, &m->Lateness[k]);
        if (timer_kinds[k].window_us == 0 && max > zero_window_max)
            zero_window_max = max;
    }
    fprintf(out, "              stortimer's own view: max %llu us, mean %.1f us\n",
            (unsigned long long)lib->lateness_max_us,
            lib->fired ? (double)lib->lateness_total_us / (double)lib->fired : 0.0);
    if (s->virtual_time)
        fprintf(out, "  wake-ups    n/a on a virtual clock: callbacks ran inside "
                "stortimer_clock_advance, on the host thread\n");
    else
        fprintf(out, "  wake-ups    %llu dispatcher wake-ups for %llu callbacks (an arm "
                "that moves the next\n              deadline earlier wakes it too; a "
                "window lets several callbacks share one)\n",
                (unsigned long long)lib->wakeups, (unsigned long long)lib->fired);
    if (s->events_dropped)
        fprintf(out, "  timeline    %u events did not fit in the log\n", s->events_dropped);

    char verdict[512] = "";
    bool ok = true;
    verdict_add(verdict, sizeof verdict, &ok, early == 0, "no callback ran early",
                "SOME CALLBACKS RAN EARLY");
    verdict_add(verdict, sizeof verdict, &ok,
                s->remove_status == STOR_STATUS_SUCCESS && s->leaked_timers == 0 &&
                    m->TimersFreed == m->TimersInitialized && lib->timers_live == 0 &&
                    lib->timers_freed == lib->timers_initialized,
                "every timer accounted for", "TIMERS LEAKED OR MISCOUNTED");
    verdict_add(verdict, sizeof verdict, &ok,
                lib->fired == callbacks && lib->busy == m->PortStartBusy,
                "stortimer and the miniport agree on callbacks and BUSY answers",
                "STORTIMER AND THE MINIPORT DISAGREE ON CALLBACKS OR BUSY");
    verdict_add(verdict, sizeof verdict, &ok,
                s->io_submitted == m->IoCompleted + m->IoTimedOut + m->IoAbortedAtStop,
                "every I/O accounted for", "I/O UNACCOUNTED FOR");
    if (s->virtual_time)
        verdict_add(verdict, sizeof verdict, &ok, zero_window_max == 0,
                    "zero-window timers fired exactly on time",
                    "ZERO-WINDOW TIMERS FIRED LATE ON A VIRTUAL CLOCK");
    fprintf(out, "\nverdict: %s%s\n", ok ? "" : "FAILED: ", verdict);
    return ok;
}
