/*
 * watchdog.c - fails a run that stops moving (a deadlock) or does not end
 * (a livelock), with a report of what each thread of the test was doing.
 */
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static const uint64_t watchdog_limit_ns = 10 * NS_PER_S;
/* Beyond its active seconds, the longest a run may take to wind down. */
static const uint64_t wind_down_limit_ns = 120 * NS_PER_S;

/* Fails the run when nothing moves for watchdog_limit_ns (or it never ends). */
static void *watchdog_main(void *arg)
{
    (void)arg;
    uint64_t seen = atomic_load(&run.progress), since = monotonic_ns();
    while (!atomic_load(&run.stop_watchdog)) {
        sleep_ns(100000000);
        uint64_t progress = atomic_load(&run.progress), now = monotonic_ns();
        if (progress != seen) {
            seen = progress;
            since = now;
        }
        bool stuck = now - since >= watchdog_limit_ns;
        bool overdue = now > atomic_load(&run.deadline_ns);
        if (!stuck && !overdue)
            continue;
        if (stuck)
            fprintf(stderr, "stress %s: WATCHDOG: no progress for %" PRIu64 " s: deadlock?\n",
                    run.name, watchdog_limit_ns / NS_PER_S);
        else
            fprintf(stderr, "stress %s: WATCHDOG: the run did not end %" PRIu64 " s after its "
                    "active time: livelock?\n", run.name, wind_down_limit_ns / NS_PER_S);
        for (int i = 0; i < REPORT_COUNT; i++) {
            thread_report *r = &run.reports[i];
            if (!r->name[0])
                continue;
            const char *doing = atomic_load(&r->doing);
            fprintf(stderr, "  %-10s %8" PRIu64 " steps, last: %s\n", r->name,
                    atomic_load(&r->steps), doing ? doing : "(not started)");
        }
        fprintf(stderr, "  callbacks running now: %d, arms outstanding: %" PRId64
                ", last ticket: %" PRIu64 "\n", atomic_load(&run.callbacks_running),
                atomic_load(&run.outstanding), atomic_load(&tickets));
        fflush(stderr);
        abort();
    }
    return NULL;
}

/* Starts watching a run that is to be active for run.seconds. */
void watchdog_start(pthread_t *thread)
{
    atomic_store(&run.deadline_ns, monotonic_ns() + (uint64_t)(run.seconds * NS_PER_S) +
                                       wind_down_limit_ns);
    pthread_create(thread, NULL, watchdog_main, NULL);
}

void watchdog_stop(pthread_t thread)
{
    atomic_store(&run.stop_watchdog, true);
    pthread_join(thread, NULL);
}
