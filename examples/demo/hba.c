/*
 * hba.c - the demo miniport: the five example patterns on one HBA, and the
 * hooks that tie them together. Miniport code: storport.h and the HBA's
 * registers only; MiniportTrace stands for its WPP tracing.
 */
#include "hba_private.h"

#include "miniport_trace.h"

#include <string.h>

static HW_TIMER HbaHwStorTimer;
static NVME_DEVICE_GONE_ROUTINE HbaDeviceGone;
static HBA_REINIT_QUIESCE_ROUTINE HbaBeforeReset;
static HBA_REINIT_DONE_ROUTINE HbaAfterReset;

ULONG HbaDeviceExtensionSize(void)
{
    return (ULONG)sizeof(HBA_EXTENSION);
}

/* The legacy timer gets only the extension: it drives the re-initialization. */
static VOID HbaHwStorTimer(PVOID HwDeviceExtension)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    HbaReinitTimerStep(ext, &ext->Reinit);
}

/* Before the HBA reset: the reset drops every command and takes the link down. */
static VOID HbaBeforeReset(PVOID HwDeviceExtension, PVOID Context)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    HbaRetireOutstandingIo(ext, &ext->Io.AbortedByReset, "aborted by the HBA reset");
    AhciPortStop(ext, &ext->Port);
    LinkPowerStop(ext, &ext->Link);
}

/* After it: bring the port up again, with its own poll timer. */
static VOID HbaAfterReset(PVOID HwDeviceExtension, PVOID Context, BOOLEAN Success)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    if (Success && !ext->DeviceGone)
        AhciPortStart(ext, &ext->Port);
}

/* The watchdog found the HBA gone: nothing will answer again. */
static VOID HbaDeviceGone(PVOID HwDeviceExtension, PVOID Context)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    ext->DeviceGone = TRUE;
    ULONG failed = HbaRetireOutstandingIo(ext, &ext->Io.FailedByRemoval, "failed: no device");
    MiniportTrace("watchdog", "%u outstanding I/O failed; port, link and reset timers "
                  "cancelled", failed);
    AhciPortStop(ext, &ext->Port);
    LinkPowerStop(ext, &ext->Link);
    HbaReinitCancel(ext, &ext->Reinit);
}

BOOLEAN HbaHwFindAdapter(PVOID HwDeviceExtension, PHW_REGISTERS Registers)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    ULONG version = HwReadRegisterUlong(Registers, AHCI_VS);
    if (version == HW_REGISTER_GONE || (version >> 16) != 1)
        return FALSE; /* not AHCI 1.x */
    ext->Registers = Registers;
    return TRUE;
}

/* Allocates one timer and records it for the stop path. */
static BOOLEAN HbaTrackTimer(PHBA_EXTENSION Extension, ULONG Status, PVOID *Handle,
                             PHW_TIMER_EX Callback)
{
    if (Status != STOR_STATUS_SUCCESS) {
        MiniportTrace("init", "StorPortInitializeTimer failed: 0x%08X", Status);
        return FALSE;
    }
    Extension->TimersInitialized++;
    return ShutdownTrackTimer(&Extension->Timers, Handle, Callback);
}

BOOLEAN HbaHwInitialize(PVOID HwDeviceExtension)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    PHW_REGISTERS regs = ext->Registers;

    /* Every timer now: the I/O path runs at DISPATCH_LEVEL and must not
     * fail for want of memory. */
    BOOLEAN ok = HbaTrackTimer(ext, AhciPortInitialize(ext, &ext->Port, regs, 0),
                               &ext->Port.StartTimer, AhciPortStartTimer) &&
                 HbaTrackTimer(ext, LinkPowerInitialize(ext, &ext->Link, regs, 0),
                               &ext->Link.IdleTimer, LinkPowerIdleTimer);
    for (ULONG slot = 0; ok && slot < HBA_SLOTS; slot++)
        ok = HbaTrackTimer(ext, StorPortInitializeTimer(ext, &ext->Slots[slot].TimeoutTimer),
                           &ext->Slots[slot].TimeoutTimer, HbaIoTimeoutTimer);
    if (!ok)
        return FALSE; /* adapter removal frees what was allocated */
    HbaReinitInitialize(&ext->Reinit, regs, HbaHwStorTimer, HbaBeforeReset, HbaAfterReset,
                        NULL);
    ShutdownTrackLegacyTimer(&ext->Timers, HbaHwStorTimer);

    HwWriteRegisterUlong(regs, AHCI_GHC, AHCI_GHC_AE);
    HwWriteRegisterUlong(regs, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);

    /* Arm under the StartIo lock, as callbacks run: none can fire before
     * everything it uses is in place. */
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ULONG status = NvmeWatchdogStart(ext, &ext->Watchdog, regs, AHCI_VS, HbaDeviceGone, NULL);
    if (ext->Watchdog.Timer != NULL) {
        ext->TimersInitialized++;
        ShutdownTrackTimer(&ext->Timers, &ext->Watchdog.Timer, NvmeWatchdogTimer);
    }
    if (status == STOR_STATUS_SUCCESS)
        AhciPortStart(ext, &ext->Port);
    StorPortReleaseSpinLock(ext, &lock);
    MiniportTrace("init", "HwInitialize: %u timers (port start, link idle, %u I/O "
                  "timeouts, watchdog); watchdog every %u ms", ext->TimersInitialized,
                  HBA_SLOTS, NVME_WATCHDOG_INTERVAL_US / 1000);
    return status == STOR_STATUS_SUCCESS;
}

BOOLEAN HbaPortIsStarted(PVOID HwDeviceExtension)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    BOOLEAN started = ext->Port.State == AhciPortStarted && !ext->DeviceGone;
    StorPortReleaseSpinLock(ext, &lock);
    return started;
}

BOOLEAN HbaHwInterrupt(PVOID HwDeviceExtension)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    ULONG is = HwReadRegisterUlong(ext->Registers, AHCI_IS);
    if (is == HW_REGISTER_GONE || !(is & 1u))
        return FALSE; /* not ours, or the HBA is gone */
    ULONG pxis = HwReadRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxIS));
    HwWriteRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxIS), pxis);
    HwWriteRegisterUlong(ext->Registers, AHCI_IS, is);
    if (pxis & AHCI_PxIS_PCS)
        AhciPortKick(ext, &ext->Port);
    /* Completions need the StartIo lock, which an ISR cannot take: DPC. */
    return (pxis & AHCI_PxIS_DHRS) != 0;
}

VOID HbaHwStopAdapter(PVOID HwDeviceExtension)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;

    /* No more interrupts, so nothing re-arms from the ISR; then what is
     * still out is aborted, and the command engine stopped. */
    HwWriteRegisterUlong(ext->Registers, AHCI_GHC, AHCI_GHC_AE);
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    HbaRetireOutstandingIo(ext, &ext->Io.AbortedAtStop, "aborted at stop");
    ULONG cmd = HwReadRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCMD));
    if (cmd != HW_REGISTER_GONE)
        HwWriteRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCMD), cmd & ~AHCI_PxCMD_ST);
    StorPortReleaseSpinLock(ext, &lock);

    ShutdownStopAdapterTimers(ext, &ext->Timers);
}

VOID HbaQueryStatistics(PVOID HwDeviceExtension, HBA_STATISTICS *Statistics)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    Statistics->Port = ext->Port;
    Statistics->Watchdog = ext->Watchdog;
    Statistics->Link = ext->Link;
    Statistics->Reinit = ext->Reinit;
    Statistics->Timers = ext->Timers;
    Statistics->Io = ext->Io;
    Statistics->TimersInitialized = ext->TimersInitialized;
    StorPortReleaseSpinLock(ext, &lock);
}

VOID HbaQueryTimerHandles(PVOID HwDeviceExtension, HBA_TIMER_HANDLES *Handles)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    memset(Handles, 0, sizeof *Handles);
    Handles->PortStart = ext->Port.StartTimer;
    Handles->Watchdog = ext->Watchdog.Timer;
    Handles->LinkIdle = ext->Link.IdleTimer;
    for (ULONG slot = 0; slot < HBA_SLOTS; slot++)
        Handles->IoTimeout[slot] = ext->Slots[slot].TimeoutTimer;
}
