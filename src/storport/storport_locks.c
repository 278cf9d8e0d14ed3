/*
 * storport_locks.c - StorPortAcquireSpinLock, StorPortReleaseSpinLock and
 * StorPortStallExecution (SPEC S9, S8.3).
 *
 * Each adapter has a DpcLock, a StartIoLock and an InterruptLock (the
 * StartIo lock itself in half-duplex mode, S3.2), and each of its DPCs a
 * DpcLock of its own (S14.12), taken with that DPC as LockContext. Taking
 * a lock the thread already holds, which deadlocks on Windows, is reported
 * and takes nothing.
 */
#include "adapters/adapter.h"
#include "adapters/dpc_ops.h"
#include "platform/report.h"
#include "platform/thread_state.h"
#include "platform/verify.h"
#include "time/clock.h"

#define ST_LOCK_TAKEN 1u
#define ST_LOCK_OF_DPC 2u   /* LockObject is the st_dpc whose lock was taken */

/* Stalls Windows asks to keep under 1 ms (S17.2). */
#define ST_LONG_STALL_US 1000u

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

/* Counts lock misuse against the adapter (NULL: the process); with the
 * verifier on, a violation (the report before it says what). */
static void lock_misuse(const void *caller, const char *routine, st_adapter *a)
{
    ST_COUNT(st_adapter_counters(a), lock_misuse, 1);
    if (st_verifying())
        st_verify_finding(caller, "lock misuse in %s (see the report above)", routine);
}

/* ---- the DpcLock of one DPC (S14.12) ---- */

/* Where the thread's hold on the DPC at `address` of `a` is kept, or -1. */
static int held_index(const st_adapter *a, const void *address)
{
    for (unsigned i = 0; i < st_self.held_dpc_count; i++)
        if (st_self.held_dpc_locks[i]->adapter == a &&
            st_self.held_dpc_locks[i]->address == address)
            return (int)i;
    return -1;
}

/* Takes the lock of the DPC `context` of the adapter `ref` found. */
static void acquire_dpc_lock(const st_adapter_ref *ref, PVOID context, PSTOR_LOCK_HANDLE handle,
                             const void *caller)
{
    static const char routine[] = "StorPortAcquireSpinLock";
    st_adapter *a = ref->adapter;
    if (st_self.irql > DISPATCH_LEVEL) {
        st_report("StorPortAcquireSpinLock: DpcLock at IRQL %u, above DISPATCH_LEVEL "
                  "(nothing taken)", (unsigned)st_self.irql);
    } else if (held_index(a, context) >= 0) {
        st_report("StorPortAcquireSpinLock: this thread already holds the DpcLock of DPC %p; "
                  "on Windows this deadlocks (nothing taken)", context);
    } else if (st_self.held_dpc_count == ST_HELD_DPC_LOCKS) {
        st_report("StorPortAcquireSpinLock: this thread holds %u DPC locks already "
                  "(nothing taken)", (unsigned)ST_HELD_DPC_LOCKS);
    } else {
        st_dpc *dpc;
        KIRQL old = st_self.irql;
        st_self.irql = DISPATCH_LEVEL;
        if (st_dpc_acquire_lock(ref, context, &dpc)) {
            st_self.held_dpc_locks[st_self.held_dpc_count++] = dpc;
            handle->Context.LockObject = dpc;
            handle->Context.Flags = ST_LOCK_TAKEN | ST_LOCK_OF_DPC;
            return;
        }
        st_self.irql = old; /* the adapter went away meanwhile */
    }
    lock_misuse(caller, routine, a);
}

/* Releases a DPC's lock this thread holds; false if `dpc` is none. */
static bool release_dpc_lock(const void *dpc, KIRQL old_irql)
{
    for (unsigned i = 0; i < st_self.held_dpc_count; i++) {
        if (st_self.held_dpc_locks[i] != dpc)
            continue;
        st_dpc *held = st_self.held_dpc_locks[i];
        st_self.held_dpc_locks[i] = st_self.held_dpc_locks[--st_self.held_dpc_count];
        st_lock_release(&held->lock);
        st_self.irql = old_irql;
        return true;
    }
    return false;
}

/* ---- the adapter's locks (S9.1) ---- */

VOID StorPortAcquireSpinLock(PVOID HwDeviceExtension, STOR_SPINLOCK SpinLock,
                             PVOID LockContext, PSTOR_LOCK_HANDLE LockHandle)
{
    static const char routine[] = "StorPortAcquireSpinLock";
    const void *caller = ST_CALLER;
    if (!LockHandle) {
        st_report("StorPortAcquireSpinLock: NULL LockHandle (nothing taken)");
        lock_misuse(caller, routine, NULL);
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
        lock_misuse(caller, routine, NULL);
        return;
    }
    st_adapter *a = ref.adapter;
    if (SpinLock == DpcLock && LockContext) {
        if (st_dpc_known(&ref, LockContext)) {
            acquire_dpc_lock(&ref, LockContext, LockHandle, caller);
            return;
        }
        /* Kept from earlier versions' habit: the adapter's DpcLock. */
        st_report("StorPortAcquireSpinLock: LockContext %p is not a DPC of adapter %p; "
                  "the adapter's DpcLock is taken instead", LockContext, HwDeviceExtension);
        lock_misuse(caller, routine, a);
    }
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
    lock_misuse(caller, routine, a);
}

VOID StorPortReleaseSpinLock(PVOID HwDeviceExtension, PSTOR_LOCK_HANDLE LockHandle)
{
    static const char routine[] = "StorPortReleaseSpinLock";
    const void *caller = ST_CALLER;
    (void)HwDeviceExtension; /* the handle says which lock; it outlives removal */
    if (!LockHandle) {
        st_report("StorPortReleaseSpinLock: NULL LockHandle");
        lock_misuse(caller, routine, NULL);
        return;
    }
    if (!(LockHandle->Context.Flags & ST_LOCK_TAKEN))
        return; /* the acquire took nothing and said so */
    if (LockHandle->Context.Flags & ST_LOCK_OF_DPC) {
        /* Looked up among the locks this thread holds: never dereferenced
         * unless it is one of them. */
        if (release_dpc_lock(LockHandle->Context.LockObject, LockHandle->Context.OldIrql)) {
            LockHandle->Context.Flags = 0;
            LockHandle->Context.LockObject = NULL;
            return;
        }
        st_report("StorPortReleaseSpinLock: this thread does not hold the DPC lock in "
                  "this handle (nothing released)");
        lock_misuse(caller, routine, NULL);
        return;
    }
    st_adapter *a = NULL;
    st_lock *lock = st_adapter_find_lock(LockHandle->Context.LockObject, &a);
    if (!lock || !st_lock_held_by_me(lock)) {
        st_report("StorPortReleaseSpinLock: this thread does not hold the lock in "
                  "this handle (nothing released)");
        lock_misuse(caller, routine, a);
        return;
    }
    LockHandle->Context.Flags = 0;
    LockHandle->Context.LockObject = NULL;
    st_lock_release(lock);
    if (lock == st_adapter_startio(a)) /* a dispatcher may wait for it (S14.9) */
        st_doorbell_note_startio_release(&a->doorbell);
    st_self.irql = LockHandle->Context.OldIrql;
}

VOID StorPortStallExecution(ULONG Delay)
{
    /* Accepted, and counted, so that a test can flag them (S17.2). */
    if (Delay >= ST_LONG_STALL_US)
        ST_COUNT(st_adapter_counters(st_self.callback_adapter), long_stalls, 1);
    if (Delay > ST_LONG_STALL_US && st_verifying()) /* Windows: under 1,000 us */
        st_verify_finding(ST_CALLER, "StorPortStallExecution(%u): above 1,000 us",
                          (unsigned)Delay);
    /* A thread bound to a virtual clock moves it instead (S9.3). */
    st_clock_stall(st_self.bound_clock, Delay);
}
