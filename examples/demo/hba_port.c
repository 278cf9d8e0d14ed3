/*
 * hba_port.c - the demo miniport's adapter-wide timers: the port-start
 * state machine, the surprise-removal watchdog, the legacy HwStorTimer
 * housekeeping tick, and stopping them all.
 *
 * Miniport code: storport.h routines only, state in the HwDeviceExtension.
 * timeline_log plays the part of the miniport's WPP/ETW tracing.
 */
#include "hba_private.h"
#include "timeline.h"

static HW_TIMER_EX AhciPortStartTimer;
static HW_TIMER_EX AhciWatchdogTimer;
static HW_TIMER AhciHwStorTimer;

/* Arms the next poll; BUSY means one is already pending, which is as good. */
static ULONG AhciArmPortPoll(PAHCI_ADAPTER_EXTENSION Extension)
{
    /* Read the time before the call: the library counts from the call, so
     * this due time can only be earlier than its own, never later. */
    ULONGLONG dueUs = SimReadTimestampUs(Extension->Hardware) + AHCI_PORT_POLL_US;
    ULONG status = StorPortRequestTimer(Extension, Extension->PortStartTimer,
                                        AhciPortStartTimer, (PVOID)&Extension->PollDueUs,
                                        AHCI_PORT_POLL_US, 0);
    if (status == STOR_STATUS_SUCCESS)
        atomic_store(&Extension->PollDueUs, dueUs); /* StartIo lock held: cannot fire yet */
    else if (status == STOR_STATUS_BUSY)
        atomic_fetch_add(&Extension->PortStartBusy, 1);
    return status;
}

VOID AhciKickPortStart(PAHCI_ADAPTER_EXTENSION Extension)
{
    ULONGLONG dueUs = SimReadTimestampUs(Extension->Hardware) + AHCI_PORT_KICK_US;
    ULONG status = StorPortRequestTimer(Extension, Extension->PortStartTimer,
                                        AhciPortStartTimer, (PVOID)&Extension->KickDueUs,
                                        AHCI_PORT_KICK_US, 0);
    if (status == STOR_STATUS_SUCCESS) {
        /* Stored after the call: the callback cannot start within 1 ms, and
         * a stale (older) value could only overstate its lateness. */
        atomic_store(&Extension->KickDueUs, dueUs);
        timeline_log("isr", "port change: no poll pending, asked for one in 1 ms");
    } else if (status == STOR_STATUS_BUSY) {
        atomic_fetch_add(&Extension->PortStartBusy, 1);
        timeline_log("isr", "port change: StorPortRequestTimer says BUSY: a poll is "
                     "already pending and will see it");
    } else {
        timeline_log("isr", "port change: StorPortRequestTimer failed: %s",
                     AhciStatusName(status));
    }
}

/* The port-start state machine: one step per poll, re-armed from here. */
static VOID AhciPortStartTimer(PVOID HwDeviceExtension, PVOID Context)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    ULONGLONG firedUs = AhciNoteCallback(ext, AhciTimerPortStart,
                                         atomic_load((_Atomic ULONGLONG *)Context));
    ULONG poll = ++ext->Stats.PortStartPolls;
    ULONG port = SimReadRegister(ext->Hardware, SIM_REG_PORT_STATUS);
    const char *step;

    if (port == SIM_GONE) {
        ext->PortStartState = AhciPortFailed;
        timeline_log("port", "poll %u: registers read all ones, giving up", poll);
        return;
    }
    switch (ext->PortStartState) {
    case AhciPortWaitLink:
        if (!(port & SIM_PORT_LINK_UP)) {
            step = "link not up yet";
            break;
        }
        ext->PortStartState = AhciPortWaitReady;
        step = "link up; waiting for the drive to clear BSY";
        break;
    case AhciPortWaitReady:
        if (!(port & SIM_PORT_READY)) {
            step = "link up, drive still busy";
            break;
        }
        ext->PortStartState = AhciPortStarted;
        ext->Stats.PortStartedAtUs = firedUs;
        atomic_store(&ext->PortStarted, TRUE);
        timeline_log("port", "poll %u: drive ready: port started; keeping the timer "
                     "for later", poll);
        return;
    default:
        timeline_log("port", "poll %u: port already %s, nothing to do", poll,
                     ext->PortStartState == AhciPortStarted ? "started" : "failed");
        return;
    }
    if (ext->ShuttingDown)
        return;
    ULONG status = AhciArmPortPoll(ext);
    if (status == STOR_STATUS_SUCCESS)
        timeline_log("port", "poll %u: %s, re-arming %u ms", poll, step,
                     AHCI_PORT_POLL_US / 1000);
    else if (status == STOR_STATUS_BUSY)
        timeline_log("port", "poll %u: %s; re-arm says BUSY: a poll is already "
                     "pending, fine", poll, step);
    else
        timeline_log("port", "poll %u: %s; re-arm failed: %s", poll, step,
                     AhciStatusName(status));
}

static VOID AhciArmWatchdog(PAHCI_ADAPTER_EXTENSION Extension)
{
    ULONGLONG dueUs = SimReadTimestampUs(Extension->Hardware) + AHCI_WATCHDOG_US;
    ULONG status = StorPortRequestTimer(Extension, Extension->WatchdogTimer,
                                        AhciWatchdogTimer, NULL, AHCI_WATCHDOG_US, 0);
    if (status == STOR_STATUS_SUCCESS)
        Extension->WatchdogDueUs = dueUs;
    else
        timeline_log("watchdog", "re-arm failed: %s", AhciStatusName(status));
}

/* Surprise-removal watchdog: a removed PCIe device reads as all ones. */
static VOID AhciWatchdogTimer(PVOID HwDeviceExtension, PVOID Context)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    UNREFERENCED_PARAMETER(Context);
    AhciNoteCallback(ext, AhciTimerWatchdog, ext->WatchdogDueUs);
    ULONG tick = ++ext->WatchdogTicks;

    if (SimReadRegister(ext->Hardware, SIM_REG_ID) != SIM_GONE) {
        timeline_log("watchdog", "tick %u: device present, %u I/O(s) in flight, "
                     "re-arming 1 s", tick, AhciIoInFlight(ext));
        if (!ext->ShuttingDown)
            AhciArmWatchdog(ext);
        return;
    }
    /* Gone: refuse new I/O, and stop watching. Freeing our own timer from
     * its callback is allowed (SPEC S6.1): the callback runs to its end. */
    ext->DeviceGone = TRUE;
    timeline_log("watchdog", "tick %u: ID register reads 0x%08X: device was "
                 "surprise-removed; refusing new I/O", tick, SIM_GONE);
    ULONG status = StorPortFreeTimer(ext, ext->WatchdogTimer);
    timeline_log("watchdog", "StorPortFreeTimer on my own timer, from my own "
                 "callback: %s", AhciStatusName(status));
    if (status == STOR_STATUS_SUCCESS) {
        ext->WatchdogTimer = NULL;
        ext->Stats.TimersFreed++;
        ext->Stats.WatchdogFreedItself = TRUE;
    }
}

static VOID AhciArmHousekeeping(PAHCI_ADAPTER_EXTENSION Extension)
{
    Extension->HousekeepingDueUs = SimReadTimestampUs(Extension->Hardware) +
                                   AHCI_HOUSEKEEPING_US;
    /* The legacy timer never answers BUSY: a new request replaces the old. */
    StorPortNotification(RequestTimerCall, Extension, AhciHwStorTimer,
                         (ULONG)AHCI_HOUSEKEEPING_US);
}

/* The legacy per-adapter timer, used as a slow housekeeping tick. */
static VOID AhciHwStorTimer(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    AhciNoteCallback(ext, AhciTimerHwStorTimer, ext->HousekeepingDueUs);
    timeline_log("legacy", "HwStorTimer tick %u: %u in flight, %u completed, "
                 "%u timed out", ++ext->HousekeepingTicks, AhciIoInFlight(ext),
                 ext->Stats.IoCompleted, ext->Stats.IoTimedOut);
    if (!ext->ShuttingDown)
        AhciArmHousekeeping(ext);
}

BOOLEAN AhciHwFindAdapter(PVOID HwDeviceExtension, sim_device *Hardware)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    if (SimReadRegister(Hardware, SIM_REG_ID) != SIM_HBA_ID)
        return FALSE;
    ext->Hardware = Hardware;
    return TRUE;
}

static BOOLEAN AhciAllocateTimer(PAHCI_ADAPTER_EXTENSION Extension, PVOID *Timer)
{
    ULONG status = StorPortInitializeTimer(Extension, Timer);
    if (status != STOR_STATUS_SUCCESS) {
        timeline_log("init", "StorPortInitializeTimer failed: %s", AhciStatusName(status));
        return FALSE;
    }
    Extension->Stats.TimersInitialized++;
    return TRUE;
}

BOOLEAN AhciHwInitialize(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    /* Every timer is allocated now, one per command slot: the I/O path runs
     * at DISPATCH_LEVEL and must not fail for want of memory. */
    BOOLEAN ok = AhciAllocateTimer(ext, &ext->PortStartTimer) &&
                 AhciAllocateTimer(ext, &ext->WatchdogTimer);
    for (ULONG slot = 0; ok && slot < SIM_COMMAND_SLOTS; slot++)
        ok = AhciAllocateTimer(ext, &ext->Slots[slot].TimeoutTimer);
    if (!ok)
        return FALSE; /* adapter removal frees what was allocated */
    timeline_log("init", "HwInitialize: %u timers allocated (port start, watchdog, "
                 "%u I/O timeouts)", ext->Stats.TimersInitialized, SIM_COMMAND_SLOTS);

    /* Arm under the StartIo lock, as callbacks run: none can fire before
     * the due times below are stored. */
    STOR_LOCK_HANDLE lock;
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ext->PortStartState = AhciPortWaitLink;
    ULONG status = AhciArmPortPoll(ext);
    AhciArmWatchdog(ext);
    AhciArmHousekeeping(ext);
    StorPortReleaseSpinLock(ext, &lock);
    timeline_log("init", "port start: polling every %u ms (%s); watchdog every 1 s; "
                 "HwStorTimer every %u ms", AHCI_PORT_POLL_US / 1000,
                 AhciStatusName(status), AHCI_HOUSEKEEPING_US / 1000);
    return status == STOR_STATUS_SUCCESS;
}

BOOLEAN AhciPortIsStarted(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    return atomic_load(&ext->PortStarted);
}

/* Frees one timer if it is still allocated; returns 1 when it was freed. */
static ULONG AhciFreeTimer(PAHCI_ADAPTER_EXTENSION Extension, PVOID *Timer)
{
    if (*Timer == NULL)
        return 0;
    ULONG status = StorPortFreeTimer(Extension, *Timer);
    if (status != STOR_STATUS_SUCCESS) {
        timeline_log("stop", "StorPortFreeTimer failed: %s", AhciStatusName(status));
        return 0;
    }
    *Timer = NULL;
    Extension->Stats.TimersFreed++;
    return 1;
}

VOID AhciHwStopAdapter(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;

    /* Holding the StartIo lock no callback runs, and with ShuttingDown set
     * none will re-arm: so each cancel below is final. */
    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ext->ShuttingDown = TRUE;
    StorPortNotification(RequestTimerCall, ext, AhciHwStorTimer, (ULONG)0);
    StorPortRequestTimer(ext, ext->PortStartTimer, AhciPortStartTimer, NULL, 0, 0);
    if (ext->WatchdogTimer)
        StorPortRequestTimer(ext, ext->WatchdogTimer, AhciWatchdogTimer, NULL, 0, 0);
    AhciStopIo(ext);
    StorPortReleaseSpinLock(ext, &lock);
    timeline_log("stop", "HwStorTimer stopped (RequestTimerCall, 0); every timer "
                 "cancelled (TimerValue 0)");

    /* Then free, outside the lock: nothing is pending or running any more. */
    ULONG freed = AhciFreeTimer(ext, &ext->PortStartTimer);
    freed += AhciFreeTimer(ext, &ext->WatchdogTimer);
    for (ULONG slot = 0; slot < SIM_COMMAND_SLOTS; slot++)
        freed += AhciFreeTimer(ext, &ext->Slots[slot].TimeoutTimer);
    timeline_log("stop", "StorPortFreeTimer: %u timers freed%s", freed,
                 ext->Stats.WatchdogFreedItself ? " (the watchdog had freed itself)" : "");
}
