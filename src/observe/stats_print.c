/* stats_print.c - stortimer_stats_print: the statistics, readably. */
#include "adapters/adapter.h"
#include "platform/alloc.h"

#include <stdio.h>

/* "1.2 callbacks per wake-up", or why there is no such figure. */
static int print_wakeups(FILE *out, const stortimer_stats *s)
{
    if (!s->wakeups)
        return fprintf(out, "  wake-ups   0 (virtual clock, or nothing fired yet); "
                            "%llu callbacks\n", (unsigned long long)s->fired);
    return fprintf(out, "  wake-ups   %llu for %llu callbacks (%.2f callbacks per wake-up); "
                   "%llu found nothing due\n",
                   (unsigned long long)s->wakeups, (unsigned long long)s->fired,
                   (double)s->fired / (double)s->wakeups,
                   (unsigned long long)s->idle_wakeups);
}

/* A lateness histogram, one line per non-empty bucket, with a bar. */
static int print_histogram(FILE *out, const ULONGLONG *histogram)
{
    unsigned long long most = 0;
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        if (histogram[i] > most)
            most = histogram[i];
    int rc = 0;
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS && rc >= 0; i++) {
        unsigned long long n = histogram[i];
        if (!n)
            continue;
        char range[48];
        if (i == 0)
            snprintf(range, sizeof range, "0 us (on time)");
        else if (i == STORTIMER_LATENESS_BUCKETS - 1)
            snprintf(range, sizeof range, ">= %llu us", 1ull << (i - 1));
        else
            snprintf(range, sizeof range, "%llu-%llu us", 1ull << (i - 1), (1ull << i) - 1);
        int bar = (int)((n * 40 + most - 1) / most);
        rc = fprintf(out, "    %-22s %10llu  %.*s\n", range, n, bar,
                     "########################################");
    }
    return rc;
}

/* DPCs (S14.15), only once any was initialized or refused. */
static int print_dpcs(FILE *out, const stortimer_stats *s)
{
    if (!s->dpcs_initialized && !s->dpc_init_refused && !s->dpc_issue_refused)
        return 0;
    unsigned long long mean = s->dpcs_started ? s->dpc_lateness_total_us / s->dpcs_started : 0;
    int rc = fprintf(out,
                     "  DPCs       %llu initialized (%llu refused), %llu issued, %llu already "
                     "queued, %llu refused; %llu started, %llu returned, %llu dropped by "
                     "removal, %llu runaway stops\n"
                     "  DPC start  past the issue: mean %llu us, max %llu us\n",
                     (unsigned long long)s->dpcs_initialized,
                     (unsigned long long)s->dpc_init_refused,
                     (unsigned long long)s->dpcs_issued,
                     (unsigned long long)s->dpcs_already_queued,
                     (unsigned long long)s->dpc_issue_refused,
                     (unsigned long long)s->dpcs_started,
                     (unsigned long long)s->dpcs_returned,
                     (unsigned long long)s->dpcs_dropped,
                     (unsigned long long)s->dpc_runaway_stops, mean,
                     (unsigned long long)s->dpc_lateness_max_us);
    return rc < 0 ? rc : print_histogram(out, s->dpc_lateness_histogram);
}

/* Pauses, synchronized routines and long stalls, once any happened. */
static int print_pauses(FILE *out, const stortimer_stats *s)
{
    if (!s->pauses && !s->resumes_unpaused && !s->unit_pauses && !s->unit_resumes_unpaused &&
        !s->synchronized_calls && !s->long_stalls && !s->time_query_misuse)
        return 0;
    return fprintf(out,
                   "  pauses     adapter: %llu, ended by %llu resumes and %llu expiries, "
                   "%llu resumes found none; units: %llu, %llu resumed, %llu expired, "
                   "%llu resumes found none\n"
                   "  other      %llu synchronized routines, %llu stalls of 1 ms or more, "
                   "%llu time queries with a NULL pointer\n",
                   (unsigned long long)s->pauses, (unsigned long long)s->resumes,
                   (unsigned long long)s->pause_expiries,
                   (unsigned long long)s->resumes_unpaused,
                   (unsigned long long)s->unit_pauses, (unsigned long long)s->unit_resumes,
                   (unsigned long long)s->unit_pause_expiries,
                   (unsigned long long)s->unit_resumes_unpaused,
                   (unsigned long long)s->synchronized_calls,
                   (unsigned long long)s->long_stalls,
                   (unsigned long long)s->time_query_misuse);
}

static int print_one(FILE *out, const char *title, const stortimer_stats *s)
{
    unsigned long long mean = s->fired ? s->lateness_total_us / s->fired : 0;
    int rc = fprintf(out, "%s\n", title);
    if (rc >= 0)
        rc = fprintf(out,
                     "  timers     %llu live (%llu initialized, %llu freed, %llu freed by removal)\n"
                     "  requests   %llu armed (%llu legacy, %llu above DISPATCH_LEVEL), "
                     "%llu pending, %llu fired (%llu legacy), %llu cancelled, %llu busy\n"
                     "  misuse     %llu rejected (invalid parameter %llu, invalid irql %llu, "
                     "unsuccessful %llu, insufficient resources %llu); "
                     "RequestTimerCall misuse %llu; lock misuse %llu\n",
                     (unsigned long long)s->timers_live,
                     (unsigned long long)s->timers_initialized,
                     (unsigned long long)s->timers_freed,
                     (unsigned long long)s->timers_leaked, (unsigned long long)s->armed,
                     (unsigned long long)s->legacy_armed,
                     (unsigned long long)s->handed_over,
                     (unsigned long long)s->timers_pending, (unsigned long long)s->fired,
                     (unsigned long long)s->legacy_fired,
                     (unsigned long long)s->cancelled, (unsigned long long)s->busy,
                     (unsigned long long)s->rejected,
                     (unsigned long long)s->rejected_invalid_parameter,
                     (unsigned long long)s->rejected_invalid_irql,
                     (unsigned long long)s->rejected_unsuccessful,
                     (unsigned long long)s->rejected_insufficient_resources,
                     (unsigned long long)s->notification_misuse,
                     (unsigned long long)s->lock_misuse);
    if (rc >= 0)
        rc = print_wakeups(out, s);
    if (rc >= 0)
        rc = fprintf(out, "  lateness   past the due time: mean %llu us, max %llu us\n", mean,
                     (unsigned long long)s->lateness_max_us);
    if (rc >= 0)
        rc = print_histogram(out, s->lateness_histogram);
    if (rc >= 0)
        rc = print_dpcs(out, s);
    if (rc >= 0)
        rc = print_pauses(out, s);
    return rc;
}

/* The extensions of live adapters, in slot order, for printing each. */
typedef struct extension_list {
    void **items;
    size_t count, room;
    bool short_of_memory;
} extension_list;

static void collect(st_adapter *a, void *ctx)
{
    extension_list *list = ctx;
    void *extension = st_adapter_extension(a);
    if (!extension)
        return;
    void **grown = st_room_for_one(list->items, &list->room, list->count, sizeof *grown, 16);
    if (!grown) {
        list->short_of_memory = true;
        return;
    }
    list->items = grown;
    list->items[list->count++] = extension;
}

ULONG stortimer_stats_print(PVOID hw_device_extension, FILE *out)
{
    if (!out)
        out = stdout;
    stortimer_stats s;
    if (stortimer_stats_read(hw_device_extension, &s) != STOR_STATUS_SUCCESS)
        return STOR_STATUS_INVALID_PARAMETER;
    char title[96];
    int rc;
    if (hw_device_extension) {
        snprintf(title, sizeof title, "stortimer: adapter %p", hw_device_extension);
        rc = print_one(out, title, &s);
    } else {
        snprintf(title, sizeof title, "stortimer: all adapters (%llu live, %llu created)",
                 (unsigned long long)s.adapters_live, (unsigned long long)s.adapters_created);
        rc = print_one(out, title, &s);
        extension_list list = {0};
        st_adapter_visit_slots(collect, &list);
        for (size_t i = 0; i < list.count && rc >= 0; i++) {
            /* An adapter removed since it was listed has nothing to print. */
            if (stortimer_stats_read(list.items[i], &s) != STOR_STATUS_SUCCESS)
                continue;
            snprintf(title, sizeof title, "stortimer: adapter %p", list.items[i]);
            rc = print_one(out, title, &s);
        }
        if (rc >= 0 && list.short_of_memory)
            rc = fprintf(out, "(out of memory: not every adapter is listed)\n");
        st_free(list.items);
    }
    if (rc < 0 || fflush(out) != 0)
        return STOR_STATUS_UNSUCCESSFUL;
    return STOR_STATUS_SUCCESS;
}
