/*
 * callbacks.c - the test's timer callback and HwStorTimer routine: the
 * checks every callback start and end gets (S8.1, S3.4, S6.4.1), and what a
 * callback then does with its own timer (S5.6, S6.4.1, S7.2).
 */
#include "stress.h"

#include <inttypes.h>
#include <sched.h>

/* What a callback saves of its thread's context, to give it back at the end. */
typedef struct callback_frame {
    incarnation *saved_exclusive;
    timer_record *saved_timer;
    bool saved_legacy;
} callback_frame;

/* The checks at the start of every callback; returns the saved thread context. */
static callback_frame callback_enter(incarnation *inc, timer_record *t, PVOID extension,
                                     const char *who)
{
    callback_frame frame = {exclusive_inc, callback_timer, in_legacy_routine};
    atomic_fetch_add(&run.callbacks_running, 1);
    atomic_fetch_add(&inc->callbacks_started, 1);
    occupancy_enter(inc, who);
    exclusive_inc = inc;
    callback_timer = t;
    in_legacy_routine = t == NULL;
    if (stortimer_irql_current() != DISPATCH_LEVEL)
        violation(BAD_CALLBACK, "%s of adapter %d.%u runs at IRQL %u, not DISPATCH_LEVEL (S8.1)",
                  who, inc->slot, inc->number, stortimer_irql_current());
    if (extension != inc->extension)
        violation(BAD_CALLBACK, "%s of adapter %d.%u got extension %p, not %p (S5.4)", who,
                  inc->slot, inc->number, extension, inc->extension);
    if (atomic_load(&inc->removed))
        violation(AFTER_FREE, "%s of adapter %d.%u started after the adapter's removal "
                  "returned (S3.4)", who, inc->slot, inc->number);
    return frame;
}

static void callback_leave(incarnation *inc, const char *who, callback_frame frame)
{
    if (atomic_load(&inc->removed))
        violation(AFTER_FREE, "%s of adapter %d.%u still running when the adapter's removal "
                  "returned (S3.4)", who, inc->slot, inc->number);
    exclusive_inc = frame.saved_exclusive;
    callback_timer = frame.saved_timer;
    in_legacy_routine = frame.saved_legacy;
    occupancy_leave(inc);
    atomic_fetch_sub(&run.callbacks_running, 1);
}

static bool callbacks_may_act(const incarnation *inc)
{
    return !atomic_load(&run.winding_down) && !atomic_load(&inc->removing);
}

/*
 * While its adapter is being removed, a callback takes a while in real time:
 * the removal must wait for it (S3.4), on a virtual clock too.
 */
static void keep_a_removal_waiting(const incarnation *inc)
{
    if (atomic_load(&inc->removing))
        sleep_ns(1000 * (200 + random_below(800)));
}

/* Holds the callback a little: widens the windows the checks look into. */
static void linger(void)
{
    StorPortStallExecution(20 + random_below(150)); /* S9.3: moves a virtual clock */
    tally(&run.count.operations);
}

/* What an extended callback does with its own timer (S5.6, S6.4.1). */
static void extended_callback_acts(timer_record *t)
{
    unsigned pick = random_below(100);
    if (t->steady && pick >= 25 && pick < 35)
        pick = 0; /* re-arms instead of cancelling or freeing */
    if (pick < 25) {
        arm_extended(t, false); /* the periodic pattern */
    } else if (pick < 31) {
        free_extended(t, false); /* freed from its own callback */
    } else if (pick < 35) {
        arm_extended(t, false);
        cancel_extended(t, one_in(4));
    } else if (pick < 40) {
        legacy_arm(t->inc, false);
    } else if (pick < 43) {
        arm_extended(t, true);
    }
    if (one_in(8))
        linger();
}

/* When a callback started, read first thing in it: its clock time and ticket. */
typedef struct callback_start {
    uint64_t time, ticket;
} callback_start;

static callback_start callback_started(void)
{
    callback_start start;
    start.time = time_now();
    start.ticket = next_ticket();
    note_progress();
    tally(&run.count.callbacks);
    return start;
}

void extended_callback(PVOID extension, PVOID context)
{
    callback_start start = callback_started();
    arm_record *arm = context;
    if (!arm || !arena_holds(&run.arms, arm) || !arm->timer) {
        violation(BAD_CALLBACK, "a callback ran with context %p, which no successful arm "
                  "passed%s", context,
                  arm == &rejected_request_context ? " (a request that had to fail)" : "");
        return;
    }
    timer_record *t = arm->timer;
    incarnation *inc = arm->inc;
    callback_frame frame = callback_enter(inc, t, extension, "a timer callback");
    if (timer_freed(t))
        violation(AFTER_FREE, "callback of timer #%" PRIu64 " (adapter %d.%u) started after "
                  "FreeTimer returned at ticket %" PRIu64 " (S6.4.1)", t->id, inc->slot,
                  inc->number, atomic_load(&t->freed_ticket));

    pthread_mutex_lock(lock_of_timer(t));
    record_fire(arm, start.time, start.ticket);
    pthread_mutex_unlock(lock_of_timer(t));

    if (callbacks_may_act(inc))
        extended_callback_acts(t);
    keep_a_removal_waiting(inc);
    if (one_in(16))
        sched_yield(); /* lets a concurrent FreeTimer overtake us if it does not wait */

    if (timer_freed(t) && !atomic_load(&t->freed_by_own_callback))
        violation(AFTER_FREE, "callback of timer #%" PRIu64 " (adapter %d.%u) still running "
                  "after FreeTimer returned at ticket %" PRIu64 " (S6.4.1)", t->id, inc->slot,
                  inc->number, atomic_load(&t->freed_ticket));
    callback_leave(inc, "a timer callback", frame);
}

void legacy_routine(PVOID extension)
{
    callback_start start = callback_started();
    tally(&run.count.legacy_callbacks);
    incarnation *inc = NULL;
    for (int s = 0; s < ADAPTER_SLOT_COUNT && !inc; s++)
        if (current_incarnation(s) && current_incarnation(s)->extension == extension)
            inc = current_incarnation(s);
    if (!inc) {
        violation(BAD_CALLBACK, "HwStorTimer called with extension %p, no live adapter's",
                  extension);
        return;
    }
    callback_frame frame = callback_enter(inc, NULL, extension, "HwStorTimer");

    pthread_mutex_lock(&inc->lock);
    arm_record *arm = inc->legacy_current;
    if (!arm)
        violation(BAD_CALLBACK, "HwStorTimer of adapter %d.%u ran, but RequestTimerCall was "
                  "never called", inc->slot, inc->number);
    else
        record_fire(arm, start.time, start.ticket);
    pthread_mutex_unlock(&inc->lock);

    if (callbacks_may_act(inc) && one_in(2))
        legacy_arm(inc, one_in(6)); /* re-armed from its own routine (S7.2) */
    keep_a_removal_waiting(inc);
    if (one_in(8))
        linger();
    callback_leave(inc, "HwStorTimer", frame);
}
