/*
 * storport_sync.c - StorPortSynchronizeAccess (SPEC S15): a miniport
 * routine run on the calling thread at STOR_DEVICE_LEVEL, holding the
 * adapter's InterruptLock, bound to the adapter's clock.
 */
#include "adapters/adapter_check.h"
#include "adapters/events.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"

/* Counts lock misuse (S15.1) against the adapter (NULL: the process);
 * with the verifier on, a violation. */
static BOOLEAN misuse(st_adapter *a, const void *caller, const char *what)
{
    ST_COUNT(st_adapter_counters(a), lock_misuse, 1);
    if (st_verifying())
        st_verify_finding(caller, "StorPortSynchronizeAccess: %s", what);
    return FALSE;
}

/* Calls the routine at STOR_DEVICE_LEVEL (or the thread's IRQL if higher),
 * bound to the adapter's clock (S15.3, S15.4); restores both after. */
static BOOLEAN call(st_adapter *a, PVOID extension, PSTOR_SYNCHRONIZED_ACCESS routine,
                    PVOID context)
{
    KIRQL old_irql = st_self.irql;
    stortimer_clock *old_clock = st_self.bound_clock;
    if (st_self.irql < STOR_DEVICE_LEVEL)
        st_self.irql = STOR_DEVICE_LEVEL;
    st_self.bound_clock = st_adapter_clock(a);
    ST_COUNT(&a->stats, synchronized_calls, 1);
    ST_LOG(a, .type = STORTIMER_EVENT_SYNC_ENTERED, .extension = extension,
           .sync_routine = routine, .context = context);
    BOOLEAN result = routine(extension, context);
    ST_LOG(a, .type = STORTIMER_EVENT_SYNC_RETURNED, .extension = extension,
           .sync_routine = routine, .context = context, .result = result);
    st_self.bound_clock = old_clock;
    st_self.irql = old_irql;
    return result;
}

BOOLEAN StorPortSynchronizeAccess(PVOID HwDeviceExtension,
                                  PSTOR_SYNCHRONIZED_ACCESS SynchronizedAccessRoutine,
                                  PVOID Context)
{
    bool may_print = st_self.irql <= DISPATCH_LEVEL;
    const void *caller = ST_CALLER;
    st_adapter_ref ref;
    if (!HwDeviceExtension || !SynchronizedAccessRoutine) {
        if (may_print)
            st_report("StorPortSynchronizeAccess: NULL %s (FALSE, nothing runs)",
                      HwDeviceExtension ? "routine" : "HwDeviceExtension");
        return misuse(NULL, caller, "a NULL argument");                   /* S15.1 (1) */
    }
    if (!st_adapter_find(HwDeviceExtension, &ref)) {
        if (may_print)
            st_report("StorPortSynchronizeAccess: %p is not the extension of a live adapter "
                      "(FALSE, nothing runs)", HwDeviceExtension);
        return misuse(NULL, caller, "not the extension of a live adapter"); /* S15.1 (2) */
    }
    st_adapter *a = ref.adapter;
    if (st_self.irql > STOR_DEVICE_LEVEL)
        return misuse(a, caller, "called above STOR_DEVICE_LEVEL");       /* S15.1 (3) */
    KIRQL level;
    st_lock *interrupt = st_adapter_spin_lock(a, InterruptLock, &level);
    if (st_lock_held_by_me(interrupt)) {                                  /* S15.1 (4) */
        if (may_print)
            st_report("StorPortSynchronizeAccess(%p): this thread already holds the adapter's "
                      "InterruptLock%s; on Windows this deadlocks (the routine runs under the "
                      "lock already held)", HwDeviceExtension,
                      interrupt == st_adapter_startio(a) ? " (half-duplex: it is the StartIo "
                                                           "lock)" : "");
        misuse(a, caller, "the thread already holds the InterruptLock (a deadlock on Windows)");
        return call(a, HwDeviceExtension, SynchronizedAccessRoutine, Context);
    }
    KIRQL old_irql = st_self.irql;                                        /* S15.1 (5) */
    st_self.irql = STOR_DEVICE_LEVEL;
    st_lock_acquire(interrupt);
    BOOLEAN result = call(a, HwDeviceExtension, SynchronizedAccessRoutine, Context);
    st_lock_release(interrupt);
    st_self.irql = old_irql;
    st_adapter_check_or_abort(HwDeviceExtension);
    return result;
}
