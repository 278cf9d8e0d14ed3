/*
 * hba_io.c - the demo miniport's I/O path: HwStartIo arms a per-command
 * timeout, the completion DPC cancels it, and the timeout callback resets a
 * command the drive never finished.
 *
 * Arming, cancelling and firing all happen under the StartIo lock (the
 * callback runs holding it, SPEC S8), so a completion and its timeout can
 * never both win: whoever takes the lock first retires the slot, and a
 * cancel made under the lock is final (SPEC S5.5, S6.1).
 */
#include "hba_private.h"
#include "timeline.h"

/* Completions shown in the timeline; the rest are only counted. */
#define AHCI_COMPLETIONS_SHOWN 4

ULONG AhciIoInFlight(const AHCI_ADAPTER_EXTENSION *Extension)
{
    ULONG count = 0;
    for (ULONG bits = Extension->SlotsInUse; bits; bits &= bits - 1)
        count++;
    return count;
}

static ULONG AhciFindFreeSlot(const AHCI_ADAPTER_EXTENSION *Extension)
{
    for (ULONG slot = 0; slot < SIM_COMMAND_SLOTS; slot++)
        if (!(Extension->SlotsInUse & (1u << slot)))
            return slot;
    return SIM_COMMAND_SLOTS;
}

static VOID AhciRetireSlot(PAHCI_ADAPTER_EXTENSION Extension, ULONG Slot)
{
    Extension->Slots[Slot].Active = FALSE;
    Extension->SlotsInUse &= ~(1u << Slot);
}

/*
 * Storport calls HwStartIo holding the StartIo lock; this host has no
 * Storport I/O queue, so the miniport takes the lock itself, exactly as it
 * does on its DPC path.
 */
BOOLEAN AhciHwStartIo(PVOID HwDeviceExtension, ULONG IoNumber)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;
    BOOLEAN started = FALSE;

    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ULONG slot = AhciFindFreeSlot(ext);
    if (!ext->DeviceGone && !ext->ShuttingDown && slot < SIM_COMMAND_SLOTS) {
        PAHCI_IO_SLOT io = &ext->Slots[slot];
        ULONGLONG nowUs = SimReadTimestampUs(ext->Hardware);
        /* Arm first, then issue: a command must never be out without its timeout. */
        ULONG status = StorPortRequestTimer(ext, io->TimeoutTimer, AhciIoTimeoutTimer, io,
                                            AHCI_IO_TIMEOUT_US, AHCI_IO_TIMEOUT_SLACK_US);
        if (status == STOR_STATUS_SUCCESS) {
            io->Active = TRUE;
            io->IoNumber = IoNumber;
            io->IssuedUs = nowUs;
            io->DueUs = nowUs + AHCI_IO_TIMEOUT_US;
            ext->SlotsInUse |= 1u << slot;
            ext->Stats.IoStarted++;
            SimWriteRegister(ext->Hardware, SIM_REG_CMD_ISSUE, 1u << slot);
            started = TRUE;
        } else {
            /* BUSY here would mean a slot's timer outlived its command: a bug. */
            timeline_log("io", "I/O #%u: arming its timeout failed: %s", IoNumber,
                         AhciStatusName(status));
        }
    }
    if (!started)
        ext->Stats.IoRefused++;
    StorPortReleaseSpinLock(ext, &lock);
    return started;
}

BOOLEAN AhciHwInterrupt(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    ULONG status = SimReadRegister(ext->Hardware, SIM_REG_INT_STATUS);
    if (status == SIM_GONE || status == 0)
        return FALSE; /* not ours, or the device is gone */
    SimWriteRegister(ext->Hardware, SIM_REG_INT_STATUS, status);
    if (status & SIM_INT_PORT_CHANGE)
        AhciKickPortStart(ext);
    /* Completions need the StartIo lock, which an ISR cannot take: DPC. */
    return (status & SIM_INT_CMD_DONE) != 0;
}

VOID AhciCompletionDpc(PVOID HwDeviceExtension)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;

    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ULONG done = SimReadRegister(ext->Hardware, SIM_REG_CMD_DONE);
    if (done == SIM_GONE)
        done = 0;
    SimWriteRegister(ext->Hardware, SIM_REG_CMD_DONE, done);
    for (ULONG slot = 0; slot < SIM_COMMAND_SLOTS; slot++) {
        PAHCI_IO_SLOT io = &ext->Slots[slot];
        if (!(done & (1u << slot)) || !io->Active)
            continue;
        /* Under the StartIo lock the timeout cannot be running, and after
         * this cancel it will never start: the slot is ours to retire. */
        ULONG status = StorPortRequestTimer(ext, io->TimeoutTimer, AhciIoTimeoutTimer, io,
                                            0, 0);
        if (status == STOR_STATUS_SUCCESS)
            ext->Stats.TimeoutsCancelled++;
        ULONG shown = ++ext->Stats.IoCompleted;
        if (shown <= AHCI_COMPLETIONS_SHOWN) {
            ULONGLONG tookUs = SimReadTimestampUs(ext->Hardware) - io->IssuedUs;
            timeline_log("io", "I/O #%u (slot %u) completed in %.3f ms; timeout "
                         "cancelled: %s", io->IoNumber, slot, (double)tookUs / 1000.0,
                         AhciStatusName(status));
            if (shown == AHCI_COMPLETIONS_SHOWN)
                timeline_log("io", "(later completions are counted, not shown)");
        }
        AhciRetireSlot(ext, slot);
    }
    StorPortReleaseSpinLock(ext, &lock);
}

VOID AhciIoTimeoutTimer(PVOID HwDeviceExtension, PVOID Context)
{
    PAHCI_ADAPTER_EXTENSION ext = HwDeviceExtension;
    PAHCI_IO_SLOT io = Context;
    ULONG slot = (ULONG)(io - ext->Slots);

    ULONGLONG firedUs = AhciNoteCallback(ext, AhciTimerIoTimeout, io->DueUs);
    if (!io->Active) {
        /* Cannot happen: completion cancels under the lock we now hold. */
        timeline_log("io", "slot %u: timeout fired for an idle slot", slot);
        return;
    }
    BOOLEAN gone = SimReadRegister(ext->Hardware, SIM_REG_ID) == SIM_GONE;
    ext->Stats.IoTimedOut++;
    timeline_log("io", "I/O #%u (slot %u) TIMED OUT after %.3f ms (window %u-%u): %s",
                 io->IoNumber, slot, (double)(firedUs - io->IssuedUs) / 1000.0,
                 AHCI_IO_TIMEOUT_US / 1000,
                 (AHCI_IO_TIMEOUT_US + AHCI_IO_TIMEOUT_SLACK_US) / 1000,
                 gone ? "device not answering (reads all ones), failing it"
                      : "aborting the command and resetting the slot");
    SimWriteRegister(ext->Hardware, SIM_REG_CMD_ABORT, 1u << slot);
    AhciRetireSlot(ext, slot);
}

VOID AhciStopIo(PAHCI_ADAPTER_EXTENSION Extension)
{
    for (ULONG slot = 0; slot < SIM_COMMAND_SLOTS; slot++) {
        PAHCI_IO_SLOT io = &Extension->Slots[slot];
        StorPortRequestTimer(Extension, io->TimeoutTimer, AhciIoTimeoutTimer, io, 0, 0);
        if (io->Active) {
            Extension->Stats.IoAbortedAtStop++;
            timeline_log("stop", "I/O #%u (slot %u) still outstanding: aborted",
                         io->IoNumber, slot);
            SimWriteRegister(Extension->Hardware, SIM_REG_CMD_ABORT, 1u << slot);
            AhciRetireSlot(Extension, slot);
        }
    }
}
