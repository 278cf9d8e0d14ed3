/*
 * ahci_port_start.c - the AHCI port start state machine (see the header).
 *
 * Everything here runs holding the StartIo lock (timer callbacks do, SPEC
 * S8.1), except AhciPortKick, which runs in the ISR: it only calls
 * StorPortRequestTimer and counts into a field of its own, so it needs no
 * lock shared with the rest.
 */
#include "ahci_port_start.h"

#include "miniport_trace.h"

#define PxREG(Port, Register) AHCI_PORT((Port)->PortNumber, (Register))

static ULONG AhciPortRead(PAHCI_PORT Port, ULONG Register)
{
    return HwReadRegisterUlong(Port->Registers, PxREG(Port, Register));
}

static VOID AhciPortWrite(PAHCI_PORT Port, ULONG Register, ULONG Value)
{
    HwWriteRegisterUlong(Port->Registers, PxREG(Port, Register), Value);
}

static VOID AhciPortFail(PAHCI_PORT Port, const char *Why)
{
    Port->State = AhciPortFailed;
    MiniportTrace("port", "port %u: start failed after %u polls: %s", Port->PortNumber,
                  Port->Polls, Why);
}

/*
 * One poll: advances the state machine as far as the hardware allows.
 * Returns TRUE when the start is over (started or failed), FALSE to poll
 * again.
 */
static BOOLEAN AhciPortStep(PAHCI_PORT Port)
{
    if (Port->State == AhciPortIdle || Port->State == AhciPortStarted ||
        Port->State == AhciPortFailed)
        return TRUE; /* a kick that came late: nothing to do */
    Port->Polls++;
    ULONG ssts = AhciPortRead(Port, AHCI_PxSSTS);
    if (ssts == HW_REGISTER_GONE) {
        AhciPortFail(Port, "registers read all ones, the HBA is gone");
        return TRUE;
    }
    switch (Port->State) {
    case AhciPortComReset:
        /* COMRESET has been held a whole poll interval, more than the 1 ms
         * AHCI asks for: release it. */
        AhciPortWrite(Port, AHCI_PxSCTL, 0);
        Port->State = AhciPortWaitLink;
        MiniportTrace("port", "poll %u: COMRESET released; waiting for the link", Port->Polls);
        return FALSE;
    case AhciPortWaitLink:
        if ((ssts & AHCI_PxSSTS_DET_MASK) != AHCI_PxSSTS_DET_ESTABLISHED)
            break;
        Port->State = AhciPortWaitReady;
        MiniportTrace("port", "poll %u: link up (PxSSTS.DET = 3); waiting for BSY to clear",
                      Port->Polls);
        /* fall through - the drive may be ready already */
    case AhciPortWaitReady:
        if (AhciPortRead(Port, AHCI_PxTFD) & (AHCI_PxTFD_BSY | AHCI_PxTFD_DRQ))
            break;
        AhciPortWrite(Port, AHCI_PxCMD, AhciPortRead(Port, AHCI_PxCMD) | AHCI_PxCMD_ST);
        Port->State = AhciPortStarted;
        MiniportTrace("port", "poll %u: drive ready: port %u started", Port->Polls,
                      Port->PortNumber);
        return TRUE;
    default:
        return TRUE;
    }
    if (Port->WaitedUs >= AHCI_PORT_START_TIMEOUT_US) {
        AhciPortFail(Port, Port->State == AhciPortWaitLink ? "no link" : "drive stays busy");
        return TRUE;
    }
    return FALSE;
}

/*
 * No timer, or an arm failed: poll by stalling. The loop is bounded: the
 * waits add up to the timeout at most, and a step fails the start there.
 */
static VOID AhciPortPollByStalling(PAHCI_PORT Port)
{
    ULONG maxPolls = AHCI_PORT_START_TIMEOUT_US / AHCI_PORT_STALL_POLL_US + 1;
    for (ULONG i = 0; i < maxPolls; i++) {
        StorPortStallExecution(AHCI_PORT_STALL_POLL_US);
        Port->WaitedUs += AHCI_PORT_STALL_POLL_US;
        Port->StallPolls++;
        if (AhciPortStep(Port))
            return;
    }
    AhciPortFail(Port, "stall loop bound reached");
}

/* Arms the next poll; on failure, finishes the start by stalling. */
static VOID AhciPortRequestPoll(PVOID DeviceExtension, PAHCI_PORT Port)
{
    ULONG status = STOR_STATUS_UNSUCCESSFUL;
    if (Port->StartTimer != NULL)
        status = StorPortRequestTimer(DeviceExtension, Port->StartTimer, AhciPortStartTimer,
                                      Port, AHCI_PORT_START_POLL_US, 0);
    if (status == STOR_STATUS_SUCCESS) {
        Port->WaitedUs += AHCI_PORT_START_POLL_US;
        return;
    }
    if (status == STOR_STATUS_BUSY) {
        /* A kick from the ISR armed it first: that poll comes sooner. */
        Port->PollBusy++;
        return;
    }
    Port->FallbackStatus = status;
    MiniportTrace("port", "port %u: no poll timer (status 0x%08X): polling by stalling",
                  Port->PortNumber, status);
    AhciPortPollByStalling(Port);
}

ULONG AhciPortInitialize(PVOID DeviceExtension, PAHCI_PORT Port, PHW_REGISTERS Registers,
                         ULONG PortNumber)
{
    Port->Registers = Registers;
    Port->PortNumber = PortNumber;
    Port->State = AhciPortIdle;
    Port->FallbackStatus = STOR_STATUS_SUCCESS;
    return StorPortInitializeTimer(DeviceExtension, &Port->StartTimer);
}

VOID AhciPortStart(PVOID DeviceExtension, PAHCI_PORT Port)
{
    Port->Polls = 0;
    Port->WaitedUs = 0;
    Port->State = AhciPortComReset;
    AhciPortWrite(Port, AHCI_PxCMD, AhciPortRead(Port, AHCI_PxCMD) | AHCI_PxCMD_SUD);
    AhciPortWrite(Port, AHCI_PxSCTL, AHCI_PxSCTL_DET_COMRESET);
    MiniportTrace("port", "port %u: spin-up, COMRESET; polling every %u ms", Port->PortNumber,
                  AHCI_PORT_START_POLL_US / 1000);
    AhciPortRequestPoll(DeviceExtension, Port);
}

VOID AhciPortKick(PVOID DeviceExtension, PAHCI_PORT Port)
{
    if (Port->StartTimer == NULL)
        return; /* stalling: the loop sees the change by itself */
    ULONG status = StorPortRequestTimer(DeviceExtension, Port->StartTimer, AhciPortStartTimer,
                                        Port, AHCI_PORT_KICK_US, 0);
    if (status == STOR_STATUS_BUSY) {
        Port->KickBusy++;
        MiniportTrace("isr", "port %u change: StorPortRequestTimer says BUSY: a poll is "
                      "already pending and will see it", Port->PortNumber);
    } else if (status == STOR_STATUS_SUCCESS) {
        MiniportTrace("isr", "port %u change: no poll pending, asked for one in %u ms",
                      Port->PortNumber, AHCI_PORT_KICK_US / 1000);
    }
}

VOID AhciPortStop(PVOID DeviceExtension, PAHCI_PORT Port)
{
    if (Port->StartTimer != NULL)
        StorPortRequestTimer(DeviceExtension, Port->StartTimer, AhciPortStartTimer, Port, 0, 0);
    Port->State = AhciPortIdle;
}

VOID AhciPortStartTimer(PVOID DeviceExtension, PVOID Context)
{
    PAHCI_PORT Port = Context;
    Port->TimerCallbacks++;
    if (!AhciPortStep(Port))
        AhciPortRequestPoll(DeviceExtension, Port);
}
