/*
 * invalid_calls.c - calls that must fail and change nothing: stale handles
 * of freed timers and removed adapters, forged handles and extensions,
 * another adapter's handle, NULL arguments (S4.2, S5.2, S6.2, S6.3, S7.5, S12.2).
 */
#include "stress.h"

#include <inttypes.h>

/* An address that is no adapter's extension. */
static char not_an_extension[64];

/* A dead timer's handle, with a call that must fail (S5.2, S6.2, S6.3, S12.2). */
void use_stale_handle(void)
{
    unsigned added = atomic_load(&run.stale_added);
    if (!added)
        return;
    unsigned kept = added < STALE_POOL_SIZE ? added : STALE_POOL_SIZE;
    timer_record *t = atomic_load(&run.stale[random_below(kept)]);
    /* stale_pool_add counts an entry before it stores it: the slot may still be empty. */
    if (!t)
        return;
    incarnation *inc = t->inc;
    /* Unlocked, the call races the adapter's removal: only "fails" is certain. */
    bool locked = !one_in(4);
    if (locked)
        pthread_rwlock_rdlock(&slots[inc->slot].lock);
    bool removed_before = atomic_load(&inc->removed);
    bool live = current_incarnation(inc->slot) == inc;
    now_doing("calling with a stale handle");
    if (one_in(2)) {
        bool arm = one_in(2), device = one_in(3);
        KIRQL old = device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
        ULONG status = StorPortRequestTimer(inc->extension, t->handle, extended_callback,
                                            &rejected_request_context, arm ? 100 : 0, 0);
        if (device)
            stortimer_irql_lower(old);
        count_call(status);
        if (status != STOR_STATUS_INVALID_PARAMETER)
            violation(WRONG_STATUS, "RequestTimer(%s) with the stale handle of timer #%" PRIu64
                      " (adapter %d.%u, %s) answered %s, expected INVALID_PARAMETER (S5.2)",
                      arm ? "arm" : "cancel", t->id, inc->slot, inc->number,
                      timer_freed(t) ? "freed" : "removed", status_name(status));
    } else {
        ULONG status = StorPortFreeTimer(inc->extension, t->handle);
        count_call(status);
        /* S6.3 while its adapter lives; S6.2 once it is gone (or names another adapter). */
        ULONG exact = locked && live       ? STOR_STATUS_UNSUCCESSFUL
                      : locked || removed_before ? STOR_STATUS_INVALID_PARAMETER
                                                 : 0;
        bool fails = status == STOR_STATUS_UNSUCCESSFUL || status == STOR_STATUS_INVALID_PARAMETER;
        if (exact ? status != exact : !fails)
            violation(WRONG_STATUS, "FreeTimer with the stale handle of timer #%" PRIu64
                      " (adapter %d.%u, %s, adapter %s) answered %s, expected %s", t->id,
                      inc->slot, inc->number, timer_freed(t) ? "freed" : "removed",
                      live ? "live" : "removed", status_name(status),
                      exact ? status_name(exact) : "UNSUCCESSFUL or INVALID_PARAMETER");
    }
    if (locked)
        pthread_rwlock_unlock(&slots[inc->slot].lock);
}

/* Calls that must answer INVALID_PARAMETER and change nothing. */
static void expect_invalid(ULONG status, const char *call)
{
    count_call(status);
    if (status != STOR_STATUS_INVALID_PARAMETER)
        violation(WRONG_STATUS, "%s answered %s, expected INVALID_PARAMETER", call,
                  status_name(status));
}

/* Made-up handles and extensions on a live adapter (S5.2, S6.2, S12.2). */
void use_forged_handle(timer_record *own)
{
    incarnation *inc = own->inc;
    now_doing("calling with a forged handle");
    PVOID forged = (PVOID)(uintptr_t)forged_handle(own->handle);
    if (forged) {
        expect_invalid(StorPortRequestTimer(inc->extension, forged, extended_callback,
                                            &rejected_request_context, 100, 0),
                       "RequestTimer(arm) with a forged handle");
        expect_invalid(StorPortRequestTimer(inc->extension, forged, extended_callback, NULL, 0, 0),
                       "RequestTimer(cancel) with a forged handle");
        expect_invalid(StorPortFreeTimer(inc->extension, forged), "FreeTimer with a forged handle");
    }
    PVOID fake = not_an_extension + random_below(sizeof not_an_extension);
    expect_invalid(StorPortRequestTimer(fake, own->handle, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a forged extension");
    expect_invalid(StorPortFreeTimer(fake, own->handle), "FreeTimer with a forged extension");
    PVOID handle = &handle;
    expect_invalid(StorPortInitializeTimer(fake, &handle),
                   "InitializeTimer with a forged extension");
    /* S7.5: VOID, counted as misuse and otherwise ignored. */
    StorPortNotification(RequestTimerCall, fake, legacy_routine, (ULONG)100);
    StorPortNotification(RequestTimerCall, inc->extension, NULL, (ULONG)100);
    StorPortNotification(NextRequest, inc->extension);
    atomic_fetch_add(&run.count.operations, 3);
    atomic_fetch_add(&run.count.notification_misuse, 2);
}

/* A live timer's handle with another adapter's extension (S5.2, S6.2). */
void use_foreign_handle(timer_record *own)
{
    int other = (own->inc->slot + 1 + (int)random_below(ADAPTER_SLOT_COUNT - 1)) %
                ADAPTER_SLOT_COUNT;
    pthread_rwlock_rdlock(&slots[other].lock);
    incarnation *foreign = current_incarnation(other);
    now_doing("calling with another adapter's handle");
    bool device = one_in(3);
    KIRQL old = device ? stortimer_irql_raise(STOR_DEVICE_LEVEL) : 0;
    expect_invalid(StorPortRequestTimer(foreign->extension, own->handle, extended_callback,
                                        &rejected_request_context, one_in(2) ? 100 : 0, 0),
                   "RequestTimer with another adapter's handle");
    if (device)
        stortimer_irql_lower(old);
    else
        expect_invalid(StorPortFreeTimer(foreign->extension, own->handle),
                       "FreeTimer with another adapter's handle");
    pthread_rwlock_unlock(&slots[other].lock);
}

/* NULL arguments (S4.2, S5.1, S6.2); a NULL callback must not even cancel. */
void use_null_arguments(timer_record *own)
{
    incarnation *inc = own->inc;
    now_doing("calling with NULL arguments");
    expect_invalid(StorPortRequestTimer(NULL, own->handle, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a NULL extension");
    expect_invalid(StorPortRequestTimer(inc->extension, NULL, extended_callback,
                                        &rejected_request_context, 100, 0),
                   "RequestTimer with a NULL handle");
    expect_invalid(StorPortRequestTimer(inc->extension, own->handle, NULL, NULL, 0, 0),
                   "RequestTimer(cancel) with a NULL callback");
    expect_invalid(StorPortFreeTimer(inc->extension, NULL), "FreeTimer with a NULL handle");
    expect_invalid(StorPortFreeTimer(NULL, own->handle), "FreeTimer with a NULL extension");
    expect_invalid(StorPortInitializeTimer(inc->extension, NULL),
                   "InitializeTimer with a NULL TimerHandle");
}
