/*
 * hba.c - the demo miniport: the example patterns on one HBA, and the
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
static COMPLETION_DPC_WORK_ROUTINE HbaDpcWork;
static STOR_SYNCHRONIZED_ACCESS HbaCopyInterruptState;

/* The causes the ISR latches for the completion DPC. */
#define HBA_CAUSE_COMPLETION AHCI_PxIS_DHRS
#define HBA_CAUSE_FATAL      AHCI_PxIS_IFS

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
    ULONG aborted = HbaRetireOutstandingIo(ext, &ext->Io.AbortedByReset,
                                           "aborted by the HBA reset");
    MiniportHistoryRecord(&ext->History, "HBA reset: outstanding I/O aborted", aborted);
    AhciPortStop(ext, &ext->Port);
    LinkPowerStop(ext, &ext->Link);
}

/* After it: bring the port up again, with its own poll timer. */
static VOID HbaAfterReset(PVOID HwDeviceExtension, PVOID Context, BOOLEAN Success)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    MiniportHistoryRecord(&ext->History, Success ? "HBA re-initialized, adapter resumed"
                                                 : "HBA reset failed, adapter resumed",
                          ext->Reinit.Steps);
    if (Success && !ext->DeviceGone)
        AhciPortStart(ext, &ext->Port);
}

/* The watchdog found the HBA gone: nothing will answer again. */
static VOID HbaDeviceGone(PVOID HwDeviceExtension, PVOID Context)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    ext->DeviceGone = TRUE;
    MiniportHistoryRecord(&ext->History, "device surprise-removed (watchdog)",
                          ext->Watchdog.Ticks);
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
    /* Before interrupts are enabled: the ISR issues it. */
    CompletionDpcInitialize(ext, &ext->Completion, HbaDpcWork, NULL);
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
    MiniportHistoryRecord(&ext->History, "HwInitialize: timers allocated, port starting",
                          ext->TimersInitialized);
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

/* The ISR's half of an interface fatal error: Storport must hold I/O at once. */
static VOID HbaInterruptFatalError(PHBA_EXTENSION Extension)
{
    Extension->FatalErrors++;
    /* Above DISPATCH_LEVEL: handed over, counted from now (SPEC S16.9). */
    StorPortPause(Extension, HBA_REINIT_PAUSE_S);
    MiniportTrace("isr", "port 0 interface fatal error: adapter paused (StorPortPause at "
                  "device IRQL); the DPC will reset the HBA");
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
    if (pxis & HBA_CAUSE_FATAL)
        HbaInterruptFatalError(ext);
    /* Completions and resets need the StartIo lock, which an ISR cannot
     * take: latch them for the DPC and queue it. */
    ULONG causes = pxis & (HBA_CAUSE_COMPLETION | HBA_CAUSE_FATAL);
    if (causes != 0)
        CompletionDpcQueue(ext, &ext->Completion, causes);
    return TRUE;
}

/* The completion DPC's work, StartIo lock held (completion_dpc.h). */
static VOID HbaDpcWork(PVOID HwDeviceExtension, PVOID Context, ULONG Causes,
                       LARGE_INTEGER FirstLatched)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    if (Causes & HBA_CAUSE_COMPLETION)
        HbaCompleteFinishedIo(ext);
    if (!(Causes & HBA_CAUSE_FATAL))
        return;
    MiniportHistoryRecordAt(&ext->History, FirstLatched,
                            "interface fatal error (ISR): adapter paused", 0);
    MiniportTrace("dpc", "interface fatal error: the DPC starts the HBA reset (re-arms "
                  "the legacy timer)");
    HbaReinitStart(ext, &ext->Reinit);
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
    HbaReinitCancel(ext, &ext->Reinit); /* and resume, if a reset had paused */
    MiniportHistoryRecord(&ext->History, "HwAdapterControl(ScsiStopAdapter)",
                          ext->Completion.Runs);
    ULONG cmd = HwReadRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCMD));
    if (cmd != HW_REGISTER_GONE)
        HwWriteRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCMD), cmd & ~AHCI_PxCMD_ST);
    StorPortReleaseSpinLock(ext, &lock);

    ShutdownStopAdapterTimers(ext, &ext->Timers);
}

/* Interrupt lock held: copies what the ISR owns. */
static BOOLEAN HbaCopyInterruptState(PVOID HwDeviceExtension, PVOID Context)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    HBA_STATISTICS *statistics = Context;
    statistics->Completion = ext->Completion;
    statistics->FatalErrors = ext->FatalErrors;
    return TRUE;
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
    Statistics->History = ext->History;
    Statistics->TimersInitialized = ext->TimersInitialized;
    StorPortSynchronizeAccess(ext, HbaCopyInterruptState, Statistics);
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
