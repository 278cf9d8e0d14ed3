/*
 * hba_reinit.c - the HBA reset and re-initialization sequence (see the
 * header). Every routine runs holding the StartIo lock; HwStorTimer does too
 * (SPEC S7.3, S8.1), so the steps never race each other or the callers. The
 * register work of a step also holds the interrupt lock (S15), so it never
 * races the interrupt routine.
 */
#include "hba_reinit.h"

#include "miniport_trace.h"

static STOR_SYNCHRONIZED_ACCESS HbaReinitSynchronizedStep;

/* Arms the legacy timer for the next step; it replaces, it never says BUSY. */
static VOID HbaReinitNextStep(PVOID DeviceExtension, PHBA_REINIT Reinit, ULONG DelayUs)
{
    StorPortNotification(RequestTimerCall, DeviceExtension, Reinit->HwStorTimer, DelayUs);
}

/* Lets Storport send I/O again, if this sequence held it. Any IRQL. */
static VOID HbaReinitResume(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    if (!Reinit->Paused)
        return;
    Reinit->Paused = FALSE;
    if (StorPortResume(DeviceExtension))
        Reinit->Resumes++;
}

/* Interrupt lock held: the sequence ends; the adapter is resumed here. */
static VOID HbaReinitEnd(PVOID DeviceExtension, PHBA_REINIT Reinit, BOOLEAN Success,
                         const char *Why)
{
    Reinit->State = Success ? HbaReinitDone : HbaReinitFailed;
    Reinit->Ended = Why;
    HbaReinitResume(DeviceExtension, Reinit);
}

/* Back at DISPATCH_LEVEL: counts, traces and tells the miniport. */
static VOID HbaReinitFinish(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    BOOLEAN success = Reinit->State == HbaReinitDone;
    if (success)
        Reinit->Completed++;
    else
        Reinit->Failed++;
    MiniportTrace("reinit", "step %u: %s; adapter resumed", Reinit->Steps, Reinit->Ended);
    if (Reinit->Done != NULL)
        Reinit->Done(DeviceExtension, Reinit->Context, success);
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

static BOOLEAN HbaReinitInProgress(const HBA_REINIT *Reinit)
{
    return Reinit->State == HbaReinitQueued || Reinit->State == HbaReinitWaitReset ||
           Reinit->State == HbaReinitEnabled;
}

VOID HbaReinitStart(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    Reinit->Requests++;
    if (StorPortPause(DeviceExtension, HBA_REINIT_PAUSE_S)) {
        Reinit->Paused = TRUE;
        Reinit->Pauses++;
    }
    MiniportTrace("reinit", "HBA reset requested%s; adapter paused (StorPortPause, %u s)",
                  HbaReinitInProgress(Reinit) ? " while one is in progress: starting over" : "",
                  HBA_REINIT_PAUSE_S);
    Reinit->State = HbaReinitQueued;
    HbaReinitNextStep(DeviceExtension, Reinit, HBA_REINIT_START_US);
}

VOID HbaReinitCancel(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    HbaReinitNextStep(DeviceExtension, Reinit, 0);
    if (HbaReinitInProgress(Reinit)) {
        Reinit->State = HbaReinitIdle;
        Reinit->Cancelled++;
        MiniportTrace("reinit", "HBA reset abandoned (RequestTimerCall, 0)%s",
                      Reinit->Paused ? "; adapter resumed" : "");
    }
    HbaReinitResume(DeviceExtension, Reinit);
}

/* GHC.HR is set: the HBA clears it when its reset is done. Interrupt lock held. */
static VOID HbaReinitPollReset(PVOID DeviceExtension, PHBA_REINIT Reinit, ULONG Ghc)
{
    if (Ghc & AHCI_GHC_HR) {
        Reinit->WaitedUs += HBA_RESET_POLL_US;
        if (Reinit->WaitedUs >= HBA_RESET_TIMEOUT_US)
            HbaReinitEnd(DeviceExtension, Reinit, FALSE, "GHC.HR never cleared");
        else
            Reinit->NextStepUs = HBA_RESET_POLL_US;
        return;
    }
    /* AHCI asks for AE before anything else is written after a reset. */
    HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_AE);
    HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);
    Reinit->State = HbaReinitEnabled;
    MiniportTrace("reinit", "step %u: reset done; AHCI and interrupts enabled", Reinit->Steps);
    Reinit->NextStepUs = HBA_REINIT_SETTLE_US;
}

/* The register work of one step, at STOR_DEVICE_LEVEL holding the interrupt lock. */
static BOOLEAN HbaReinitSynchronizedStep(PVOID DeviceExtension, PVOID Context)
{
    PHBA_REINIT Reinit = Context;
    Reinit->SynchronizedSteps++;
    ULONG ghc = HwReadRegisterUlong(Reinit->Registers, AHCI_GHC);
    if (ghc == HW_REGISTER_GONE && Reinit->State != HbaReinitIdle) {
        HbaReinitEnd(DeviceExtension, Reinit, FALSE, "GHC reads all ones: the HBA is gone");
        return FALSE;
    }
    switch (Reinit->State) {
    case HbaReinitQueued:
        HwWriteRegisterUlong(Reinit->Registers, AHCI_GHC, AHCI_GHC_HR);
        Reinit->WaitedUs = 0;
        Reinit->State = HbaReinitWaitReset;
        MiniportTrace("reinit", "step %u: quiesced; GHC.HR set", Reinit->Steps);
        Reinit->NextStepUs = HBA_RESET_POLL_US;
        return TRUE;
    case HbaReinitWaitReset:
        HbaReinitPollReset(DeviceExtension, Reinit, ghc);
        return TRUE;
    case HbaReinitEnabled:
        HbaReinitEnd(DeviceExtension, Reinit, TRUE, "HBA re-initialized: restarting ports");
        return TRUE;
    default:
        return FALSE; /* nothing in progress: a tick from a request already cancelled */
    }
}

VOID HbaReinitTimerStep(PVOID DeviceExtension, PHBA_REINIT Reinit)
{
    Reinit->Steps++;
    if (Reinit->State == HbaReinitQueued && Reinit->Quiesce != NULL)
        Reinit->Quiesce(DeviceExtension, Reinit->Context);
    Reinit->NextStepUs = 0;
    Reinit->Ended = NULL;
    StorPortSynchronizeAccess(DeviceExtension, HbaReinitSynchronizedStep, Reinit);
    if (Reinit->Ended != NULL)
        HbaReinitFinish(DeviceExtension, Reinit);
    else if (Reinit->NextStepUs != 0)
        HbaReinitNextStep(DeviceExtension, Reinit, Reinit->NextStepUs);
}
