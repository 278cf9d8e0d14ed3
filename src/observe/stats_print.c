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
    return fprintf(out, "  wake-ups   %llu for %llu callbacks (%.2f callbacks per wake-up)\n",
                   (unsigned long long)s->wakeups, (unsigned long long)s->fired,
                   (double)s->fired / (double)s->wakeups);
}

/* The lateness histogram, one line per non-empty bucket, with a bar. */
static int print_histogram(FILE *out, const stortimer_stats *s)
{
    unsigned long long most = 0;
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS; i++)
        if (s->lateness_histogram[i] > most)
            most = s->lateness_histogram[i];
    int rc = 0;
    for (unsigned i = 0; i < STORTIMER_LATENESS_BUCKETS && rc >= 0; i++) {
        unsigned long long n = s->lateness_histogram[i];
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
        rc = print_histogram(out, s);
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
    if (list->count == list->room) {
        size_t room = list->room ? list->room * 2 : 16;
        void **grown = st_realloc(list->items, room * sizeof *grown);
        if (!grown) {
            list->short_of_memory = true;
            return;
        }
        list->items = grown;
        list->room = room;
    }
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
