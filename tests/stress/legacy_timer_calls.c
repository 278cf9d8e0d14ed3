/*
 * legacy_timer_calls.c - the legacy timer (S7): StorPortNotification
 * (RequestTimerCall) arming and cancelling it, accounted. The test arms it
 * only under exclusion (see main.c), so it always knows which call a
 * HwStorTimer call belongs to.
 */
#include "stress.h"

static ULONGLONG legacy_armed_count(incarnation *inc)
{
    stortimer_stats stats;
    if (stortimer_stats_read(inc->extension, &stats) != STOR_STATUS_SUCCESS)
        return 0;
    return stats.legacy_armed;
}

/*
 * RequestTimerCall with a value: replaces any pending request. Above
 * DISPATCH_LEVEL a full hand-over queue may drop it (S5.7); the call is VOID,
 * so the adapter's legacy_armed count (only we arm it, under exclusion) says
 * whether it was taken.
 */
void legacy_arm(incarnation *inc, bool raise_to_device)
{
    arm_record *arm = new_arm(inc, NULL, 100 + random_below(2901), 0);
    if (!arm)
        return;
    now_doing(raise_to_device ? "arming the legacy timer at device IRQL"
                              : "arming the legacy timer");
    KIRQL old = raise_to_device_if(raise_to_device);
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    arm->armed_how = calling_context();
    ULONGLONG armed_before = above_dispatch ? legacy_armed_count(inc) : 0;

    pthread_mutex_lock(&inc->lock);
    arm_record *replaced = inc->legacy_current;
    inc->legacy_current = arm;
    arm->call_time = time_now();
    arm->call_ticket = next_ticket();
    pthread_mutex_unlock(&inc->lock);

    StorPortNotification(RequestTimerCall, inc->extension, legacy_routine, (ULONG)arm->value_us);
    uint64_t end = next_ticket();
    bool taken = !above_dispatch || legacy_armed_count(inc) == armed_before + 1;
    lower_if(raise_to_device, old);
    tally(&run.count.operations);

    pthread_mutex_lock(&inc->lock);
    arm->returned = true;
    arm->return_ticket = end;
    if (taken) {
        arm->status = STOR_STATUS_SUCCESS;
        if (replaced)
            mark_dead(replaced, end, end, AFTER_CANCEL, "a newer RequestTimerCall (replace)");
        start_counting(arm);
        count_successful_arm(inc, above_dispatch);
        tally(&run.count.legacy_arms);
        tally(&inc->legacy_arms);
    } else {
        arm->status = STOR_STATUS_INSUFFICIENT_RESOURCES;
        inc->legacy_current = replaced;
        tally(&run.count.handover_refusals);
        tally(&run.count.rejected); /* the library counts the refusal (S5.7) */
    }
    pthread_mutex_unlock(&inc->lock);
}

/* RequestTimerCall with 0 cancels what is pending. */
void legacy_cancel(incarnation *inc, bool raise_to_device)
{
    now_doing("cancelling the legacy timer");
    KIRQL old = raise_to_device_if(raise_to_device);
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    StorPortNotification(RequestTimerCall, inc->extension, legacy_routine, (ULONG)0);
    uint64_t end = next_ticket();
    lower_if(raise_to_device, old);
    tally(&run.count.operations);
    pthread_mutex_lock(&inc->lock);
    arm_record *current = inc->legacy_current;
    if (current) {
        if (above_dispatch)
            mark_maybe_killed(current);
        else
            mark_dead(current, end, end, AFTER_CANCEL, "a legacy cancel (RequestTimerCall 0)");
    }
    pthread_mutex_unlock(&inc->lock);
}
