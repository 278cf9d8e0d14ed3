/*
 * ahci_port_start.h - bringing an AHCI port up with a 10 ms polling timer.
 *
 * The start is a state machine, one step per poll, as in Microsoft's
 * storahci sample: spin the drive up and assert COMRESET, release it, wait
 * for the link (PxSSTS.DET = 3), wait for the drive to clear BSY and DRQ,
 * then start the command engine. Each poll re-arms the timer from its own
 * callback (SPEC S5.6). A port-change interrupt asks for an early poll; when
 * StorPortRequestTimer answers STOR_STATUS_BUSY a poll is already pending
 * and will see the change, which is as good (S5.3).
 *
 * When no timer can be had (StorPortInitializeTimer fails, e.g. on a system
 * that limits an adapter to four timers) or an arm fails, the port is
 * started by polling with StorPortStallExecution instead, in a bounded loop.
 *
 * Embed an AHCI_PORT in the HW_DEVICE_EXTENSION, one per port.
 */
#ifndef STORTIMER_EXAMPLE_AHCI_PORT_START_H
#define STORTIMER_EXAMPLE_AHCI_PORT_START_H

#include "ahci_regs.h"
#include "hw_registers.h"
#include "storport.h"

/* Timer values, microseconds. */
#define AHCI_PORT_START_POLL_US        10000  /* between two polls */
#define AHCI_PORT_START_TIMEOUT_US   1000000  /* the link and the drive get 1 s in all */
#define AHCI_PORT_KICK_US               1000  /* a port-change interrupt's early poll */
#define AHCI_PORT_STALL_POLL_US         1000  /* fallback: one stall between polls */

typedef enum _AHCI_PORT_START_STATE {
    AhciPortIdle,               /* never started, or stopped */
    AhciPortComReset,           /* COMRESET asserted; the next poll releases it */
    AhciPortWaitLink,           /* waiting for PxSSTS.DET = 3 */
    AhciPortWaitReady,          /* link up; waiting for BSY and DRQ to clear */
    AhciPortStarted,
    AhciPortFailed              /* timed out, or the device is gone */
} AHCI_PORT_START_STATE;

typedef struct _AHCI_PORT {
    PHW_REGISTERS Registers;
    ULONG PortNumber;
    PVOID StartTimer;           /* NULL: none could be had; the start stalls instead */
    AHCI_PORT_START_STATE State;
    ULONG Polls;                /* polls of the current start, timer or stall */
    ULONG StallPolls;           /* of which made by stalling */
    ULONGLONG WaitedUs;         /* poll intervals asked for since the start */
    ULONG TimerCallbacks;       /* AhciPortStartTimer calls, all starts */
    ULONG PollBusy;             /* re-arms answered BUSY (StartIo lock side) */
    ULONG KickBusy;             /* interrupt kicks answered BUSY (interrupt side) */
    ULONG FallbackStatus;       /* what sent the start to the stall loop, or SUCCESS */
} AHCI_PORT, *PAHCI_PORT;

/*
 * Prepares the port and allocates its start timer (HwInitialize, IRQL <=
 * DISPATCH_LEVEL). Returns StorPortInitializeTimer's status: on failure the
 * port still works, by stalling.
 */
ULONG AhciPortInitialize(PVOID DeviceExtension, PAHCI_PORT Port, PHW_REGISTERS Registers,
                         ULONG PortNumber);

/*
 * Starts the port: spin-up and COMRESET now, the rest from the poll timer.
 * Call at IRQL <= DISPATCH_LEVEL holding the StartIo lock (or from a timer
 * callback, which holds it). Without a timer it returns with the port
 * started or failed, having stalled meanwhile.
 */
VOID AhciPortStart(PVOID DeviceExtension, PAHCI_PORT Port);

/* From the ISR (any IRQL): a port change; asks for an early poll. */
VOID AhciPortKick(PVOID DeviceExtension, PAHCI_PORT Port);

/* Abandons a start in progress: cancels the poll. StartIo lock held. */
VOID AhciPortStop(PVOID DeviceExtension, PAHCI_PORT Port);

/* The poll timer's callback; its Context is the AHCI_PORT. */
HW_TIMER_EX AhciPortStartTimer;

#endif
