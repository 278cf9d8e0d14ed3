/*
 * hba_stats.c - the demo miniport measuring itself: each timer callback
 * records how late it started against the due time the miniport computed
 * when it armed the timer, from the hardware timestamp counter. The host
 * reads the result as a WMI-style query.
 */
#include "hba_private.h"

#include <string.h>

ULONG AhciDeviceExtensionSize(void)
{
    return (ULONG)sizeof(AHCI_ADAPTER_EXTENSION);
}

ULONGLONG AhciNoteCallback(PAHCI_ADAPTER_EXTENSION Extension, AHCI_TIMER_KIND Kind,
                           ULONGLONG DueUs)
{
    ULONGLONG firedUs = SimReadTimestampUs(Extension->Hardware);
    LONGLONG lateUs = (LONGLONG)(firedUs - DueUs);
    AHCI_LATENESS *lateness = &Extension->Stats.Lateness[Kind];
    if (lateUs < 0)
        lateness->Early++;
    if (lateness->Count < AHCI_LATENESS_SAMPLES)
        lateness->SamplesUs[lateness->Count] = lateUs;
    lateness->Count++;
    return firedUs;
}

VOID AhciQueryStatistics(PVOID HwDeviceExtension, AHCI_DEMO_STATISTICS *Statistics)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    memcpy(Statistics, &ext->Stats, sizeof *Statistics);
    Statistics->PortStartBusy = atomic_load(&ext->PortStartBusy);
    StorPortReleaseSpinLock(ext, &lock);
}

const char *AhciStatusName(ULONG Status)
{
    switch (Status) {
    case STOR_STATUS_SUCCESS: return "STOR_STATUS_SUCCESS";
    case STOR_STATUS_BUSY: return "STOR_STATUS_BUSY";
    case STOR_STATUS_INVALID_PARAMETER: return "STOR_STATUS_INVALID_PARAMETER";
    case STOR_STATUS_UNSUCCESSFUL: return "STOR_STATUS_UNSUCCESSFUL";
    default: return "an unexpected status";
    }
}
