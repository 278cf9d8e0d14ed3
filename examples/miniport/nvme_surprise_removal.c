/*
 * nvme_surprise_removal.c - the surprise-removal watchdog and the NVMe-like
 * controller that uses it (see the header).
 */
#include "nvme_surprise_removal.h"

#include "miniport_trace.h"

ULONG NvmeWatchdogStart(PVOID DeviceExtension, PNVME_WATCHDOG Watchdog,
                        PHW_REGISTERS Registers, ULONG StatusRegister,
                        NVME_DEVICE_GONE_ROUTINE *DeviceGone, PVOID DeviceGoneContext)
{
    Watchdog->Registers = Registers;
    Watchdog->StatusRegister = StatusRegister;
    Watchdog->DeviceGone = DeviceGone;
    Watchdog->DeviceGoneContext = DeviceGoneContext;
    Watchdog->DeviceRemoved = FALSE;
    ULONG status = StorPortInitializeTimer(DeviceExtension, &Watchdog->Timer);
    if (status != STOR_STATUS_SUCCESS)
        return status;
    return StorPortRequestTimer(DeviceExtension, Watchdog->Timer, NvmeWatchdogTimer, Watchdog,
                                NVME_WATCHDOG_INTERVAL_US, 0);
}

VOID NvmeWatchdogTimer(PVOID DeviceExtension, PVOID Context)
{
    PNVME_WATCHDOG Watchdog = Context;
    ULONG tick = ++Watchdog->Ticks;

    if (HwReadRegisterUlong(Watchdog->Registers, Watchdog->StatusRegister) != HW_REGISTER_GONE) {
        /* Our callback has started, so the timer is no longer pending and
         * this re-arm cannot be BUSY (SPEC S5.6). */
        ULONG status = StorPortRequestTimer(DeviceExtension, Watchdog->Timer, NvmeWatchdogTimer,
                                            Watchdog, NVME_WATCHDOG_INTERVAL_US, 0);
        if (status != STOR_STATUS_SUCCESS)
            MiniportTrace("watchdog", "tick %u: re-arm failed (0x%08X): watchdog stops", tick,
                          status);
        return;
    }

    Watchdog->DeviceRemoved = TRUE;
    MiniportTrace("watchdog", "tick %u: status register reads 0x%08X: the device was "
                  "surprise-removed", tick, HW_REGISTER_GONE);
    if (Watchdog->DeviceGone != NULL)
        Watchdog->DeviceGone(DeviceExtension, Watchdog->DeviceGoneContext);

    /* From inside our own callback the free does not wait for us (that
     * would deadlock): the timer is dead at once and this callback runs to
     * its end, touching only the extension from here on (SPEC S6.4.1). */
    Watchdog->FreeStatus = StorPortFreeTimer(DeviceExtension, Watchdog->Timer);
    if (Watchdog->FreeStatus == STOR_STATUS_SUCCESS)
        Watchdog->Timer = NULL; /* so that the stop path does not free it again */
    if (Watchdog->FreeStatus == STOR_STATUS_SUCCESS)
        MiniportTrace("watchdog", "StorPortFreeTimer on my own timer, from my own callback: "
                      "STOR_STATUS_SUCCESS");
    else
        MiniportTrace("watchdog", "StorPortFreeTimer on my own timer failed: 0x%08X",
                      Watchdog->FreeStatus);
}

/* ---- the NVMe-like controller ---- */

/* The watchdog found the device gone: nothing will complete what is out. */
static VOID NvmeFailOutstanding(PVOID DeviceExtension, PVOID Context)
{
    PNVME_CONTROLLER Controller = Context;
    UNREFERENCED_PARAMETER(DeviceExtension);
    for (ULONG cid = 0; cid < NVME_MAX_COMMANDS; cid++) {
        if (!(Controller->Outstanding & (1u << cid)))
            continue;
        /* A WDK miniport completes the SRB here with SRB_STATUS_NO_DEVICE
         * (StorPortNotification(RequestComplete, ...)). */
        Controller->CommandStatus[cid] = NVME_COMMAND_NO_DEVICE;
        Controller->FailedOnRemoval++;
    }
    MiniportTrace("watchdog", "failed %u outstanding command(s)", Controller->FailedOnRemoval);
    Controller->Outstanding = 0;
}

BOOLEAN NvmeControllerInitialize(PVOID DeviceExtension, PNVME_CONTROLLER Controller,
                                 PHW_REGISTERS Registers)
{
    Controller->Registers = Registers;
    ULONG csts = HwReadRegisterUlong(Registers, NVME_REG_CSTS);
    if (csts == HW_REGISTER_GONE || !(csts & NVME_CSTS_RDY))
        return FALSE;
    return NvmeWatchdogStart(DeviceExtension, &Controller->Watchdog, Registers, NVME_REG_CSTS,
                             NvmeFailOutstanding, Controller) == STOR_STATUS_SUCCESS;
}

BOOLEAN NvmeSubmitCommand(PVOID DeviceExtension, PNVME_CONTROLLER Controller, ULONG Cid)
{
    UNREFERENCED_PARAMETER(DeviceExtension);
    if (Controller->Watchdog.DeviceRemoved || Cid >= NVME_MAX_COMMANDS ||
        (Controller->Outstanding & (1u << Cid))) {
        Controller->Refused++;
        return FALSE;
    }
    Controller->Outstanding |= 1u << Cid;
    Controller->CommandStatus[Cid] = NVME_COMMAND_PENDING;
    Controller->Submitted++;
    HwWriteRegisterUlong(Controller->Registers, NVME_REG_SQ0TDBL, Cid);
    return TRUE;
}

BOOLEAN NvmeControllerInterrupt(PVOID DeviceExtension, PNVME_CONTROLLER Controller)
{
    UNREFERENCED_PARAMETER(DeviceExtension);
    ULONG done = HwReadRegisterUlong(Controller->Registers, NVME_REG_CQ0_DONE);
    if (done == HW_REGISTER_GONE || done == 0)
        return FALSE; /* not ours, or nobody there */
    HwWriteRegisterUlong(Controller->Registers, NVME_REG_CQ0_DONE, done);
    done &= Controller->Outstanding;
    for (ULONG cid = 0; cid < NVME_MAX_COMMANDS; cid++) {
        if (done & (1u << cid)) {
            Controller->CommandStatus[cid] = NVME_COMMAND_SUCCESS;
            Controller->Completed++;
        }
    }
    Controller->Outstanding &= ~done;
    return TRUE;
}
