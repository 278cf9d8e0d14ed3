/*
 * A miniport fragment written as for the WDK: SAL annotations, WDK types and
 * names, function-typed callback declarations. It must compile unchanged
 * with -std=c11 -pedantic-errors -Wall -Wextra -Werror (SPEC S2).
 */
#include <storport.h>

typedef struct _HW_DEVICE_EXTENSION {
    PVOID IoTimer;
    ULONG PollCount;
    BOOLEAN LinkUp;
    UCHAR Reserved[3];
    ULONGLONG LastPollTime;
} HW_DEVICE_EXTENSION, *PHW_DEVICE_EXTENSION;

HW_TIMER_EX SampleIoTimeout;
HW_TIMER SampleHwStorTimer;

_Use_decl_annotations_
VOID SampleIoTimeout(PVOID DeviceExtension, PVOID Context)
{
    PHW_DEVICE_EXTENSION adapter = (PHW_DEVICE_EXTENSION)DeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    adapter->PollCount++;
}

_Use_decl_annotations_
VOID SampleHwStorTimer(PVOID DeviceExtension)
{
    PHW_DEVICE_EXTENSION adapter = (PHW_DEVICE_EXTENSION)DeviceExtension;
    if (!adapter->LinkUp) {
        StorPortNotification(RequestTimerCall, DeviceExtension, SampleHwStorTimer, 10000);
    }
}

_IRQL_requires_max_(DISPATCH_LEVEL)
ULONG SampleStartIo(_In_ PVOID DeviceExtension)
{
    PHW_DEVICE_EXTENSION adapter = (PHW_DEVICE_EXTENSION)DeviceExtension;
    STOR_LOCK_HANDLE lockHandle = {0};
    ULONG status;

    if (adapter->IoTimer == NULL) {
        status = StorPortInitializeTimer(DeviceExtension, &adapter->IoTimer);
        if (status != STOR_STATUS_SUCCESS) {
            return status;
        }
    }
    StorPortAcquireSpinLock(DeviceExtension, StartIoLock, NULL, &lockHandle);
    status = StorPortRequestTimer(DeviceExtension, adapter->IoTimer, SampleIoTimeout,
                                  NULL, 30 * 1000 * 1000ULL, 1000 * 1000ULL);
    if (status == STOR_STATUS_BUSY) {
        status = STOR_STATUS_SUCCESS; /* already pending */
    }
    StorPortReleaseSpinLock(DeviceExtension, &lockHandle);
    StorPortStallExecution(10);
    return status;
}

VOID SampleStop(_In_ PVOID DeviceExtension)
{
    PHW_DEVICE_EXTENSION adapter = (PHW_DEVICE_EXTENSION)DeviceExtension;
    STOR_SYNCHRONIZATION_MODEL model = StorSynchronizeFullDuplex;
    KIRQL irql = DISPATCH_LEVEL;
    UNREFERENCED_PARAMETER(model);
    UNREFERENCED_PARAMETER(irql);
    StorPortNotification(RequestTimerCall, DeviceExtension, SampleHwStorTimer, 0);
    (VOID)StorPortRequestTimer(DeviceExtension, adapter->IoTimer, SampleIoTimeout, NULL, 0, 0);
    (VOID)StorPortFreeTimer(DeviceExtension, adapter->IoTimer);
    adapter->IoTimer = NULL;
}
