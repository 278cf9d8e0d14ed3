/*
 * extended_timer_calls.c - StorPortRequestTimer (arm and cancel) and
 * StorPortFreeTimer on the test's own timers, each call accounted and its
 * answer judged (S5, S6).
 */
#include "stress.h"

#include <inttypes.h>
#include <stdio.h>

/* Judges an arm's answer, with the stripe lock held. */
static void judge_extended_arm(timer_record *t, arm_record *arm, bool above_dispatch)
{
    char what[320];
    describe_arm(arm, what, sizeof what);
    switch (arm->status) {
    case STOR_STATUS_SUCCESS:
        count_successful_arm(t->inc, above_dispatch);
        if (timer_freed(t) && atomic_load(&t->freed_ticket) < arm->call_ticket)
            violation(WRONG_STATUS, "%s: SUCCESS for a timer freed before the call (S5.2)", what);
        check_not_pending_before(t, arm);
        start_counting(arm);
        return;
    case STOR_STATUS_BUSY:
        tally(&run.count.busy);
        tally(&t->inc->busy);
        if (!busy_is_explained(t, arm)) {
            char history[640];
            describe_history(t, history, sizeof history);
            violation(WRONG_BUSY, "%s answered BUSY, but no arm of the timer was pending "
                      "(S5.3); its arms, newest first: %s", what, history);
        }
        break;
    case STOR_STATUS_INVALID_PARAMETER:
        /* Only its own callback frees it behind the owner's back. */
        if (!timer_freed(t) && atomic_load(&t->frees_in_flight) == 0)
            violation(WRONG_STATUS, "%s answered INVALID_PARAMETER on a live timer of a live "
                      "adapter", what);
        break;
    case STOR_STATUS_INSUFFICIENT_RESOURCES:
        if (above_dispatch) {
            tally(&run.count.handover_refusals); /* the hand-over queue was full (S5.7) */
            break;
        }
        /* fall through */
    default:
        violation(WRONG_STATUS, "%s answered %s, not one of SUCCESS, BUSY, INVALID_PARAMETER%s",
                  what, status_name(arm->status),
                  above_dispatch ? ", INSUFFICIENT_RESOURCES" : "");
    }
    if (arm->fired)
        violation(BAD_CALLBACK, "%s: its callback ran although it answered %s", what,
                  status_name(arm->status));
    unlink_arm(t, arm);
}

/* ---- Arm ---- */

/* StorPortRequestTimer(TimerValue > 0) on one of our timers, accounted. */
void arm_extended_with(timer_record *t, uint64_t value_us, uint64_t window_us,
                       bool raise_to_device)
{
    arm_record *arm = new_arm(t->inc, t, value_us, window_us);
    if (!arm)
        return;
    now_doing(raise_to_device ? "arming at device IRQL" : "arming");
    KIRQL old = raise_to_device_if(raise_to_device);
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    arm->armed_how = calling_context();

    pthread_mutex_lock(lock_of_timer(t));
    link_arm(t, arm);
    arm->call_time = time_now();
    arm->call_ticket = next_ticket();
    prune_settled_arms(t);
    pthread_mutex_unlock(lock_of_timer(t));

    ULONG status = StorPortRequestTimer(t->inc->extension, t->handle, extended_callback, arm,
                                        arm->value_us, arm->window_us);
    uint64_t returned = next_ticket();
    lower_if(raise_to_device, old);
    count_call(status);

    pthread_mutex_lock(lock_of_timer(t));
    arm->returned = true;
    arm->return_ticket = returned;
    arm->status = status;
    judge_extended_arm(t, arm, above_dispatch);
    pthread_mutex_unlock(lock_of_timer(t));
}

void arm_extended(timer_record *t, bool raise_to_device)
{
    arm_extended_with(t, random_timer_value(), random_window(), raise_to_device);
}

/* ---- Cancels and frees under way: the timer's arms stay listed ---- */

static void kill_begins(timer_record *t)
{
    pthread_mutex_lock(lock_of_timer(t));
    t->kills_in_flight++;
    pthread_mutex_unlock(lock_of_timer(t));
}

static void kill_ends(timer_record *t)
{
    pthread_mutex_lock(lock_of_timer(t));
    t->kills_in_flight--;
    pthread_mutex_unlock(lock_of_timer(t));
}

/* ---- Cancel ---- */

/*
 * Applies a returned cancel to the timer's arms (stripe lock held): arms that
 * returned before it was called are certainly cancelled (unless they already
 * started); arms that overlapped it may or may not be. A cancel above
 * DISPATCH_LEVEL takes effect "shortly after" (S5.7): it only excuses. Every
 * arm is looked at: one called earlier may have taken effect later.
 */
static void settle_cancel(timer_record *t, uint64_t start, uint64_t end, uint64_t flush,
                          bool above_dispatch)
{
    for (arm_record *b = t->newest; b; b = b->older) {
        if (b->call_ticket > end)
            continue;
        bool before = b->returned && b->return_ticket < start;
        if (before && !above_dispatch) {
            if (b->fired && b->fire_ticket > flush) {
                char what[320];
                describe_arm(b, what, sizeof what);
                violation(AFTER_CANCEL, "%s: callback started at ticket %" PRIu64 ", after a "
                          "cancel called at %" PRIu64 " returned at %" PRIu64, what,
                          b->fire_ticket, start, end);
            }
            mark_dead(b, end, flush, AFTER_CANCEL, "a cancel (TimerValue 0)");
        } else {
            mark_maybe_killed(b);
        }
    }
}

void cancel_extended(timer_record *t, bool raise_to_device)
{
    now_doing(raise_to_device ? "cancelling at device IRQL" : "cancelling");
    kill_begins(t);

    KIRQL old = raise_to_device_if(raise_to_device);
    bool above_dispatch = stortimer_irql_current() > DISPATCH_LEVEL;
    const char *how = calling_context();
    uint64_t start = next_ticket();
    ULONG status = StorPortRequestTimer(t->inc->extension, t->handle, extended_callback, NULL,
                                        0, 0);
    uint64_t end = next_ticket();
    lower_if(raise_to_device, old);
    count_call(status);

    uint64_t flush = end;
    if (status == STOR_STATUS_SUCCESS && !above_dispatch && exclusive_inc != t->inc)
        flush = flush_started_callbacks(t->inc);

    pthread_mutex_lock(lock_of_timer(t));
    if (status == STOR_STATUS_SUCCESS)
        settle_cancel(t, start, end, flush, above_dispatch);
    else if (status != STOR_STATUS_INVALID_PARAMETER ||
             (!timer_freed(t) && atomic_load(&t->frees_in_flight) == 0))
        violation(WRONG_STATUS, "cancel of timer #%" PRIu64 " (adapter %d.%u, %s) answered %s; "
                  "expected SUCCESS (INVALID_PARAMETER only once freed)", t->id, t->inc->slot,
                  t->inc->number, how, status_name(status));
    t->kills_in_flight--;
    pthread_mutex_unlock(lock_of_timer(t));
}

/* ---- Free ---- */

void stale_pool_add(timer_record *t)
{
    unsigned i = atomic_fetch_add(&run.stale_added, 1) % STALE_POOL_SIZE;
    atomic_store(&run.stale[i], t);
}

/* A FreeTimer returned SUCCESS: nothing of the timer may start any more (S6.4.1). */
static void settle_free(timer_record *t, uint64_t end)
{
    end_every_arm(t, end, "StorPortFreeTimer");

    incarnation *inc = t->inc;
    pthread_mutex_lock(&inc->lock);
    inc->live_timers--;
    inc->frees_done++;
    pthread_mutex_unlock(&inc->lock);
    tally(&run.count.frees);
    tally(&inc->frees);
    stale_pool_add(t);
}

/* StorPortFreeTimer on one of our timers (from its owner or its own callback). */
void free_extended(timer_record *t, bool raise_to_device)
{
    incarnation *inc = t->inc;
    if (raise_to_device || stortimer_irql_current() > DISPATCH_LEVEL) {
        now_doing("freeing at device IRQL");
        KIRQL old = raise_to_device_if(raise_to_device);
        ULONG status = StorPortFreeTimer(inc->extension, t->handle);
        lower_if(raise_to_device, old);
        count_call(status);
        if (status != STOR_STATUS_INVALID_IRQL)
            violation(WRONG_STATUS, "FreeTimer of timer #%" PRIu64 " above DISPATCH_LEVEL "
                      "answered %s, expected INVALID_IRQL (S6.1)", t->id, status_name(status));
        return;
    }
    now_doing("freeing");
    const char *how = calling_context();
    atomic_fetch_add(&t->frees_in_flight, 1);
    pthread_mutex_lock(&inc->lock);
    inc->frees_in_flight++;
    pthread_mutex_unlock(&inc->lock);
    kill_begins(t);

    ULONG status = StorPortFreeTimer(inc->extension, t->handle);
    uint64_t end = next_ticket();
    count_call(status);

    if (status == STOR_STATUS_SUCCESS) {
        uint64_t expected = 0;
        if (!atomic_compare_exchange_strong(&t->freed_ticket, &expected, end))
            violation(WRONG_STATUS, "a second FreeTimer of timer #%" PRIu64 " (adapter %d.%u, "
                      "%s) answered SUCCESS (S6.3: UNSUCCESSFUL)", t->id, inc->slot,
                      inc->number, how);
        if (callback_timer == t)
            atomic_store(&t->freed_by_own_callback, true);
        settle_free(t, end);
    } else if (status != STOR_STATUS_UNSUCCESSFUL ||
               (!timer_freed(t) && atomic_load(&t->frees_in_flight) < 2)) {
        violation(WRONG_STATUS, "FreeTimer of live timer #%" PRIu64 " (adapter %d.%u, %s) "
                  "answered %s; expected SUCCESS (UNSUCCESSFUL only once freed)", t->id,
                  inc->slot, inc->number, how, status_name(status));
    }
    kill_ends(t);
    pthread_mutex_lock(&inc->lock);
    inc->frees_in_flight--;
    pthread_mutex_unlock(&inc->lock);
    atomic_fetch_sub(&t->frees_in_flight, 1);
}
