/*
 * hba.h - the demo miniport's entry points, as the host (standing in for
 * Storport) calls them.
 *
 * The miniport is the five example patterns (../miniport/) put together on
 * one AHCI-like HBA, plus its own I/O path: the port start state machine,
 * the surprise-removal watchdog, the link idle timer, the HBA
 * re-initialization on the legacy timer, and cancel-then-free at stop. Its
 * I/O path arms a 200 ms timeout per command; a command the drive never
 * finishes times out, and the timeout asks for an HBA re-initialization.
 */
#ifndef STORTIMER_DEMO_HBA_H
#define STORTIMER_DEMO_HBA_H

#include "ahci_port_start.h"
#include "hba_reinit.h"
#include "hw_registers.h"
#include "link_power.h"
#include "nvme_surprise_removal.h"
#include "shutdown_cancel_free.h"
#include "storport.h"

/* Timer values, microseconds. */
#define HBA_IO_TIMEOUT_US       200000   /* per command */
#define HBA_IO_TIMEOUT_SLACK_US  20000   /* its TolerableDelay: a timeout need not be sharp */

#define HBA_SLOTS 8                      /* command slots, each with its timeout timer */

/* What the miniport's I/O path counted. */
typedef struct _HBA_IO_COUNTS {
    ULONG Started, Completed, TimedOut, FailedByRemoval, AbortedByReset, AbortedAtStop;
    ULONG Refused;              /* HwStartIo said no: port down, slots full, gone, stopped */
    ULONG TimeoutsCancelled;    /* completions that cancelled their timeout */
    ULONG TimeoutCallbacks;     /* HbaIoTimeoutTimer calls */
} HBA_IO_COUNTS;

/* The miniport's state, copied for the host (a WMI-style query). */
typedef struct _HBA_STATISTICS {
    AHCI_PORT Port;
    NVME_WATCHDOG Watchdog;
    LINK_POWER Link;
    HBA_REINIT Reinit;
    SHUTDOWN_TIMERS Timers;
    HBA_IO_COUNTS Io;
    ULONG TimersInitialized;    /* StorPortInitializeTimer successes */
} HBA_STATISTICS;

/* The miniport's timers, for the host to name them in the event log. */
typedef struct _HBA_TIMER_HANDLES {
    PVOID PortStart, Watchdog, LinkIdle;
    PVOID IoTimeout[HBA_SLOTS];
} HBA_TIMER_HANDLES;

/* Bytes of HwDeviceExtension to ask for (HW_INITIALIZATION_DATA.DeviceExtensionSize). */
ULONG HbaDeviceExtensionSize(void);

/* Claims the hardware ("maps the BAR"). FALSE: not our HBA. */
BOOLEAN HbaHwFindAdapter(PVOID HwDeviceExtension, PHW_REGISTERS Registers);

/* Allocates every timer, enables the HBA and starts the port. */
BOOLEAN HbaHwInitialize(PVOID HwDeviceExtension);

/* Whether the port is up (I/O may be sent). */
BOOLEAN HbaPortIsStarted(PVOID HwDeviceExtension);

/* Starts I/O number IoNumber; FALSE when it cannot be started now. */
BOOLEAN HbaHwStartIo(PVOID HwDeviceExtension, ULONG IoNumber);

/* The ISR (HW_INTERRUPT). TRUE: it was ours and the completion DPC should run. */
BOOLEAN HbaHwInterrupt(PVOID HwDeviceExtension);

/* The completion DPC: retires finished commands under the StartIo lock. */
VOID HbaCompletionDpc(PVOID HwDeviceExtension);

/* HwAdapterControl(ScsiStopAdapter): masks interrupts, aborts I/O, stops every timer. */
VOID HbaHwStopAdapter(PVOID HwDeviceExtension);

VOID HbaQueryStatistics(PVOID HwDeviceExtension, HBA_STATISTICS *Statistics);
VOID HbaQueryTimerHandles(PVOID HwDeviceExtension, HBA_TIMER_HANDLES *Handles);

#endif
