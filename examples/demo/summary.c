/*
 * summary.c - what happened, in numbers, and whether it was right.
 *
 * Three accounts are compared: the miniport's own counters, stortimer's
 * statistics, and stortimer's event log, read back callback by callback
 * (each FIRED event carries its due time, each DPC start its issue time,
 * each pause end its reason). The verdict is computed from them, never
 * assumed, and the exit status follows it.
 */
#include "summary.h"

#include "summary_dpc.h"

#include <stdlib.h>
#include <string.h>

enum { KIND_PORT, KIND_WATCHDOG, KIND_LINK, KIND_IO, KIND_LEGACY, KINDS };

static const struct {
    const char *name;
    ULONGLONG window_us;          /* TolerableDelay the miniport asks for */
} kinds[KINDS] = {
    [KIND_PORT] = {"port start", 0},
    [KIND_WATCHDOG] = {"watchdog", 0},
    [KIND_LINK] = {"link idle", LINK_IDLE_TOLERANCE_US},
    [KIND_IO] = {"I/O timeout", HBA_IO_TIMEOUT_SLACK_US},
    [KIND_LEGACY] = {"HwStorTimer", 0},  /* the legacy timer has no window */
};

/* The callbacks of the run, as the event log has them. */
typedef struct log_view {
    LONGLONG *lateness[KINDS];    /* fire time minus due time, us */
    ULONG count[KINDS];
    ULONG fired, early, outside_window, after_stop;
    bool complete;                /* nothing dropped, nothing unreadable */
} log_view;

static int kind_of(const stortimer_demo_summary *s, const stortimer_event *e)
{
    if (e->extension != s->extension)
        return -1;
    if (e->legacy)
        return KIND_LEGACY;
    if (e->handle == s->handles.PortStart)
        return KIND_PORT;
    if (e->handle == s->handles.Watchdog)
        return KIND_WATCHDOG;
    if (e->handle == s->handles.LinkIdle)
        return KIND_LINK;
    return KIND_IO;
}

static bool log_view_read(log_view *v, const stortimer_demo_summary *s)
{
    memset(v, 0, sizeof *v);
    size_t n = stortimer_log_count();
    stortimer_event *events = calloc(n ? n : 1, sizeof *events);
    for (int k = 0; k < KINDS; k++)
        v->lateness[k] = calloc(n ? n : 1, sizeof(LONGLONG));
    bool allocated = events != NULL;
    for (int k = 0; k < KINDS; k++)
        allocated = allocated && v->lateness[k] != NULL;
    if (!allocated) {
        free(events);
        return false;
    }
    v->complete = stortimer_log_read(events, 0, n) == n && stortimer_log_dropped() == 0;
    for (size_t i = 0; i < n; i++) {
        const stortimer_event *e = &events[i];
        int k = kind_of(s, e);
        if (e->type != STORTIMER_EVENT_FIRED || k < 0)
            continue;
        v->fired++;
        v->lateness[k][v->count[k]++] = (LONGLONG)(e->time - e->due);
        v->early += e->time < e->due;
        /* On a virtual clock nothing delays a callback past its window. */
        v->outside_window += e->time > e->due + kinds[k].window_us ||
                             (kinds[k].window_us == 0 && e->time != e->due);
        v->after_stop += i >= s->events_at_stop;
    }
    free(events);
    return true;
}

static void log_view_free(log_view *v)
{
    for (int k = 0; k < KINDS; k++)
        free(v->lateness[k]);
}

static int compare_longlong(const void *a, const void *b)
{
    LONGLONG x = *(const LONGLONG *)a, y = *(const LONGLONG *)b;
    return (x > y) - (x < y);
}

static void print_lateness_row(FILE *out, int k, log_view *v)
{
    ULONG n = v->count[k];
    fprintf(out, "                %-12s %8llu us %5u", kinds[k].name,
            (unsigned long long)kinds[k].window_us, n);
    if (n == 0) {
        fprintf(out, "        -        -        -\n");
        return;
    }
    qsort(v->lateness[k], n, sizeof(LONGLONG), compare_longlong);
    fprintf(out, " %8lld %8lld %8lld\n", (long long)v->lateness[k][0],
            (long long)v->lateness[k][n / 2], (long long)v->lateness[k][n - 1]);
}

/* Appends one verdict clause, marking failures. */
static void verdict_add(char *verdict, size_t size, bool *all_ok, bool ok,
                        const char *pass, const char *fail)
{
    size_t used = strlen(verdict);
    snprintf(verdict + used, size - used, "%s%s", used ? "; " : "", ok ? pass : fail);
    *all_ok = *all_ok && ok;
}

/* The callbacks the miniport counted itself, all kinds. */
static ULONG miniport_callbacks(const HBA_STATISTICS *m)
{
    return m->Port.TimerCallbacks + m->Watchdog.Ticks + m->Link.IdleTimerCallbacks +
           m->Io.TimeoutCallbacks + m->Reinit.Steps;
}

static void print_counts(FILE *out, const stortimer_demo_summary *s, const log_view *v)
{
    const HBA_STATISTICS *m = &s->miniport;
    const stortimer_stats *lib = &s->counted_by_stortimer;
    BOOLEAN self_freed = m->Watchdog.FreeStatus == STOR_STATUS_SUCCESS && m->Watchdog.Ticks;
    fprintf(out, "  timers      %u initialized, %u freed by the stop (cancelled first), %u by "
            "its own callback; %u leaked at removal\n", m->TimersInitialized, m->Timers.Freed,
            self_freed ? 1 : 0, s->leaked_timers);
    fprintf(out, "  callbacks   %u: %u port start, %u watchdog, %u link idle, %u I/O timeout, "
            "%u HwStorTimer (stortimer counted %llu, %llu legacy; its log %u)\n",
            miniport_callbacks(m), m->Port.TimerCallbacks, m->Watchdog.Ticks, m->Link.IdleTimerCallbacks,
            m->Io.TimeoutCallbacks, m->Reinit.Steps, (unsigned long long)lib->fired,
            (unsigned long long)lib->legacy_fired, v->fired);
    fprintf(out, "  port start  port up at");
    for (unsigned i = 0; i < s->port_ups; i++)
        fprintf(out, "%s %.3f ms", i ? "," : "", (double)s->port_up_us[i] / 1000.0);
    fprintf(out, "; %u BUSY answers taken as \"already pending\"\n",
            m->Port.PollBusy + m->Port.KickBusy);
    fprintf(out, "  reinit      %u requested (%u by an I/O timeout, %u by the DPC after a fatal "
            "error), %u done, %u failed\n              (HwStorTimer steps: %u, each under "
            "StorPortSynchronizeAccess); %u paused, %u resumed\n", m->Reinit.Requests,
            m->Reinit.Requests - m->FatalErrors, m->FatalErrors, m->Reinit.Completed,
            m->Reinit.Failed, m->Reinit.Steps, m->Reinit.Pauses, m->Reinit.Resumes);
    fprintf(out, "  link power  %u to Partial, %u to Slumber, %u woken by I/O; %u I/O found "
            "the idle timer pending (BUSY, cancel, re-arm)\n", m->Link.ToPartial,
            m->Link.ToSlumber, m->Link.Wakeups, m->Link.Rearms);
    fprintf(out, "  I/O         %u submitted: %u completed, %u timed out, %u aborted by the "
            "reset, %u failed at removal, %u aborted at stop\n", s->io_submitted,
            m->Io.Completed, m->Io.TimedOut, m->Io.AbortedByReset, m->Io.FailedByRemoval,
            m->Io.AbortedAtStop);
    fprintf(out, "  stortimer   %llu arms, %llu cancelled, %llu BUSY answers\n",
            (unsigned long long)lib->armed, (unsigned long long)lib->cancelled,
            (unsigned long long)lib->busy);
}

bool stortimer_demo_summary_print(FILE *out, const stortimer_demo_summary *s)
{
    const HBA_STATISTICS *m = &s->miniport;
    const stortimer_stats *lib = &s->counted_by_stortimer;
    log_view v;
    bool read = log_view_read(&v, s);

    if (s->virtual_time) /* the wall time, which varies, would make two runs differ */
        fprintf(out, "\nsummary (virtual clock): %.1f ms of adapter time in %s of wall time\n",
                (double)s->adapter_time_us / 1000.0,
                s->wall_time_us < 1000000 ? "under a second" : "over a second");
    else
        fprintf(out, "\nsummary (real time, CLOCK_MONOTONIC): %.1f ms of adapter time in %.1f "
                "ms of wall time\n", (double)s->adapter_time_us / 1000.0,
                (double)s->wall_time_us / 1000.0);
    dpc_pause_view dp;
    bool dp_read = dpc_pause_view_read(&dp, s->extension);
    print_counts(out, s, &v);
    dpc_pause_print(out, s, &dp);
    fprintf(out, "  lateness    fire time minus due time, from stortimer's event log (us):\n"
            "                kind           window     n      min   median      max\n");
    for (int k = 0; k < KINDS; k++)
        print_lateness_row(out, k, &v);
    if (s->virtual_time)
        fprintf(out, "  wake-ups    n/a on a virtual clock: callbacks ran inside the host's "
                "clock advances, on its thread\n");
    else
        fprintf(out, "  wake-ups    %llu dispatcher wake-ups for %llu callbacks and %llu DPCs; "
                "%llu found nothing due\n              (an arm that moves the next deadline "
                "earlier wakes it too; a window lets\n              several callbacks share "
                "one)\n", (unsigned long long)lib->wakeups,
                (unsigned long long)lib->fired, (unsigned long long)lib->dpcs_started,
                (unsigned long long)lib->idle_wakeups);
    history_print(out, &m->History);
    if (s->timeline_dropped)
        fprintf(out, "  timeline    %u events did not fit in the log\n", s->timeline_dropped);

    ULONG callbacks = miniport_callbacks(m);
    BOOLEAN self_freed = m->Watchdog.DeviceRemoved && m->Watchdog.FreeStatus == STOR_STATUS_SUCCESS;
    char verdict[1280] = "";
    bool ok = true;
    verdict_add(verdict, sizeof verdict, &ok, read && v.complete,
                "the event log holds the whole run", "THE EVENT LOG IS INCOMPLETE");
    verdict_add(verdict, sizeof verdict, &ok, v.early == 0, "no callback ran early",
                "SOME CALLBACKS RAN EARLY");
    verdict_add(verdict, sizeof verdict, &ok, v.after_stop == 0,
                "none ran after the stop returned", "CALLBACKS RAN AFTER THE STOP");
    verdict_add(verdict, sizeof verdict, &ok,
                s->remove_status == STOR_STATUS_SUCCESS && s->leaked_timers == 0 &&
                    m->TimersInitialized == m->Timers.Freed + (self_freed ? 1 : 0) &&
                    lib->timers_live == 0 && lib->timers_freed == lib->timers_initialized,
                "every timer accounted for", "TIMERS LEAKED OR MISCOUNTED");
    verdict_add(verdict, sizeof verdict, &ok,
                lib->fired == callbacks && v.fired == callbacks &&
                    lib->busy == m->Port.PollBusy + m->Port.KickBusy + m->Link.Rearms,
                "stortimer and the miniport agree on callbacks and BUSY answers",
                "STORTIMER AND THE MINIPORT DISAGREE ON CALLBACKS OR BUSY");
    verdict_add(verdict, sizeof verdict, &ok,
                s->io_submitted == m->Io.Completed + m->Io.TimedOut + m->Io.AbortedByReset +
                                       m->Io.FailedByRemoval + m->Io.AbortedAtStop,
                "every I/O accounted for", "I/O UNACCOUNTED FOR");
    verdict_add(verdict, sizeof verdict, &ok,
                dp_read && dp.complete && lib->dpcs_dropped == 0 && lib->dpc_issue_refused == 0 &&
                    lib->dpcs_started == lib->dpcs_issued &&
                    lib->dpcs_returned == lib->dpcs_started && dp.dpcs_early == 0 &&
                    dp.dpcs_started == lib->dpcs_started &&
                    m->Completion.Issued == lib->dpcs_issued &&
                    m->Completion.NotIssued == lib->dpcs_already_queued &&
                    m->Completion.Runs == lib->dpcs_started,
                "every DPC issued ran once, none before its issue, none dropped",
                "DPCS DROPPED, REFUSED, MISCOUNTED OR STARTED BEFORE THEIR ISSUE");
    verdict_add(verdict, sizeof verdict, &ok,
                dp_read && !s->pause_at_end.paused && !dp.open &&
                    dp.ended[STORTIMER_PAUSE_END_REMOVAL] == 0,
                "no pause left in force", "A PAUSE WAS LEFT IN FORCE AT THE END");
    verdict_add(verdict, sizeof verdict, &ok, lib->lock_misuse == 0, "no lock misuse",
                "LOCKS WERE MISUSED");
    verdict_add(verdict, sizeof verdict, &ok,
                s->port_ups >= 3 && m->Reinit.Completed >= 2 && m->FatalErrors == 1 &&
                    m->Reinit.Resumes == m->Reinit.Pauses &&
                    dp.ended[STORTIMER_PAUSE_END_RESUMED] >= 2 && m->Link.ToSlumber >= 1 &&
                    self_freed,
                "port up, HBA reset twice (each paused, re-initialized, resumed) and port up "
                "again, link to Slumber, watchdog freed itself",
                "THE SCENARIO DID NOT RUN ITS COURSE");
    if (s->virtual_time)
        verdict_add(verdict, sizeof verdict, &ok, v.outside_window == 0,
                    "every callback fired inside its window",
                    "CALLBACKS FIRED OUTSIDE THEIR WINDOWS ON A VIRTUAL CLOCK");
    if (s->virtual_time)
        verdict_add(verdict, sizeof verdict, &ok, history_in_order(&m->History),
                    "the history's system times never go backwards",
                    "THE HISTORY'S SYSTEM TIMES GO BACKWARDS");
    fprintf(out, "\nverdict: %s%s\n", ok ? "" : "FAILED: ", verdict);
    log_view_free(&v);
    dpc_pause_view_free(&dp);
    return ok;
}
