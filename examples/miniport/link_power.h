/*
 * link_power.h - an idle timer that puts a SATA link into low power (the
 * host-initiated ALPM pattern; NVMe's APST is the same idea).
 *
 * Every I/O pushes the idle deadline back: HwStartIo re-arms the timer. When
 * it is pending, StorPortRequestTimer answers STOR_STATUS_BUSY (SPEC S5), so
 * the miniport cancels it (TimerValue 0) and arms it again; under the
 * StartIo lock the cancel is final and the new arm cannot be BUSY. After
 * LINK_IDLE_TO_PARTIAL_US without I/O the link goes to Partial, and after
 * LINK_IDLE_TO_SLUMBER_US more to Slumber; the next I/O wakes it.
 *
 * A power decision need not be sharp, so both arms carry a TolerableDelay
 * of 20 ms: the library may fire anywhere in [deadline, deadline + 20 ms]
 * and uses the slack to serve other timers due nearby in the same wake-up
 * (SPEC S5.4.2).
 *
 * Embed a LINK_POWER in the HW_DEVICE_EXTENSION, one per port.
 */
#ifndef STORTIMER_EXAMPLE_LINK_POWER_H
#define STORTIMER_EXAMPLE_LINK_POWER_H

#include "ahci_regs.h"
#include "hw_registers.h"
#include "storport.h"

/* Timer values, microseconds. */
#define LINK_IDLE_TO_PARTIAL_US   100000  /* idle this long: Partial */
#define LINK_IDLE_TO_SLUMBER_US   200000  /* then this much longer: Slumber */
#define LINK_IDLE_TOLERANCE_US     20000  /* TolerableDelay of both */

typedef enum _LINK_POWER_STATE {
    LinkPowerActive,
    LinkPowerPartial,
    LinkPowerSlumber
} LINK_POWER_STATE;

typedef struct _LINK_POWER {
    PHW_REGISTERS Registers;
    ULONG PortNumber;
    PVOID IdleTimer;
    LINK_POWER_STATE State;
    ULONG IdleTimerCallbacks;   /* LinkPowerIdleTimer calls */
    ULONG ToPartial, ToSlumber; /* transitions made */
    ULONG Wakeups;              /* I/O that found the link in low power */
    ULONG Rearms;               /* I/O that found the timer pending: BUSY, cancel, re-arm */
    ULONG ArmFailures;          /* arms that failed otherwise */
} LINK_POWER, *PLINK_POWER;

/* Prepares the link and allocates its idle timer (HwInitialize). Returns
 * StorPortInitializeTimer's status; without a timer the link stays active. */
ULONG LinkPowerInitialize(PVOID DeviceExtension, PLINK_POWER Link, PHW_REGISTERS Registers,
                          ULONG PortNumber);

/* An I/O is starting (HwStartIo, StartIo lock held): wake the link if it
 * sleeps, and push the idle deadline back. */
VOID LinkPowerNoteIo(PVOID DeviceExtension, PLINK_POWER Link);

/* Stops watching for idleness (reset, removal, stop): cancels the timer and
 * forgets the link state, which the hardware reset anyway. StartIo lock held. */
VOID LinkPowerStop(PVOID DeviceExtension, PLINK_POWER Link);

/* The idle timer's callback; its Context is the LINK_POWER. */
HW_TIMER_EX LinkPowerIdleTimer;

#endif
