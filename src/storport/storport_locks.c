/*
 * storport_locks.c - StorPortAcquireSpinLock, StorPortReleaseSpinLock and
 * StorPortStallExecution (SPEC S9, S8.3).
 *
 * Each adapter has a DpcLock, a StartIoLock and an InterruptLock (the
 * StartIo lock itself in half-duplex mode, S3.2). Taking a lock the thread
 * already holds, which deadlocks on Windows, is reported and takes nothing.
 */
#include "adapters/adapter.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "time/clock.h"

#define ST_LOCK_TAKEN 1u

_Static_assert(PASSIVE_LEVEL < DISPATCH_LEVEL && DISPATCH_LEVEL < STOR_DEVICE_LEVEL &&
                   STOR_DEVICE_LEVEL < HIGH_LEVEL,
               "the IRQL checks compare levels in this order (SPEC S2, S9.1)");

static const char *lock_name(STOR_SPINLOCK kind)
{
    switch (kind) {
    case DpcLock: return "DpcLock";
    case StartIoLock: return "StartIoLock";
    case InterruptLock: return "InterruptLock";
    default: return "an unknown lock";
    }
}

/* Counts lock misuse against the adapter (NULL: the process). */
static void lock_misuse(st_adapter *a)
{
    ST_COUNT(st_adapter_counters(a), lock_misuse, 1);
}

VOID StorPortAcquireSpinLock(PVOID HwDeviceExtension, STOR_SPINLOCK SpinLock,
                             PVOID LockContext, PSTOR_LOCK_HANDLE LockHandle)
{
    (void)LockContext; /* the DPC of a DpcLock: one lock serves them all here */
    if (!LockHandle) {
        st_report("StorPortAcquireSpinLock: NULL LockHandle (nothing taken)");
        lock_misuse(NULL);
        return;
    }
    LockHandle->Lock = SpinLock;
    LockHandle->Context.LockObject = NULL;
    LockHandle->Context.OldIrql = st_self.irql;
    LockHandle->Context.Flags = 0;

    st_adapter_ref ref;
    if (!st_adapter_find(HwDeviceExtension, &ref)) {
        st_report("StorPortAcquireSpinLock: %p is not the extension of a live adapter "
                  "(nothing taken)", HwDeviceExtension);
        lock_misuse(NULL);
        return;
    }
    st_adapter *a = ref.adapter;
    KIRQL level = 0;
    st_lock *lock = st_adapter_spin_lock(a, SpinLock, &level);
    if (!lock) {
        st_report("StorPortAcquireSpinLock: unknown STOR_SPINLOCK %d (nothing taken)",
                  (int)SpinLock);
    } else if (st_self.irql > level) {
        st_report("StorPortAcquireSpinLock: %s at IRQL %u, above its level %u "
                  "(nothing taken)", lock_name(SpinLock), (unsigned)st_self.irql,
                  (unsigned)level);
    } else if (st_lock_held_by_me(lock)) {
        st_report("StorPortAcquireSpinLock: this thread already holds the %s of "
                  "adapter %p%s; on Windows this deadlocks (nothing taken)",
                  lock_name(SpinLock), HwDeviceExtension,
                  st_self.callback_adapter == a ? " (timer callbacks run holding "
                                                  "the StartIo lock)" : "");
    } else {
        st_self.irql = level;
        st_lock_acquire(lock);
        LockHandle->Context.LockObject = lock;
        LockHandle->Context.Flags = ST_LOCK_TAKEN;
        return;
    }
    lock_misuse(a);
}

VOID StorPortReleaseSpinLock(PVOID HwDeviceExtension, PSTOR_LOCK_HANDLE LockHandle)
{
    (void)HwDeviceExtension; /* the handle says which lock; it outlives removal */
    if (!LockHandle) {
        st_report("StorPortReleaseSpinLock: NULL LockHandle");
        lock_misuse(NULL);
        return;
    }
    if (!(LockHandle->Context.Flags & ST_LOCK_TAKEN))
        return; /* the acquire took nothing and said so */
    st_adapter *a = NULL;
    st_lock *lock = st_adapter_find_lock(LockHandle->Context.LockObject, &a);
    if (!lock || !st_lock_held_by_me(lock)) {
        st_report("StorPortReleaseSpinLock: this thread does not hold the lock in "
                  "this handle (nothing released)");
        lock_misuse(a);
        return;
    }
    LockHandle->Context.Flags = 0;
    LockHandle->Context.LockObject = NULL;
    st_lock_release(lock);
    st_self.irql = LockHandle->Context.OldIrql;
}

VOID StorPortStallExecution(ULONG Delay)
{
    /* A thread bound to a virtual clock moves it instead (S9.3). */
    st_clock_stall(st_self.bound_clock, Delay);
}
