/*
 * storport_locks.c - StorPortAcquireSpinLock and StorPortReleaseSpinLock
 * (SPEC S8, S9).
 *
 * Each adapter has a DpcLock, a StartIoLock and an InterruptLock (the
 * StartIo lock itself in half-duplex mode). Taking a lock the thread already
 * holds, which deadlocks on Windows, is reported and takes nothing.
 */
#include "adapter.h"
#include "registry.h"
#include "report.h"
#include "thread_state.h"

#define ST_LOCK_TAKEN 1u

static const char *lock_name(STOR_SPINLOCK kind)
{
    switch (kind) {
    case DpcLock: return "DpcLock";
    case StartIoLock: return "StartIoLock";
    case InterruptLock: return "InterruptLock";
    default: return "an unknown lock";
    }
}

static void lock_misuse(st_adapter *a)
{
    if (a)
        ST_COUNT(a, lock_misuse, 1);
    else
        atomic_fetch_add_explicit(&st_unattributed.lock_misuse, 1, memory_order_relaxed);
}

/* The lock of that kind and the IRQL it raises to; NULL for an unknown kind. */
static st_lock *select_lock(st_adapter *a, STOR_SPINLOCK kind, KIRQL *level)
{
    switch (kind) {
    case DpcLock: *level = DISPATCH_LEVEL; return &a->dpc;
    case StartIoLock: *level = DISPATCH_LEVEL; return &a->startio;
    case InterruptLock: *level = STOR_DEVICE_LEVEL; return a->interrupt;
    default: return NULL;
    }
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

    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(HwDeviceExtension, &serial);
    if (!a) {
        st_report("StorPortAcquireSpinLock: %p is not the extension of a live adapter "
                  "(nothing taken)", HwDeviceExtension);
        lock_misuse(NULL);
        return;
    }
    KIRQL level = 0;
    st_lock *lock = select_lock(a, SpinLock, &level);
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
    st_lock *lock = st_registry_find_lock(LockHandle->Context.LockObject, &a);
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

ULONG stortimer_adapter_interrupt(PVOID hw_device_extension, PHW_INTERRUPT interrupt_routine,
                                  BOOLEAN *claimed)
{
    if (claimed)
        *claimed = FALSE;
    uint64_t serial;
    st_adapter *a = st_registry_adapter_find(hw_device_extension, &serial);
    if (!a || !interrupt_routine)
        return STOR_STATUS_INVALID_PARAMETER;
    /* Checked here, not left to the acquire, which would only report. */
    if (st_self.irql > STOR_DEVICE_LEVEL || st_lock_held_by_me(a->interrupt))
        return STOR_STATUS_INVALID_DEVICE_STATE;
    STOR_LOCK_HANDLE handle;
    StorPortAcquireSpinLock(hw_device_extension, InterruptLock, NULL, &handle);
    if (!(handle.Context.Flags & ST_LOCK_TAKEN))
        return STOR_STATUS_INVALID_PARAMETER; /* removed meanwhile */
    BOOLEAN mine = interrupt_routine(hw_device_extension);
    StorPortReleaseSpinLock(hw_device_extension, &handle);
    if (claimed)
        *claimed = mine;
    return STOR_STATUS_SUCCESS;
}
