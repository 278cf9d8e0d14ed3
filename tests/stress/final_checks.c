/*
 * final_checks.c - the end of a run: every due callback gets its chance, arms
 * that never fired are lost, the library's process-wide statistics are
 * compared with the test's tallies, and the summary is printed.
 */
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>

/*
 * Lets every due callback run. Callbacks that start from now on arm nothing;
 * once none is running, none that started earlier can still be arming.
 */
void let_due_callbacks_run(void)
{
    now_doing("waiting for due callbacks");
    atomic_store(&run.winding_down, true);
    while (atomic_load(&run.callbacks_running) > 0)
        sleep_ns(100000);
    /* What never comes is reported next. */
    await_outstanding(&run.outstanding, &run.count.callbacks, run.clock);
}

static pthread_mutex_t *lock_of_arm(const arm_record *arm)
{
    return arm->timer ? lock_of_timer(arm->timer) : &arm->inc->lock;
}

/* Calls visit for every arm record the run used, with the arm's lock held. */
static void for_each_arm(void (*visit)(arm_record *arm, void *context), void *context)
{
    for (uint64_t i = 0; i < arena_count(&run.arms); i++) {
        arm_record *arm = arena_at(&run.arms, i);
        if (!arm->inc)
            continue; /* taken, never used: the arena ran full */
        pthread_mutex_lock(lock_of_arm(arm));
        visit(arm, context);
        pthread_mutex_unlock(lock_of_arm(arm));
    }
}

static void report_if_lost(arm_record *arm, void *context)
{
    (void)context;
    if (arm->outstanding)
        report_lost_arm(arm);
}

/*
 * Once every due callback had its chance and before the final removals: a
 * successful arm that neither fired nor met a cancel, free or removal that
 * may have stopped it is lost.
 */
void report_lost_arms(void)
{
    for_each_arm(report_if_lost, NULL);
}

static void count_if_never_fired(arm_record *arm, void *never_fired)
{
    *(uint64_t *)never_fired +=
        arm->returned && arm->status == STOR_STATUS_SUCCESS && !arm->fired;
}

/* Successful arms whose callback never started: all cancelled before it could. */
uint64_t count_never_fired(void)
{
    uint64_t never_fired = 0;
    for_each_arm(count_if_never_fired, &never_fired);
    return never_fired;
}

void check_process_stats(const stortimer_stats *before, uint64_t never_fired)
{
    stortimer_stats after;
    stortimer_stats_read(NULL, &after);
    const struct {
        const char *field;
        uint64_t counted_by_library, ours;
    } rows[] = {
        {"timers_initialized", after.timers_initialized - before->timers_initialized,
         run.count.inits},
        {"timers_freed", after.timers_freed - before->timers_freed, run.count.frees},
        {"timers_leaked", after.timers_leaked - before->timers_leaked, run.count.leaked},
        {"timers_live", after.timers_live, 0},
        {"armed", after.armed - before->armed, run.count.arms},
        {"fired", after.fired - before->fired, run.count.callbacks},
        {"cancelled", after.cancelled - before->cancelled, never_fired},
        {"busy", after.busy - before->busy, run.count.busy},
        {"legacy_armed", after.legacy_armed - before->legacy_armed, run.count.legacy_arms},
        {"legacy_fired", after.legacy_fired - before->legacy_fired, run.count.legacy_callbacks},
        {"handed_over", after.handed_over - before->handed_over, run.count.handed_over},
        {"rejected", after.rejected - before->rejected, run.count.rejected},
        {"notification_misuse", after.notification_misuse - before->notification_misuse,
         run.count.notification_misuse},
        {"lock_misuse", after.lock_misuse - before->lock_misuse, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].counted_by_library != rows[i].ours)
            violation(STATS_MISMATCH, "process stortimer_stats.%s changed by %" PRIu64
                      " over the run; the test counted %" PRIu64, rows[i].field,
                      rows[i].counted_by_library, rows[i].ours);
}

/* The one summary line on stdout, and some details on stderr; returns the violations. */
uint64_t print_summary(double active, uint64_t never_fired)
{
    uint64_t total = 0;
    for (int k = 0; k < VIOLATION_KINDS; k++)
        total += atomic_load(&run.violations[k]);
    if (atomic_load(&run.messages) > MESSAGES_SHOWN)
        fprintf(stderr, "stress %s: ... %u more violations not described\n", run.name,
                atomic_load(&run.messages) - MESSAGES_SHOWN);
    printf("stress %s: %.1f s, %d threads, %" PRIu64 " adapters created, %" PRIu64
           " operations, %" PRIu64 " arms, %" PRIu64 " callbacks, %" PRIu64
           " cancelled before start, %" PRIu64 " lost, %" PRIu64 " duplicated, %" PRIu64
           " early, %" PRIu64 " overlaps, %" PRIu64 " after-free, %" PRIu64 " violations\n",
           run.name, active, WORKER_COUNT, run.count.adapters_created, run.count.operations,
           run.count.arms, run.count.callbacks, never_fired, run.violations[LOST],
           run.violations[DUPLICATED], run.violations[EARLY], run.violations[OVERLAP],
           run.violations[AFTER_FREE], total);
    fflush(stdout);
    fprintf(stderr, "stress %s: details: %" PRIu64 " busy, %" PRIu64 " handed over, %" PRIu64
            " timers (%" PRIu64 " freed, %" PRIu64 " leaked), %" PRIu64 " legacy arms, %" PRIu64
            " legacy callbacks, %" PRIu64 " rejected calls, %" PRIu64 " hand-over refusals\n",
            run.name, run.count.busy, run.count.handed_over, run.count.inits, run.count.frees,
            run.count.leaked, run.count.legacy_arms, run.count.legacy_callbacks,
            run.count.rejected, run.count.handover_refusals);
    return total;
}
