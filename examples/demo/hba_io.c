/*
 * hba_io.c - the demo miniport's I/O path: HwStartIo arms a per-command
 * timeout and tells the link idle timer, the completion DPC (hba.c queues
 * it from the ISR) cancels the timeout, and a timeout asks for an HBA
 * re-initialization.
 *
 * Arming, cancelling and firing all happen under the StartIo lock (the
 * callback runs holding it, SPEC S8.1), so a completion and its timeout can
 * never both win: whoever takes the lock first retires the slot, and a
 * cancel made under the lock is final (SPEC S5.5).
 */
#include "hba_private.h"

#include "miniport_trace.h"

/* Completions shown in the timeline; the rest are only counted. */
#define HBA_COMPLETIONS_SHOWN 3

static VOID HbaRetireSlot(PHBA_EXTENSION Extension, PHBA_IO_SLOT Io)
{
    /* Under the StartIo lock the timeout is not running, and after this
     * cancel it will never start. */
    StorPortRequestTimer(Extension, Io->TimeoutTimer, HbaIoTimeoutTimer, Io, 0, 0);
    Io->Active = FALSE;
}

ULONG HbaRetireOutstandingIo(PHBA_EXTENSION Extension, ULONG *Counter, const char *Why)
{
    ULONG retired = 0;
    for (ULONG slot = 0; slot < HBA_SLOTS; slot++) {
        PHBA_IO_SLOT io = &Extension->Slots[slot];
        if (!io->Active)
            continue;
        MiniportTrace("io", "I/O #%u (slot %u) %s", io->IoNumber, slot, Why);
        HbaRetireSlot(Extension, io);
        (*Counter)++;
        retired++;
    }
    return retired;
}

/*
 * Storport calls HwStartIo holding the StartIo lock; this host has no
 * Storport I/O queue, so the miniport takes the lock itself, exactly as it
 * does on its DPC path.
 */
BOOLEAN HbaHwStartIo(PVOID HwDeviceExtension, ULONG IoNumber)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    STOR_LOCK_HANDLE lock;
    BOOLEAN started = FALSE;

    StorPortAcquireSpinLock(ext, StartIoLock, NULL, &lock);
    ULONG slot = 0;
    while (slot < HBA_SLOTS && ext->Slots[slot].Active)
        slot++;
    if (!ext->DeviceGone && !ext->Timers.Stopped && slot < HBA_SLOTS &&
        ext->Port.State == AhciPortStarted) {
        PHBA_IO_SLOT io = &ext->Slots[slot];
        /* Arm first, then issue: a command is never out without its timeout. */
        ULONG status = StorPortRequestTimer(ext, io->TimeoutTimer, HbaIoTimeoutTimer, io,
                                            HBA_IO_TIMEOUT_US, HBA_IO_TIMEOUT_SLACK_US);
        if (status == STOR_STATUS_SUCCESS) {
            io->Active = TRUE;
            io->IoNumber = IoNumber;
            ext->Io.Started++;
            LinkPowerNoteIo(ext, &ext->Link);
            HwWriteRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCI), 1u << slot);
            started = TRUE;
        } else {
            /* BUSY here would mean a slot's timer outlived its command: a bug. */
            MiniportTrace("io", "I/O #%u: arming its timeout failed: 0x%08X", IoNumber, status);
        }
    }
    if (!started)
        ext->Io.Refused++;
    StorPortReleaseSpinLock(ext, &lock);
    return started;
}

VOID HbaCompleteFinishedIo(PHBA_EXTENSION Extension)
{
    PHBA_EXTENSION ext = Extension;
    ULONG issued = HwReadRegisterUlong(ext->Registers, AHCI_PORT(0, AHCI_PxCI));
    for (ULONG slot = 0; issued != HW_REGISTER_GONE && slot < HBA_SLOTS; slot++) {
        PHBA_IO_SLOT io = &ext->Slots[slot];
        if (!io->Active || (issued & (1u << slot)))
            continue; /* idle, or still in the drive's hands */
        ext->Io.TimeoutsCancelled++;
        if (++ext->Io.Completed <= HBA_COMPLETIONS_SHOWN)
            MiniportTrace("io", "I/O #%u (slot %u) completed; its timeout cancelled%s",
                          io->IoNumber, slot, ext->Io.Completed == HBA_COMPLETIONS_SHOWN
                          ? " (later completions are counted, not shown)" : "");
        HbaRetireSlot(ext, io);
    }
}

VOID HbaIoTimeoutTimer(PVOID HwDeviceExtension, PVOID Context)
{
    PHBA_EXTENSION ext = HwDeviceExtension;
    PHBA_IO_SLOT io = Context;
    ext->Io.TimeoutCallbacks++;
    if (!io->Active)
        return; /* cannot happen: completion cancels under the lock we now hold */
    io->Active = FALSE;
    ext->Io.TimedOut++;
    if (HwReadRegisterUlong(ext->Registers, AHCI_VS) == HW_REGISTER_GONE) {
        MiniportTrace("io", "I/O #%u TIMED OUT: the HBA reads all ones; the watchdog "
                      "will deal with it", io->IoNumber);
        return;
    }
    MiniportTrace("io", "I/O #%u (slot %u) TIMED OUT (window %u-%u ms): resetting the HBA",
                  io->IoNumber, (ULONG)(io - ext->Slots), HBA_IO_TIMEOUT_US / 1000,
                  (HBA_IO_TIMEOUT_US + HBA_IO_TIMEOUT_SLACK_US) / 1000);
    MiniportHistoryRecord(&ext->History, "I/O timed out: HBA reset, adapter paused",
                          io->IoNumber);
    HbaReinitStart(ext, &ext->Reinit);
}
