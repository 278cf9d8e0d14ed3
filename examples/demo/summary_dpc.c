/*
 * summary_dpc.c - DPCs, pauses and the history, in the summary (see the
 * header).
 */
#define _POSIX_C_SOURCE 200809L
#include "summary_dpc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 1601-01-01 to 1970-01-01, in 100-ns units. */
#define UNIX_EPOCH_100NS 116444736000000000LL

typedef struct pause_tracker {
    bool in_pause;
    ULONGLONG since;
} pause_tracker;

static void view_pause_event(dpc_pause_view *v, pause_tracker *t, const stortimer_event *e)
{
    if (e->type == STORTIMER_EVENT_PAUSED) {
        v->pause_calls++;
        if (!t->in_pause) {
            v->pauses++;
            t->in_pause = true;
            t->since = e->time;
        }
    } else if (e->type == STORTIMER_EVENT_PAUSE_ENDED && t->in_pause) {
        t->in_pause = false;
        if (e->status <= STORTIMER_PAUSE_END_REMOVAL)
            v->ended[e->status]++;
        if (e->time - t->since > v->longest_us)
            v->longest_us = e->time - t->since;
    }
}

bool dpc_pause_view_read(dpc_pause_view *v, PVOID extension)
{
    memset(v, 0, sizeof *v);
    size_t n = stortimer_log_count();
    stortimer_event *events = calloc(n ? n : 1, sizeof *events);
    v->dpc_lateness = calloc(n ? n : 1, sizeof(LONGLONG));
    if (!events || !v->dpc_lateness) {
        free(events);
        return false;
    }
    v->complete = stortimer_log_read(events, 0, n) == n && stortimer_log_dropped() == 0;
    pause_tracker tracker = {false, 0};
    for (size_t i = 0; i < n; i++) {
        const stortimer_event *e = &events[i];
        if (e->extension != extension || e->unit)
            continue;
        if (e->type == STORTIMER_EVENT_DPC_STARTED) {
            /* `due` is the issue time, `fire_time` the start (S14.15). */
            v->dpc_lateness[v->dpcs_started++] = (LONGLONG)(e->fire_time - e->due);
            v->dpcs_early += e->fire_time < e->due;
        }
        view_pause_event(v, &tracker, e);
    }
    v->open = tracker.in_pause;
    free(events);
    return true;
}

void dpc_pause_view_free(dpc_pause_view *v)
{
    free(v->dpc_lateness);
}

static int compare_longlong(const void *a, const void *b)
{
    LONGLONG x = *(const LONGLONG *)a, y = *(const LONGLONG *)b;
    return (x > y) - (x < y);
}

static void print_dpc_lateness(FILE *out, const stortimer_stats *lib, dpc_pause_view *v)
{
    ULONG n = v->dpcs_started;
    fprintf(out, "  DPC start   start minus issue (us), from the event log: n %u", n);
    if (n != 0) {
        qsort(v->dpc_lateness, n, sizeof(LONGLONG), compare_longlong);
        fprintf(out, ", min %lld, median %lld, max %lld", (long long)v->dpc_lateness[0],
                (long long)v->dpc_lateness[n / 2], (long long)v->dpc_lateness[n - 1]);
    }
    fprintf(out, "\n              stortimer: %llu started, mean %.1f us, max %llu us\n",
            (unsigned long long)lib->dpcs_started,
            lib->dpcs_started ? (double)lib->dpc_lateness_total_us / (double)lib->dpcs_started
                              : 0.0,
            (unsigned long long)lib->dpc_lateness_max_us);
}

void dpc_pause_print(FILE *out, const stortimer_demo_summary *s, dpc_pause_view *v)
{
    const HBA_STATISTICS *m = &s->miniport;
    const stortimer_stats *lib = &s->counted_by_stortimer;
    fprintf(out, "  DPCs        the ISR issued %u; %u more interrupts found it queued (its "
            "run took their work too); %u runs, %u found nothing left; stortimer: %llu issued, %llu returned, "
            "%llu dropped\n", m->Completion.Issued, m->Completion.NotIssued, m->Completion.Runs,
            m->Completion.EmptyRuns, (unsigned long long)lib->dpcs_issued,
            (unsigned long long)lib->dpcs_returned, (unsigned long long)lib->dpcs_dropped);
    print_dpc_lateness(out, lib, v);
    fprintf(out, "  pauses      %u (%u StorPortPause calls, %u from the ISR): %u ended by "
            "StorPortResume, %u expired, %u by removal; longest %.3f ms;\n              %u I/O "
            "submissions held meanwhile; paused at the end: %s (stortimer: %llu pauses, %llu "
            "resumes, %llu expiries)\n", v->pauses, v->pause_calls, m->FatalErrors,
            v->ended[STORTIMER_PAUSE_END_RESUMED], v->ended[STORTIMER_PAUSE_END_EXPIRED],
            v->ended[STORTIMER_PAUSE_END_REMOVAL], (double)v->longest_us / 1000.0, s->io_held,
            s->pause_at_end.paused ? "YES" : "no", (unsigned long long)lib->pauses,
            (unsigned long long)lib->resumes, (unsigned long long)lib->pause_expiries);
    fprintf(out, "  synchronize %llu StorPortSynchronizeAccess calls (%u reset steps, %u DPC "
            "collections, 1 statistics copy); %llu lock misuse\n",
            (unsigned long long)lib->synchronized_calls, m->Reinit.SynchronizedSteps,
            m->Completion.Runs, (unsigned long long)lib->lock_misuse);
}

/* "2000-01-01 00:00:01.030" from 100-ns units since 1601, UTC. */
static void format_system_time(char *text, size_t size, LONGLONG system_time)
{
    LONGLONG since_1970 = system_time - UNIX_EPOCH_100NS;
    time_t seconds = (time_t)(since_1970 / 10000000);
    unsigned ms = (unsigned)(since_1970 % 10000000 / 10000);
    struct tm utc;
    gmtime_r(&seconds, &utc);
    size_t used = strftime(text, size, "%Y-%m-%d %H:%M:%S", &utc);
    snprintf(text + used, size - used, ".%03u", ms);
}

void history_print(FILE *out, const MINIPORT_HISTORY *h)
{
    fprintf(out, "  history     the miniport's own, stamped with StorPortQuerySystemTime "
            "(UTC; it moves in 10 ms ticks):\n");
    for (ULONG i = 0; i < h->Count; i++) {
        char when[48];
        format_system_time(when, sizeof when, h->Entries[i].SystemTime.QuadPart);
        fprintf(out, "              %s  %s (%u)\n", when, h->Entries[i].What,
                h->Entries[i].Value);
    }
    if (h->Dropped)
        fprintf(out, "              ... and %u more that did not fit\n", h->Dropped);
}

bool history_in_order(const MINIPORT_HISTORY *h)
{
    for (ULONG i = 1; i < h->Count; i++)
        if (h->Entries[i].SystemTime.QuadPart < h->Entries[i - 1].SystemTime.QuadPart)
            return false;
    return true;
}
