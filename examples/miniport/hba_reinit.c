/*
 * hba_reinit.c - the HBA reset and re-initialization sequence (see the
 * header). Every routine runs holding the StartIo lock; HwStorTimer does too
 * (SPEC S7.3, S8.1), so the steps never race each other or the callers.
 */
#include "hba_reinit.h"

#include "miniport_trace.h"

/* Arms the legacy timer for the next step; it replaces, it never says BUSY. */
static VOID HbaReinitNextStep(PVOID DeviceExtension, PHBA_REINIT Reinit, ULONG DelayUs)
{
    StorPortNotification(RequestTimerCall, DeviceExtension, Reinit->HwStorTimer, DelayUs);
}

static VOID HbaReinitFinish(PVOID DeviceExtension, PHBA_REINIT Reinit, BOOLEAN Success,
                            const char *Why)
{
    Reinit->State = Success ? HbaReinitDone : HbaReinitFailed;
    if (Success)
        Reinit->Completed++;
    else
        Reinit->Failed++;
    MiniportTrace("reinit", "step %u: %s", Reinit->Steps, Why);
    if (Reinit->Done != NULL)
        Reinit->Done(DeviceExtension, Reinit->Context, Success);
}

VOID HbaReinitInitialize(PHBA_REINIT Reinit, PHW_REGISTERS Registers, PHW_TIMER HwStorTimer,
                         HBA_REINIT_QUIESCE_ROUTINE *Quiesce, HBA_REINIT_DONE_ROUTINE *Done,
                         PVOID Context)
{
    Reinit->Registers = Registers;
    Reinit->HwStorTimer = HwStorTimer;
    Reinit->Quiesce = Quiesce;
    Reinit->Done = Done;
    Reinit->Context = Context;
    Reinit->State = HbaReinitIdle;
}

VOID HbaReinitStart(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    Reinit->Requests++;
    MiniportTrace("reinit", "HBA reset requested%s", Reinit->State == HbaReinitQueued ||
                  Reinit->State == HbaReinitWaitReset || Reinit->State == HbaReinitEnabled
                  ? " while one is in progress: starting over" : "");
    Reinit->State = HbaReinitQueued;
    HbaReinitNextStep(DeviceExtension, Reinit, HBA_REINIT_START_US);
}

VOID HbaReinitCancel(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    HbaReinitNextStep(DeviceExtension, Reinit, 0);
    if (Reinit->State == HbaReinitQueued || Reinit->State == HbaReinitWaitReset ||
        Reinit->State == HbaReinitEnabled) {
        Reinit->State = HbaReinitIdle;
        Reinit->Cancelled++;
        MiniportTrace("reinit", "HBA reset abandoned (RequestTimerCall, 0)");
    }
}

VOID HbaReinitTimerStep(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    Reinit->Steps++;
    ULONG ghc = HwReadRegisterUlong(Reinit->Registers, AHCI_GHC);
    if (ghc == HW_REGISTER_GONE && Reinit->State != HbaReinitIdle) {
        HbaReinitFinish(DeviceExtension, Reinit, FALSE, "GHC reads all ones: the HBA is gone");
        return;
    }
    switch (Reinit->State) {
    case HbaReinitQueued:
        if (Reinit->Quiesce != NULL)
            Reinit->Quiesce(DeviceExtension, Reinit->Context);
        HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_HR);
        Reinit->WaitedUs = 0;
        Reinit->State = HbaReinitWaitReset;
        MiniportTrace("reinit", "step %u: quiesced; GHC.HR set", Reinit->Steps);
        HbaReinitNextStep(DeviceExtension, Reinit, HBA_RESET_POLL_US);
        return;
    case HbaReinitWaitReset:
        if (ghc & AHCI_GHC_HR) {
            Reinit->WaitedUs += HBA_RESET_POLL_US;
            if (Reinit->WaitedUs >= HBA_RESET_TIMEOUT_US)
                HbaReinitFinish(DeviceExtension, Reinit, FALSE, "GHC.HR never cleared");
            else
                HbaReinitNextStep(DeviceExtension, Reinit, HBA_RESET_POLL_US);
            return;
        }
        /* AHCI asks for AE before anything else is written after a reset. */
        HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_AE);
        HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);
        Reinit->State = HbaReinitEnabled;
        MiniportTrace("reinit", "step %u: reset done; AHCI and interrupts enabled",
                      Reinit->Steps);
        HbaReinitNextStep(DeviceExtension, Reinit, HBA_REINIT_SETTLE_US);
        return;
    case HbaReinitEnabled:
        HbaReinitFinish(DeviceExtension, Reinit, TRUE, "HBA re-initialized: restarting ports");
        return;
    default:
        return; /* nothing in progress: a tick from a request already cancelled */
    }
}
