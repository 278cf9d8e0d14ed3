/*
 * timer_creation.c - StorPortInitializeTimer: new timers for the workers and
 * the removals, judged against the limited adapter's max_timers (S4.3), and
 * its refusal above DISPATCH_LEVEL (S4.1).
 */
#include "stress.h"

static _Atomic uint64_t timer_ids;

/*
 * S4.3 on the limited adapter: UNSUCCESSFUL only when max_timers timers may
 * have been live at the call; never more than max_timers certainly live.
 */
static void judge_init_limit(incarnation *inc, ULONG status, uint64_t frees_done_before)
{
    ULONG max = inc->config.max_timers;
    pthread_mutex_lock(&inc->lock);
    unsigned live = inc->live_timers;
    unsigned may_have_been = live + inc->inits_in_flight +
                             (unsigned)(inc->frees_done - frees_done_before);
    unsigned certainly = live > inc->frees_in_flight ? live - inc->frees_in_flight : 0;
    pthread_mutex_unlock(&inc->lock);
    if (status == STOR_STATUS_UNSUCCESSFUL && (!max || may_have_been < max))
        violation(WRONG_STATUS, "InitializeTimer on adapter %d.%u (max_timers %u) answered "
                  "UNSUCCESSFUL with at most %u timers live (S4.3)", inc->slot, inc->number,
                  max, may_have_been);
    if (status == STOR_STATUS_SUCCESS && max && certainly > max)
        violation(WRONG_STATUS, "adapter %d.%u has %u timers live, above max_timers %u (S4.3)",
                  inc->slot, inc->number, certainly, max);
}

/* StorPortInitializeTimer (its slot locked); returns the new timer or NULL. */
timer_record *initialize_timer(incarnation *inc, bool steady)
{
    timer_record *t = arena_take(&run.timers);
    if (!t)
        return NULL;
    now_doing("initializing a timer");
    pthread_mutex_lock(&inc->lock);
    inc->inits_in_flight++;
    uint64_t frees_done_before = inc->frees_done;
    pthread_mutex_unlock(&inc->lock);

    PVOID handle = &handle; /* must be overwritten */
    ULONG status = StorPortInitializeTimer(inc->extension, &handle);
    count_call(status);

    if (status == STOR_STATUS_SUCCESS) {
        t->id = atomic_fetch_add(&timer_ids, 1) + 1;
        t->inc = inc;
        t->handle = handle;
        t->steady = steady;
        handle_issued(handle, inc);
        tally(&run.count.inits);
        tally(&inc->inits);
    } else if (status != STOR_STATUS_SUCCESS && handle != NULL) {
        violation(WRONG_STATUS, "InitializeTimer answered %s but left *TimerHandle %p, not "
                  "NULL (S4.6)", status_name(status), handle);
    }
    pthread_mutex_lock(&inc->lock);
    inc->inits_in_flight--;
    if (status == STOR_STATUS_SUCCESS) {
        inc->live_timers++;
        t->next_of_incarnation = inc->timers;
        inc->timers = t;
    }
    pthread_mutex_unlock(&inc->lock);
    if (status != STOR_STATUS_SUCCESS && status != STOR_STATUS_UNSUCCESSFUL)
        violation(WRONG_STATUS, "InitializeTimer at PASSIVE_LEVEL on live adapter %d.%u "
                  "answered %s", inc->slot, inc->number, status_name(status));
    else
        judge_init_limit(inc, status, frees_done_before);
    return status == STOR_STATUS_SUCCESS ? t : NULL; /* a record not used is just left */
}

/* A new timer on a random adapter, for a worker. */
timer_record *create_timer(bool steady)
{
    incarnation *inc = current_incarnation(random_below(ADAPTER_SLOT_COUNT));
    if (!adapter_enter(inc))
        return NULL;
    timer_record *t = initialize_timer(inc, steady);
    adapter_leave(inc);
    return t;
}

/* S4.1 / S6.1: above DISPATCH_LEVEL Initialize and Free refuse at once. */
void refuse_above_dispatch(timer_record *t)
{
    now_doing("initializing at device IRQL");
    KIRQL old = stortimer_irql_raise(STOR_DEVICE_LEVEL);
    PVOID handle = &handle;
    ULONG status = StorPortInitializeTimer(t->inc->extension, &handle);
    stortimer_irql_lower(old);
    count_call(status);
    if (status != STOR_STATUS_INVALID_IRQL || handle != NULL)
        violation(WRONG_STATUS, "InitializeTimer at device IRQL answered %s, handle %p; "
                  "expected INVALID_IRQL and NULL (S4.1)", status_name(status), handle);
    free_extended(t, true);
}
