/*
 * adapters.c - the adapters under test: each slot's current incarnation,
 * creating one, using one (its slot read-locked), removing one in one of
 * three styles (S3.4) with its statistics and leaks checked, and the churn
 * thread that keeps replacing them.
 */
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

incarnation *current_incarnation(int slot)
{
    return atomic_load(&slots[slot].current);
}

incarnation *create_incarnation(adapter_slot *slot)
{
    incarnation *inc = calloc(1, sizeof *inc);
    if (!inc) {
        fprintf(stderr, "stress: out of memory\n");
        exit(1);
    }
    inc->slot = slot->index;
    inc->number = ++slot->created;
    inc->config = (stortimer_adapter_config){
        .extension_size = 64,
        .max_timers = slot->index == LIMITED_SLOT ? LIMITED_MAX_TIMERS : 0,
        .half_duplex = slot->index == HALF_DUPLEX_SLOT,
        .clock = run.clock,
    };
    pthread_mutex_init(&inc->lock, NULL);
    ULONG status = stortimer_adapter_create(&inc->config, &inc->extension);
    tally(&run.count.operations);
    if (status != STOR_STATUS_SUCCESS) {
        fprintf(stderr, "stress %s: stortimer_adapter_create answered %s\n", run.name,
                status_name(status));
        exit(1);
    }
    tally(&run.count.adapters_created);
    pthread_mutex_lock(&run.created_lock);
    inc->next_created = run.created;
    run.created = inc;
    pthread_mutex_unlock(&run.created_lock);
    return inc;
}

/* Read-locks an incarnation's slot; false if it is no longer the current one. */
bool adapter_enter(incarnation *inc)
{
    pthread_rwlock_rdlock(&slots[inc->slot].lock);
    if (current_incarnation(inc->slot) == inc)
        return true;
    pthread_rwlock_unlock(&slots[inc->slot].lock);
    return false;
}

void adapter_leave(incarnation *inc)
{
    pthread_rwlock_unlock(&slots[inc->slot].lock);
}

/* ---- Removal ---- */

static void compare(const incarnation *inc, const char *when, const char *field,
                    uint64_t library, uint64_t ours)
{
    if (library != ours)
        violation(STATS_MISMATCH, "adapter %d.%u %s: stortimer_stats.%s is %" PRIu64 ", the "
                  "test counted %" PRIu64, inc->slot, inc->number, when, field, library, ours);
}

/* The counts that cannot change while the adapter is quiet (see main.c). */
static void compare_adapter_stats(incarnation *inc, const char *when)
{
    stortimer_stats stats;
    ULONG status = stortimer_stats_read(inc->extension, &stats);
    if (status != STOR_STATUS_SUCCESS) {
        violation(STATS_MISMATCH, "stortimer_stats_read on live adapter %d.%u answered %s",
                  inc->slot, inc->number, status_name(status));
        return;
    }
    pthread_mutex_lock(&inc->lock);
    unsigned live = inc->live_timers;
    pthread_mutex_unlock(&inc->lock);
    compare(inc, when, "timers_live", stats.timers_live, live);
    compare(inc, when, "timers_initialized", stats.timers_initialized, atomic_load(&inc->inits));
    compare(inc, when, "timers_freed", stats.timers_freed, atomic_load(&inc->frees));
    compare(inc, when, "armed", stats.armed, atomic_load(&inc->arms));
    compare(inc, when, "legacy_armed", stats.legacy_armed, atomic_load(&inc->legacy_arms));
    compare(inc, when, "busy", stats.busy, atomic_load(&inc->busy));
    compare(inc, when, "handed_over", stats.handed_over, atomic_load(&inc->handed_over));
    compare(inc, when, "lock_misuse", stats.lock_misuse, 0);
}

/* Callbacks check this flag under the StartIo lock: after it, none acts. */
static void quiet_adapter(incarnation *inc)
{
    held_lock held;
    if (lock_take(inc, StartIoLock, &held)) {
        atomic_store(&inc->removing, true);
        lock_drop(&held);
    } else {
        atomic_store(&inc->removing, true);
    }
}

/* After the removal returned: every arm of it is over; its timers are stale. */
static void settle_removal(incarnation *inc, uint64_t end)
{
    pthread_mutex_lock(&inc->lock);
    timer_record *timers = inc->timers;
    if (inc->legacy_current)
        mark_dead(inc->legacy_current, end, end, AFTER_FREE, "the adapter's removal");
    pthread_mutex_unlock(&inc->lock);
    for (timer_record *t = timers; t; t = t->next_of_incarnation) {
        if (timer_freed(t))
            continue; /* already in the stale pool */
        end_every_arm(t, end, "the adapter's removal");
        stale_pool_add(t);
    }
}

/* Every arm of a quiet adapter fires before it goes; any that does not is lost. */
static void let_adapter_settle(incarnation *inc)
{
    now_doing("waiting for an adapter's pending arms before removing it");
    if (await_outstanding(&inc->outstanding, &inc->callbacks_started, NULL))
        return;
    pthread_mutex_lock(&inc->lock);
    timer_record *timers = inc->timers;
    if (inc->legacy_current && inc->legacy_current->outstanding)
        report_lost_arm(inc->legacy_current);
    pthread_mutex_unlock(&inc->lock);
    for (timer_record *t = timers; t; t = t->next_of_incarnation) {
        pthread_mutex_lock(lock_of_timer(t));
        for (arm_record *b = t->newest; b; b = b->older)
            if (b->outstanding)
                report_lost_arm(b);
        pthread_mutex_unlock(lock_of_timer(t));
    }
}

/*
 * Arms a short timer of the (quiet) adapter and gives a callback of it a few
 * milliseconds to start, so that the removal finds one running and must wait
 * for it (S3.4): callbacks of an adapter being removed linger
 * (keep_a_removal_waiting).
 */
static void wait_for_a_running_callback(incarnation *inc)
{
    now_doing("arming a timer to remove its adapter under its callback");
    timer_record *probe = initialize_timer(inc, true);
    if (probe)
        arm_extended_with(probe, 50, 0, false);
    for (int polls = 0; polls < 400 && atomic_load(&inc->occupancy) == 0 &&
                        atomic_load(&inc->outstanding) > 0;
         polls++)
        sleep_ns(50000);
}

/* Removes the slot's adapter (write lock held); it reports the leaked timers (S3.4). */
void remove_incarnation(incarnation *inc, removal_style style)
{
    quiet_adapter(inc);
    if (style == REMOVE_AFTER_SETTLING)
        let_adapter_settle(inc);
    else if (style == REMOVE_UNDER_A_CALLBACK)
        wait_for_a_running_callback(inc);
    compare_adapter_stats(inc, "before removal");
    pthread_mutex_lock(&inc->lock);
    unsigned expected_leaks = inc->live_timers;
    pthread_mutex_unlock(&inc->lock);

    ULONG leaked = 12345;
    ULONG status = stortimer_adapter_remove(inc->extension, &leaked);
    uint64_t end = next_ticket();
    atomic_store(&inc->removed, true);
    count_call(status);
    if (status != STOR_STATUS_SUCCESS) {
        violation(WRONG_STATUS, "stortimer_adapter_remove of adapter %d.%u answered %s",
                  inc->slot, inc->number, status_name(status));
        return;
    }
    atomic_fetch_add(&run.count.leaked, leaked);
    if (leaked != expected_leaks)
        violation(LEAK_MISMATCH, "removing adapter %d.%u reported %u leaked timers; %u were "
                  "initialized and not freed (S3.4)", inc->slot, inc->number, leaked,
                  expected_leaks);
    settle_removal(inc, end);
}

static void replace_adapter(adapter_slot *slot)
{
    pthread_rwlock_wrlock(&slot->lock);
    remove_incarnation(current_incarnation(slot->index), random_below(REMOVAL_STYLES));
    atomic_store(&slot->current, create_incarnation(slot));
    pthread_rwlock_unlock(&slot->lock);
}

/* ---- The churn thread ---- */

void *churn_main(void *arg)
{
    (void)arg;
    me = &run.reports[CHURN_REPORT];
    while (!atomic_load(&run.stop_churn)) {
        now_doing("sleeping");
        uint64_t pause = (uint64_t)(run.seconds * NS_PER_S / 24) + 1000 * random_below(100000);
        for (uint64_t slept = 0; slept < pause && !atomic_load(&run.stop_churn);
             slept += 10000000)
            sleep_ns(10000000);
        if (atomic_load(&run.stop_churn))
            break;
        now_doing("removing and recreating an adapter");
        replace_adapter(&slots[random_below(ADAPTER_SLOT_COUNT)]);
        step_done();
    }
    return NULL;
}
