/*
 * link_power.c - the link idle timer (see the header). Every routine here
 * runs holding the StartIo lock: HwStartIo, and the timer callback (SPEC S8.1).
 */
#include "link_power.h"

#include "miniport_trace.h"

static const char *const LinkPowerStateName[] = {"Active", "Partial", "Slumber"};

/* Asks the HBA for a link power state through PxCMD.ICC. */
static VOID LinkPowerRequest(PLINK_POWER Link, ULONG Icc, LINK_POWER_STATE NewState)
{
    ULONG cmd = HwReadRegisterUlong(Link->Registers, AHCI_PORT(Link->PortNumber, AHCI_PxCMD));
    cmd = (cmd & ~AHCI_PxCMD_ICC_MASK) | (Icc << AHCI_PxCMD_ICC_SHIFT);
    HwWriteRegisterUlong(Link->Registers, AHCI_PORT(Link->PortNumber, AHCI_PxCMD), cmd);
    Link->State = NewState;
}

static ULONG LinkPowerArm(PVOID DeviceExtension, PLINK_POWER Link, ULONGLONG IdleUs)
{
    return StorPortRequestTimer(DeviceExtension, Link->IdleTimer, LinkPowerIdleTimer, Link,
                                IdleUs, LINK_IDLE_TOLERANCE_US);
}

ULONG LinkPowerInitialize(PVOID DeviceExtension, PLINK_POWER Link, PHW_REGISTERS Registers,
                          ULONG PortNumber)
{
    Link->Registers = Registers;
    Link->PortNumber = PortNumber;
    Link->State = LinkPowerActive;
    return StorPortInitializeTimer(DeviceExtension, &Link->IdleTimer);
}

VOID LinkPowerNoteIo(PVOID DeviceExtension, PLINK_POWER Link)
{
    if (Link->IdleTimer == NULL)
        return;
    if (Link->State != LinkPowerActive) {
        MiniportTrace("link", "port %u: I/O while in %s: waking the link", Link->PortNumber,
                      LinkPowerStateName[Link->State]);
        LinkPowerRequest(Link, AHCI_LINK_ACTIVE, LinkPowerActive);
        Link->Wakeups++;
    }
    ULONG status = LinkPowerArm(DeviceExtension, Link, LINK_IDLE_TO_PARTIAL_US);
    if (status == STOR_STATUS_BUSY) {
        /* Pending with the old deadline. The callback cannot be running
         * (we hold the StartIo lock), so after this cancel the timer is
         * idle (SPEC S5.5) and the arm below starts a new idle period. */
        Link->Rearms++;
        StorPortRequestTimer(DeviceExtension, Link->IdleTimer, LinkPowerIdleTimer, Link, 0, 0);
        status = LinkPowerArm(DeviceExtension, Link, LINK_IDLE_TO_PARTIAL_US);
    }
    if (status != STOR_STATUS_SUCCESS)
        Link->ArmFailures++; /* the link simply stays active */
}

VOID LinkPowerStop(PVOID DeviceExtension, PLINK_POWER Link)
{
    if (Link->IdleTimer != NULL)
        StorPortRequestTimer(DeviceExtension, Link->IdleTimer, LinkPowerIdleTimer, Link, 0, 0);
    Link->State = LinkPowerActive;
}

VOID LinkPowerIdleTimer(PVOID DeviceExtension, PVOID Context)
{
    PLINK_POWER Link = Context;
    Link->IdleTimerCallbacks++;
    ULONG ssts = HwReadRegisterUlong(Link->Registers, AHCI_PORT(Link->PortNumber, AHCI_PxSSTS));
    if (ssts == HW_REGISTER_GONE ||
        (ssts & AHCI_PxSSTS_DET_MASK) != AHCI_PxSSTS_DET_ESTABLISHED)
        return; /* no link to manage; the next I/O re-arms us */

    if (Link->State == LinkPowerActive) {
        LinkPowerRequest(Link, AHCI_LINK_PARTIAL, LinkPowerPartial);
        Link->ToPartial++;
        MiniportTrace("link", "port %u: idle %u ms: link to Partial", Link->PortNumber,
                      LINK_IDLE_TO_PARTIAL_US / 1000);
        /* Our callback has started, so the timer is not pending (S5.6). */
        if (LinkPowerArm(DeviceExtension, Link, LINK_IDLE_TO_SLUMBER_US) != STOR_STATUS_SUCCESS)
            Link->ArmFailures++;
    } else if (Link->State == LinkPowerPartial) {
        LinkPowerRequest(Link, AHCI_LINK_SLUMBER, LinkPowerSlumber);
        Link->ToSlumber++;
        MiniportTrace("link", "port %u: still idle: link to Slumber", Link->PortNumber);
    }
}
