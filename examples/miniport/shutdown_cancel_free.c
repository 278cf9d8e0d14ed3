/*
 * shutdown_cancel_free.c - cancel every timer under the StartIo lock, then
 * free each one (see the header for why that order).
 */
#include "shutdown_cancel_free.h"

#include "miniport_trace.h"

BOOLEAN ShutdownTrackTimer(PSHUTDOWN_TIMERS Table, PVOID *Handle, PHW_TIMER_EX Callback)
{
    if (Table->Count == SHUTDOWN_MAX_TIMERS)
        return FALSE;
    Table->Timers[Table->Count].Handle = Handle;
    Table->Timers[Table->Count].Callback = Callback;
    Table->Count++;
    return TRUE;
}

VOID ShutdownTrackLegacyTimer(PSHUTDOWN_TIMERS Table, PHW_TIMER HwStorTimer)
{
    Table->HwStorTimer = HwStorTimer;
}

ULONG ShutdownStopAdapterTimers(PVOID DeviceExtension, PSHUTDOWN_TIMERS Table)
{
    STOR_LOCK_HANDLE lock;
    ULONG freed = 0;

    /* 1. Cancel all, as one step: holding the lock, no callback runs. */
    StorPortAcquireSpinLock(DeviceExtension, StartIoLock, NULL, &lock);
    Table->Stopped = TRUE;
    if (Table->HwStorTimer != NULL) {
        StorPortNotification(RequestTimerCall, DeviceExtension, Table->HwStorTimer, (ULONG)0);
        Table->Cancelled++;
    }
    for (ULONG i = 0; i < Table->Count; i++) {
        PVOID handle = *Table->Timers[i].Handle;
        if (handle == NULL)
            continue; /* freed already, by its own callback */
        if (StorPortRequestTimer(DeviceExtension, handle, Table->Timers[i].Callback, NULL, 0,
                                 0) == STOR_STATUS_SUCCESS)
            Table->Cancelled++;
    }
    StorPortReleaseSpinLock(DeviceExtension, &lock);

    /* 2. Free each: nothing is pending, and each free returns with its
     * callback not running (SPEC S6.4.1). */
    for (ULONG i = 0; i < Table->Count; i++) {
        PVOID *slot = Table->Timers[i].Handle;
        if (*slot == NULL)
            continue;
        ULONG status = StorPortFreeTimer(DeviceExtension, *slot);
        if (status == STOR_STATUS_SUCCESS) {
            *slot = NULL;
            freed++;
        } else {
            Table->FreeFailures++;
            MiniportTrace("stop", "StorPortFreeTimer failed: 0x%08X", status);
        }
    }
    Table->Freed += freed;
    MiniportTrace("stop", "%u cancel(s) under the StartIo lock (legacy timer included), "
                  "then %u timer(s) freed", Table->Cancelled, freed);
    return freed;
}
